"""Which months an incremental run recomputes (dbt_project/macros/incremental_months.sql,
``months_to_recompute``), decided from the stored and the current fingerprints.

The macro is rendered with plain Jinja and stand-ins for what dbt gives it (the
stored rows of the model, its columns, ``return``), so the decision is checked
in milliseconds, without a warehouse; tests/reliability/test_incremental.py
runs it through dbt on real deliveries.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

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
def months_to_recompute(monkeypatch):
    """``months_to_recompute(stored_rows, current_fingerprints, ...)``: the macro's answer
    for a model whose table holds ``stored_rows`` (month, month fingerprint, inputs
    fingerprint)."""
    invoke = jinja2.runtime.Macro._invoke

    def invoke_returning(self, arguments, autoescape):
        # as dbt does: a macro call evaluates to what the macro passed to return()
        try:
            return invoke(self, arguments, autoescape)
        except MacroReturn as returned:
            return returned.value

    monkeypatch.setattr(jinja2.runtime.Macro, "_invoke", invoke_returning)
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])

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
