"""Which months an incremental run recomputes (dbt_project/macros/incremental_months.sql,
``months_to_recompute``), decided from the stored and the current fingerprints, and
what the inputs fingerprint follows (``upstream_inputs_fingerprint``).

The macro is rendered with plain Jinja and stand-ins for what dbt gives it (the
stored rows of the model, its columns, ``return``), so the decision is checked
in milliseconds, without a warehouse; tests/reliability/test_incremental.py
runs it through dbt on real deliveries.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import jinja2.runtime
import pytest

MACROS = Path(__file__).parents[1] / "dbt_project" / "macros" / "incremental_months.sql"


class MacroReturn(Exception):
    """dbt's ``return()``: the value travels up to the macro call that returns it."""

    def __init__(self, value) -> None:
        super().__init__()
        self.value = value


def _return(value):
    raise MacroReturn(value)


@pytest.fixture
def environment(monkeypatch):
    """A Jinja environment rendering macros as dbt does: with ``do``, and a macro call
    evaluating to what the macro passed to ``return()``."""
    invoke = jinja2.runtime.Macro._invoke

    def invoke_returning(self, arguments, autoescape):
        try:
            return invoke(self, arguments, autoescape)
        except MacroReturn as returned:
            return returned.value

    monkeypatch.setattr(jinja2.runtime.Macro, "_invoke", invoke_returning)
    return jinja2.Environment(extensions=["jinja2.ext.do"])


@pytest.fixture
def months_to_recompute(environment):
    """``months_to_recompute(stored_rows, current_fingerprints, ...)``: the macro's answer
    for a model whose table holds ``stored_rows`` (month, month fingerprint, inputs
    fingerprint)."""

    def decide(stored_rows, current, inputs="inputs", through_latest_month=False):
        columns = [
            SimpleNamespace(name=name)
            for name in ("month", "month_fingerprint", "inputs_fingerprint")
        ]
        module = environment.from_string(MACROS.read_text()).make_module(
            {
                "return": _return,
                "execute": True,
                "is_unit_test": lambda: False,
                "var": lambda name, default=None: default,
                "log": lambda message, info=False: "",
                "this": SimpleNamespace(identifier="model"),
                "dbt": SimpleNamespace(type_string=lambda: "varchar"),
                "adapter": SimpleNamespace(get_columns_in_relation=lambda relation: columns),
                "run_query": lambda query: stored_rows,
            }
        )
        return module.months_to_recompute(
            current, inputs, through_latest_month=through_latest_month
        )

    return decide


STORED = [
    # a month without CUR data (embodied hardware) stores no month fingerprint
    ("2023-03-01", None, "inputs"),
    ("2025-10-01", "oct", "inputs"),
    ("2025-11-01", "nov", "inputs"),
]


def test_a_redelivered_month_alone_is_recomputed(months_to_recompute):
    # November re-delivered (new fingerprint), the latest month unchanged
    current = {"2025-10-01": "oct", "2025-11-01": "nov-2"}
    assert months_to_recompute(STORED, current) == ["2025-11-01"]
    assert months_to_recompute(STORED, current, through_latest_month=True) == ["2025-11-01"]


def test_nothing_changed_recomputes_nothing(months_to_recompute):
    current = {"2025-10-01": "oct", "2025-11-01": "nov"}
    assert months_to_recompute(STORED, current, through_latest_month=True) == []


def test_other_inputs_changed_recompute_every_month(months_to_recompute):
    current = {"2025-10-01": "oct", "2025-11-01": "nov"}
    assert months_to_recompute(STORED, current, inputs="new settings") is None


def test_a_later_latest_month_recomputes_the_months_up_to_it(months_to_recompute):
    # February 2026 arrives, December and January have no CUR data: the new
    # month alone changed, but rows that run to the latest month (embodied
    # hardware) now exist for December 2025, January and February 2026
    current = {"2025-10-01": "oct", "2025-11-01": "nov", "2026-02-01": "feb"}
    assert months_to_recompute(STORED, current) == ["2026-02-01"]
    assert months_to_recompute(STORED, current, through_latest_month=True) == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]


def test_an_earlier_latest_month_recomputes_the_months_after_it(months_to_recompute):
    # November's CUR partition left landing: October is the latest month, and
    # November (stored with a fingerprint, no longer current) is recomputed
    current = {"2025-10-01": "oct"}
    assert months_to_recompute(STORED, current, through_latest_month=True) == ["2025-11-01"]
    # a model with no CUR month stored (or none current) recomputes every month
    assert months_to_recompute(STORED[:1], current, through_latest_month=True) is None


@pytest.fixture
def inputs_fingerprint(environment):
    """``inputs_fingerprint(macro_text=..., landed=...)``: ``upstream_inputs_fingerprint`` of
    a model reading the CUR model and the org config, the project holding one macro, with
    ``landed`` the file listing of each landing dataset (source -> 'name:size:time')."""
    sources = {
        "source.p.aws_cur.line_items": ("aws_cur", "line_items"),
        "source.p.org.settings": ("org", "settings"),
    }
    graph = {
        "nodes": {
            "model.p.fct": {"depends_on": {"nodes": ["model.p.cur", "source.p.org.settings"]}},
            "model.p.cur": {
                "depends_on": {"nodes": ["source.p.aws_cur.line_items"]},
                "checksum": {"checksum": "cur-sql"},
            },
        },
        "sources": {
            unique_id: {"source_name": source_name, "name": name}
            for unique_id, (source_name, name) in sources.items()
        },
    }

    def fingerprint(macro_text="select 1", landed=None):
        landed = landed or {"aws_cur.line_items": "a:1:t", "org.settings": "s:1:t"}

        def run_query(query):
            # the file count of each dataset, then each one's listing (the listing
            # itself stands in for its md5)
            return [
                (unique_id, 1 if "count(*)" in query else landed[f"{source_name}.{name}"])
                for unique_id, (source_name, name) in sources.items()
                if f"'{unique_id}'" in query
            ]

        rendered = {}
        module = environment.from_string(MACROS.read_text()).make_module(
            {
                "return": _return,
                "execute": True,
                "is_unit_test": lambda: False,
                "adapter": SimpleNamespace(
                    dispatch=lambda name, package: getattr(rendered["module"], "default__" + name)
                ),
                "var": lambda name, default=None: "2026.1",
                "model": SimpleNamespace(unique_id="model.p.fct"),
                "graph": graph,
                "source": lambda source_name, name: SimpleNamespace(
                    external=f"read_parquet('/landing/{source_name}/{name}/*/*.parquet')"
                ),
                "modules": SimpleNamespace(re=re),
                "run_query": run_query,
                "local_md5": lambda text: hashlib.md5(text.encode()).hexdigest(),
                "project_name": "p",
                "context": {
                    "p": {"formula": SimpleNamespace(macro=SimpleNamespace(macro_sql=macro_text))}
                },
            }
        )
        rendered["module"] = module
        return module.upstream_inputs_fingerprint(["aws_cur.line_items"])

    return fingerprint


def test_the_inputs_fingerprint_follows_macros_and_other_landing_datasets(inputs_fingerprint):
    unchanged = inputs_fingerprint()
    assert unchanged == inputs_fingerprint() and len(unchanged) == 32
    # a formula in a macro changes: every month is recomputed
    assert inputs_fingerprint(macro_text="select 2") != unchanged
    # another dataset lands a file: every month is recomputed
    assert (
        inputs_fingerprint(landed={"aws_cur.line_items": "a:1:t", "org.settings": "s:2:u"})
        != unchanged
    )
    # the CUR dataset's files are fingerprinted per month, not here
    assert (
        inputs_fingerprint(landed={"aws_cur.line_items": "b:2:u", "org.settings": "s:1:t"})
        == unchanged
    )


@pytest.mark.parametrize(
    ("months", "kept"),
    [
        ([], []),
        (["2025-02-01"], ["2025-02-01"]),
        # not contiguous: the range spans February, the list leaves it out
        (["2025-03-01", "2025-01-01"], ["2025-01-01", "2025-03-01"]),
    ],
)
def test_the_month_filter_keeps_exactly_the_months_given(environment, months, kept):
    # GIVEN the filter a monthly model puts on what it reads
    module = environment.from_string(MACROS.read_text()).make_module({})
    condition = str(module.in_months("month", months)).strip()
    # WHEN DuckDB applies it to four months
    rows = duckdb.sql(
        "select strftime(month, '%Y-%m-%d') from range(date '2025-01-01', date '2025-05-01', "
        f"interval 1 month) as months (month) where {condition} order by 1"
    ).fetchall()
    # THEN exactly the months given pass
    assert [month for (month,) in rows] == kept
    # AND the filter is made of comparisons, which DuckDB pushes through joins
    if months:
        assert "=" in condition or "between" in condition


MONTHS_TABLE = """
    select * from (values
        (date '2024-06-01', 'embodied, before the CUR months'),
        (date '2025-03-01', 'March'), (date '2025-01-01', 'January'),
        (date '2025-02-01', 'February: no CUR partition'), (date '2025-01-01', 'January'),
        (date '2025-05-01', 'after the CUR months'), (cast(null as date), 'no month')
    ) as rows (month, label)
"""
EVERY_ROW = [
    None,
    "2024-06-01",
    "2025-01-01",
    "2025-01-01",
    "2025-02-01",
    "2025-03-01",
    "2025-05-01",
]


@pytest.mark.parametrize(
    ("months", "fingerprints", "branches", "expected"),
    [
        # a full build: the months before the CUR months (and a null month),
        # every calendar month from the first to the last, the months after
        (
            None,
            {"2025-01-01": "a", "2025-03-01": "c"},
            5,
            EVERY_ROW,
        ),
        # a run recomputing some months: those months, in order
        (
            ["2025-03-01", "2025-01-01"],
            {"2025-01-01": "a", "2025-03-01": "c"},
            2,
            ["2025-01-01", "2025-01-01", "2025-03-01"],
        ),
        # one month, or none (compiling without a warehouse): the query alone
        (["2025-03-01"], {"2025-01-01": "a", "2025-03-01": "c"}, 1, ["2025-03-01"]),
        (
            None,
            {},
            1,
            EVERY_ROW,
        ),
    ],
)
def test_month_by_month_computes_each_month_once_and_in_month_order(
    environment, months, fingerprints, branches, expected
):
    # GIVEN a model's query wrapped in month_by_month, its input filtered by months_filter
    macros = environment.from_string(MACROS.read_text()).make_module(
        {
            "return": _return,
            "adapter": SimpleNamespace(
                dispatch=lambda name, package: (
                    lambda *args: getattr(macros, "default__" + name)(*args)
                )
            ),
        }
    )
    model = environment.from_string(
        "{% call(monthly) month_by_month(monthly) %}"
        "select month from (" + MONTHS_TABLE + ") as rows {{ months_filter('month', monthly) }}"
        "{% endcall %}"
    )
    monthly = {"months": months, "month_fingerprints": fingerprints, "inputs_fingerprint": "i"}
    sql = model.render(
        monthly=monthly,
        month_by_month=macros.month_by_month,
        months_filter=macros.months_filter,
    )
    # WHEN DuckDB runs it
    rows = [None if month is None else month.isoformat() for (month,) in duckdb.sql(sql).fetchall()]
    # THEN every row of the months computed comes out once, none twice; with
    # more than one branch, the CUR months each in a branch of their own and
    # in month order, the months before and after them (and a null month) in
    # branches of their own
    assert sql.count("union all") == branches - 1
    assert sorted(rows, key=lambda month: month or "") == expected
    if branches == 1:
        return
    cur_months = [row for row in rows if row and "2025-01-01" <= row <= "2025-03-01"]
    assert cur_months == sorted(cur_months)
    if months is None:
        before = [i for i, row in enumerate(rows) if row is None or row < "2025-01-01"]
        after = [i for i, row in enumerate(rows) if row and row > "2025-03-01"]
        inside = [i for i, row in enumerate(rows) if row and "2025-01-01" <= row <= "2025-03-01"]
        assert max(before) < min(inside) and max(inside) < min(after)
