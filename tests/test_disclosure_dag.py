"""The disclosure DAG is thin, cheap to parse and writes the warehouse only in the pool.

Its work (freeze, report, build) is tested on its own in tests/e2e/test_disclosure.py.
"""

import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from helpers import ROOT

DAG_FILE = ROOT / "dags" / "ai_carbon_disclosure.py"


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["ai_carbon_disclosure"]


def test_yearly_or_by_hand_with_a_year_parameter(dag):
    assert dag.timetable.summary == "0 6 1 4 *"
    assert not dag.catchup and dag.max_active_runs == 1
    assert "year" in dag.params
    assert dag.params["year"] is None


def test_freeze_then_report_and_a_rebuild_only_after_a_new_version(dag):
    assert dag.get_task("render_report").upstream_task_ids == {"freeze_disclosure"}
    assert dag.get_task("new_version_frozen").upstream_task_ids == {"freeze_disclosure"}
    assert dag.get_task("build_warehouse").upstream_task_ids == {"new_version_frozen"}
    assert dag.get_task("publish_warehouse").upstream_task_ids == {"build_warehouse"}
    writers = {t.task_id for t in dag.tasks if t.pool == "warehouse_writer"}
    assert writers == {"build_warehouse", "publish_warehouse"}


def test_the_file_parses_fast_and_imports_nothing_heavy():
    code = (
        "import sys, time; import airflow.sdk; t = time.perf_counter();"
        "import importlib.util as u;"
        f"s = u.spec_from_file_location('d', {str(DAG_FILE)!r});"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "print(time.perf_counter() - t);"
        "print(','.join(n for n in ('pyarrow', 'duckdb', 'dbt', 'pandas', 'transform.disclosure')"
        " if n in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\n")
    assert float(out[0]) < 1.0, f"DAG file took {out[0]} s to parse"
    assert out[1] == "", f"heavy modules imported at parse time: {out[1]}"
