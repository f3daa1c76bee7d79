"""Which months a data test reads (dbt_project/macros/tests_follow_months.sql), and what
the end of a run records of the tests that passed.

The macros are rendered with plain Jinja and stand-ins for what dbt gives them (the
tested model's month states, the record of passed months, flags and vars), as in
tests/test_incremental_months.py; the record's SQL runs on DuckDB. The reliability
suite runs them through dbt on real deliveries (test_incremental_new_month.py,
reliability/test_tests_follow_months.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from test_incremental_months import _return, environment  # noqa: F401 (a fixture)

MACROS = Path(__file__).parents[1] / "dbt_project" / "macros"
TEMPLATE = "\n".join(
    (MACROS / name).read_text()
    for name in ("tests_follow_months.sql", "incremental_months.sql", "landing.sql")
)
MODEL = "model.ai_carbon.fct_emissions"
TEST = "test.ai_carbon.unique_fct_emissions_emission_id.1"
# the tested model's rows: month, month fingerprint, inputs fingerprint
ROWS = [("2025-01-01", "jan", "inputs"), ("2025-02-01", "feb", "inputs")]
# their states, as the incremental models read them (stored_month_states)
STATES = [("2025-01-01", "jan|jan@inputs|inputs"), ("2025-02-01", "feb|feb@inputs|inputs")]


def _tojson(value, default=None, sort_keys=False):
    return json.dumps(value, default=default, sort_keys=sort_keys)


@pytest.fixture
def macros(environment):  # noqa: F811 (the fixture imported above)
    """``macros(passed=..., full_refresh=..., variables=..., raw_code=...)``: the
    rendered module, for a test of a monthly model whose months are STATES and whose
    record holds ``passed`` rows (month, state, definition)."""

    def render(passed=(), full_refresh=False, variables=None, raw_code="{{ test_unique() }}"):
        model = SimpleNamespace(
            resource_type="test",
            attached_node=MODEL,
            unique_id=TEST,
            name="unique_fct_emissions_emission_id",
            test_metadata={"name": "unique", "kwargs": {"column_name": "emission_id"}},
            raw_code=raw_code,
        )
        # the warehouse: the tested model and the record (test, definition, month, state)
        con = duckdb.connect()
        con.execute(
            "create table fct_emissions "
            "(month date, month_fingerprint varchar, inputs_fingerprint varchar)"
        )
        con.executemany("insert into fct_emissions values (?, ?, ?)", ROWS)
        con.execute(
            "create table tested_months "
            "(test_id varchar, test_definition varchar, month_value varchar, month_state varchar)"
        )
        context = {
            "return": _return,
            "execute": True,
            "model": model,
            "graph": {
                "nodes": {
                    MODEL: {
                        "resource_type": "model",
                        "name": "fct_emissions",
                        "config": {
                            "meta": {},
                            "materialized": "incremental",
                            "unique_key": "month",
                        },
                    }
                }
            },
            "flags": SimpleNamespace(FULL_REFRESH=full_refresh),
            "var": lambda name, default=None: (variables or {}).get(name, default),
            "config": SimpleNamespace(get=lambda name, default=None: default),
            "log": lambda message, info=False: "",
            "local_md5": lambda text: hashlib.md5(text.encode()).hexdigest(),
            "tojson": _tojson,
            "fromjson": json.loads,
            "modules": SimpleNamespace(re=re),
            "ref": lambda name: name,
            "load_relation": lambda relation: relation,
            "api": SimpleNamespace(
                Relation=SimpleNamespace(create=lambda **parts: parts["identifier"])
            ),
            "target": SimpleNamespace(database="ai_carbon", schema="main"),
            "dbt": SimpleNamespace(type_string=lambda: "varchar"),
            "run_query": lambda query: con.execute(query).fetchall(),
        }
        module = environment.from_string(TEMPLATE).make_module(context)
        definition = module.test_definition_fingerprint()
        for month, state, by in passed:
            con.execute(
                "insert into tested_months values (?, ?, ?, ?)",
                [TEST, definition if by == "*" else by, month, state],
            )
        module.warehouse = con
        return module

    return render


def test_a_first_run_reads_every_month_and_notes_them(macros):
    tested = macros().months_a_test_reads()
    assert tested["filter"] is None
    assert tested["note"]["months"] == dict(STATES)


def test_a_month_whose_state_changed_is_read_alone(macros):
    # January passed as it is; February passed, then was recomputed from new bills
    passed = [
        ("2025-01-01", "jan|jan@inputs|inputs", "*"),
        ("2025-02-01", "feb-before|feb-before@inputs|inputs", "*"),
    ]
    tested = macros(passed=passed).months_a_test_reads()
    assert tested["filter"] == "((month = cast('2025-02-01' as date)) or month is null)"
    assert tested["note"]["months"] == {"2025-02-01": "feb|feb@inputs|inputs"}


def test_nothing_changed_reads_no_month(macros):
    passed = [(month, state, "*") for month, state in STATES]
    tested = macros(passed=passed).months_a_test_reads()
    assert tested["filter"] == "(false or month is null)"
    assert tested["note"]["months"] == {}


def test_a_changed_definition_a_full_refresh_or_the_var_reads_every_month(macros):
    definition = macros().test_definition_fingerprint()
    passed = [(month, state, definition) for month, state in STATES]
    assert macros(passed=passed).months_a_test_reads()["filter"] == "(false or month is null)"
    # the same rows passed under another definition of the test
    changed = macros(passed=passed, raw_code="{{ test_unique(where='x') }}")
    assert changed.test_definition_fingerprint() != definition
    assert changed.warehouse.execute("select count(*) from tested_months").fetchone() == (2,)
    assert changed.months_a_test_reads()["filter"] is None
    assert macros(passed=passed, full_refresh=True).months_a_test_reads()["filter"] is None
    every = macros(passed=passed, variables={"test_every_month": True})
    assert every.months_a_test_reads()["filter"] is None


def test_the_end_of_a_run_records_the_months_of_the_tests_that_passed(macros):
    # GIVEN a record: this test passed both months under an older definition,
    # another test January; and a run in which this test read every month and
    # passed, the other failed
    module = macros(
        passed=[
            ("2025-01-01", "jan|jan@inputs|inputs", "older"),
            ("2025-02-01", "feb-before|feb-before@inputs|inputs", "older"),
        ]
    )
    definition = module.test_definition_fingerprint()
    con = module.warehouse
    other = "test.ai_carbon.not_null_fct_emissions_month.2"
    con.execute(
        f"insert into tested_months values ('{other}', 'other', '2025-01-01', 'jan|jan@inputs|inputs')"
    )
    compiled = module.get_where_subquery("fct_emissions")
    # (under its older definition nothing counts: it reads every month)
    assert compiled.startswith("(select * from fct_emissions /* tested_months ")

    def result(test_id, status, code):
        node = SimpleNamespace(resource_type="test", unique_id=test_id, compiled_code=code)
        return SimpleNamespace(node=node, status=status)

    results = [
        result(TEST, "pass", f"select 1 from {compiled}"),
        result(other, "fail", compiled.replace(definition, "other")),
        result("model.ai_carbon.fct_emissions", "success", "select 1"),
    ]
    # WHEN the end of the run records it
    con.execute(module.record_tested_months(results))
    # THEN the passing test holds both months as they are now, under its
    # definition (its older records are gone), and the failing test's record is
    # untouched
    assert sorted(con.execute("select * from tested_months").fetchall()) == sorted(
        [
            (TEST, definition, "2025-01-01", "jan|jan@inputs|inputs"),
            (TEST, definition, "2025-02-01", "feb|feb@inputs|inputs"),
            (other, "other", "2025-01-01", "jan|jan@inputs|inputs"),
        ]
    )


def test_a_test_that_read_one_month_keeps_the_others_it_passed(macros):
    # GIVEN both months passed under the test's definition, February since
    # recomputed; the test reads February alone and passes
    module = macros(
        passed=[
            ("2025-01-01", "jan|jan@inputs|inputs", "*"),
            ("2025-02-01", "feb-before|feb-before@inputs|inputs", "*"),
        ]
    )
    compiled = module.get_where_subquery("fct_emissions")
    node = SimpleNamespace(resource_type="test", unique_id=TEST, compiled_code=compiled)
    # WHEN the end of the run records it
    module.warehouse.execute(
        module.record_tested_months([SimpleNamespace(node=node, status="pass")])
    )
    # THEN January is kept as it was and February is recorded as it is now
    definition = module.test_definition_fingerprint()
    assert sorted(module.warehouse.execute("select * from tested_months").fetchall()) == [
        (TEST, definition, "2025-01-01", "jan|jan@inputs|inputs"),
        (TEST, definition, "2025-02-01", "feb|feb@inputs|inputs"),
    ]
