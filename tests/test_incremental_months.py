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

    def decide(stored_rows, current, inputs="inputs"):
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
        return module.months_to_recompute(current, inputs)

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


def test_nothing_changed_recomputes_nothing(months_to_recompute):
    current = {"2025-10-01": "oct", "2025-11-01": "nov"}
    assert months_to_recompute(STORED, current) == []


def test_other_inputs_changed_recompute_every_month(months_to_recompute):
    current = {"2025-10-01": "oct", "2025-11-01": "nov"}
    assert months_to_recompute(STORED, current, inputs="new settings") is None


def test_months_new_to_the_inputs_are_recomputed(months_to_recompute):
    # February 2026 arrives (CUR), and the embodied hardware's rows, which run
    # to the latest month of activity, now reach December, January and
    # February: a model following its inputs' months (chained_monthly_state)
    # sees three new months
    current = {
        "2025-10-01": "oct",
        "2025-11-01": "nov",
        "2025-12-01": "embodied dec",
        "2026-01-01": "embodied jan",
        "2026-02-01": "feb",
    }
    assert months_to_recompute(STORED, current) == ["2025-12-01", "2026-01-01", "2026-02-01"]


def test_a_month_its_inputs_no_longer_hold_is_recomputed(months_to_recompute):
    # November's CUR partition left landing: November (stored with a
    # fingerprint, no longer current) is recomputed, to what is left of it
    current = {"2025-10-01": "oct"}
    assert months_to_recompute(STORED, current) == ["2025-11-01"]


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


@pytest.fixture
def rows_fingerprints(environment):
    """``rows_fingerprints(con, table, exact)``: {month: fingerprint} of ``table``
    by ``usage_month``, from the SQL ``rows_fingerprints_sql`` renders, run on DuckDB."""

    def fingerprints(con, table: str, exact: bool) -> dict[str, str]:
        columns = [
            SimpleNamespace(name=name, dtype=kind)
            for name, kind in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        rendered = {}
        module = environment.from_string(MACROS.read_text()).make_module(
            {
                "return": _return,
                "adapter": SimpleNamespace(
                    get_columns_in_relation=lambda relation: columns,
                    quote=lambda name: f'"{name}"',
                    dispatch=lambda name, package: getattr(rendered["module"], "default__" + name),
                ),
            }
        )
        rendered["module"] = module
        sql = module.rows_fingerprints_sql(table, "usage_month", exact)
        return dict(con.execute(str(sql)).fetchall())

    return fingerprints


def test_bills_are_fingerprinted_exactly_and_computed_rows_at_single_precision(
    rows_fingerprints,
):
    # GIVEN two months of bills, and the same bills with January's cost
    # restated in its tenth significant digit (1,234.5 -> 1,234.500001: equal
    # at single precision, where a float holds about 7 digits)
    con = duckdb.connect()
    for table, january_cost in (("bills", 1234.5), ("restated", 1234.500001)):
        con.execute(
            f"create table {table} as select * from (values "
            f"(date '2025-01-01', 'vm', {january_cost}::double), "
            "(date '2025-01-01', 'disk', 10.25::double), "
            "(date '2025-02-01', 'vm', 99.0::double)) as t(usage_month, sku, cost)"
        )
    # THEN the fingerprint of a month is its rows' count and a hash of them
    exact = rows_fingerprints(con, "bills", exact=True)
    assert {month: value.split(":")[0] for month, value in exact.items()} == {
        "2025-01-01": "2",
        "2025-02-01": "1",
    }
    # AND hashed exactly (bills, billing_monthly_state), the restatement changes
    # January alone
    restated = rows_fingerprints(con, "restated", exact=True)
    assert restated["2025-01-01"] != exact["2025-01-01"]
    assert restated["2025-02-01"] == exact["2025-02-01"]
    # AND at single precision (computed rows, whose parallel sums differ in their
    # last bits from run to run) it is no change
    assert rows_fingerprints(con, "restated", exact=False) == rows_fingerprints(
        con, "bills", exact=False
    )
