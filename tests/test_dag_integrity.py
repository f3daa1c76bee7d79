"""The DAG files import cleanly, parse fast, and follow the house conventions."""

import subprocess
import sys
import time

import pytest
from airflow.dag_processing.dagbag import DagBag

from extractors.catalog import SOURCE_NAMES
from helpers import ROOT


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "ai_carbon_nightly" in dagbag.dags


def test_nightly_is_daily_with_a_one_day_data_interval(dagbag):
    import datetime as dt

    dag = dagbag.dags["ai_carbon_nightly"]
    start = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    interval = dag.timetable.infer_manual_data_interval(run_after=start)
    assert interval.end - interval.start == dt.timedelta(days=1)
    assert dag.max_active_runs == 1
    assert not dag.catchup


def test_every_task_retries_and_has_an_owner(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 1, task.task_id
            assert task.owner == "data-platform", task.task_id


def test_only_the_warehouse_tasks_write_and_they_share_a_one_slot_pool(dagbag):
    dag = dagbag.dags["ai_carbon_nightly"]
    writers = {t.task_id for t in dag.tasks if t.pool == "warehouse_writer"}
    assert writers == {"build_warehouse", "publish_warehouse"}


def test_the_tasks_that_open_the_warehouse_can_be_sent_to_its_host(monkeypatch):
    # GIVEN Celery workers on several hosts, the warehouse on one of them
    monkeypatch.setenv("AI_CARBON_WAREHOUSE_QUEUE", "warehouse")
    dags = DagBag(dag_folder=str(ROOT / "dags")).dags
    nightly = dags["ai_carbon_nightly"]
    # THEN the build and publish go to its queue, every other task to any worker
    on_host = {t.task_id for t in nightly.tasks if t.queue == "warehouse"}
    assert on_host == {"build_warehouse", "publish_warehouse"}
    assert {t.queue for t in nightly.tasks if t.task_id not in on_host} == {"default"}
    # AND every task of the disclosure DAG reads the warehouse or the disclosures
    assert {t.queue for t in dags["ai_carbon_disclosure"].tasks} == {"warehouse"}


def test_shape_config_then_extracts_then_build_then_publish(dagbag):
    dag = dagbag.dags["ai_carbon_nightly"]
    extracts = {t.task_id for t in dag.tasks if t.task_id.startswith("extract_")}
    assert extracts == {f"extract_{name}" for name in SOURCE_NAMES}
    assert {"extract_aws_cur", "extract_gcp_billing", "extract_slurm"} <= extracts
    build = dag.get_task("build_warehouse")
    assert build.upstream_task_ids == extracts
    assert dag.get_task("publish_warehouse").upstream_task_ids == {"build_warehouse"}
    for task_id in extracts:
        assert dag.get_task(task_id).upstream_task_ids == {"load_org_config"}
        assert dag.get_task(task_id).outlets, task_id
    # no cycles: a topological sort covers every task
    assert len(dag.topological_sort()) == len(dag.tasks)


def test_dag_file_parses_in_under_a_second_and_imports_nothing_heavy():
    code = (
        "import sys, time; import airflow.sdk; t = time.perf_counter();"
        "import importlib.util as u;"
        f"s = u.spec_from_file_location('d', {str(ROOT / 'dags' / 'ai_carbon_nightly.py')!r});"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "print(time.perf_counter() - t);"
        "print(','.join(n for n in ('pyarrow', 'duckdb', 'boto3', 'dbt', 'pandas', 'google.cloud.bigquery')"
        " if n in sys.modules))"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\n")
    assert float(out[0]) < 1.0, f"DAG file took {out[0]} s to parse"
    assert out[1] == "", f"heavy modules imported at parse time: {out[1]}"
    assert time.perf_counter() - started < 30
