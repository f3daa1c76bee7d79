"""MLflow runs extractor: runs/search pages flattened to one row per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors import mlflow_runs
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"


def run(run_id: str, experiment: str = "7", **info) -> dict:
    """One run as runs/search returns it."""
    return {
        "info": {
            "run_id": run_id,
            "run_uuid": run_id,
            "experiment_id": experiment,
            "run_name": f"name-{run_id}",
            "user_id": "alice",
            "status": "FINISHED",
            "start_time": 1735725600000,
            "end_time": 1735729200000,
            "artifact_uri": f"s3://mlflow/{run_id}/artifacts",
            "lifecycle_stage": "active",
            **info,
        },
        "data": {
            "metrics": [{"key": "loss", "value": 0.12, "timestamp": 1735729200000, "step": 10}],
            "params": [{"key": "lr", "value": "3e-4"}],
            "tags": [{"key": "mlflow.user", "value": "alice"}],
        },
    }


def write_pages(sources: Path, pages, month: str = MONTH) -> Path:
    path = sources / "mlflow" / f"runs_{month}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pages if isinstance(pages, str) else json.dumps(pages, indent=1))
    return path


def test_pages_flatten_to_one_row_per_run(sources, settings, org_config, landed):
    # GIVEN two pages: a finished run, a running one (no end_time), one named
    # only by its mlflow.runName tag, and an empty last page
    running = run("r2", status="RUNNING", end_time=None)
    unnamed = run("r3", experiment="9", run_name="")
    unnamed["data"]["tags"].append({"key": "mlflow.runName", "value": "from-tag"})
    write_pages(
        sources, [{"runs": [run("r1"), running], "next_page_token": "abc"}, {"runs": [unnamed]}, {}]
    )
    # WHEN the month is extracted
    [record] = mlflow_runs.extract(MONTH, settings, org_config)
    # THEN three rows as the contract flattens them
    assert (record.source, record.dataset, record.status, record.rows) == (
        "mlflow",
        "runs",
        "loaded",
        3,
    )
    table = landed.table("mlflow", "runs")
    assert table.schema == mlflow_runs.SCHEMA
    rows = table.to_pylist()
    assert rows[0] == {
        "run_id": "r1",
        "experiment_id": "7",
        "run_name": "name-r1",
        "status": "FINISHED",
        "start_time": 1735725600000,
        "end_time": 1735729200000,
        "lifecycle_stage": "active",
        "tags": [{"key": "mlflow.user", "value": "alice"}],
        "params": [{"key": "lr", "value": "3e-4"}],
        "_source_file": "mlflow/runs_2025-01.json",
    }
    assert (rows[1]["status"], rows[1]["end_time"]) == ("RUNNING", None)
    assert (rows[2]["experiment_id"], rows[2]["run_name"]) == ("9", "from-tag")


def test_run_repeated_across_pages_is_kept_once(sources, settings, org_config):
    write_pages(sources, [{"runs": [run("r1"), run("r2")]}, {"runs": [run("r2")]}])
    [record] = mlflow_runs.extract(MONTH, settings, org_config)
    assert record.rows == 2


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    write_pages(sources, [{"runs": [run("r1")]}])
    mlflow_runs.extract(MONTH, settings, org_config)
    before = landed.path("mlflow", "runs").read_bytes()
    [record] = mlflow_runs.extract(MONTH, settings, org_config)
    assert (record.status, record.rows) == ("unchanged", 1)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("mlflow", "runs").read_bytes() == before


def test_run_without_required_field_is_named(sources, settings, org_config, landing):
    broken = run("r9")
    del broken["info"]["start_time"]
    write_pages(sources, [{"runs": [run("r1")]}, {"runs": [run("r2"), broken]}])
    with pytest.raises(
        SourceError, match=r"runs_2025-01.json, page 2, run 2: field info.start_time is required"
    ):
        mlflow_runs.extract(MONTH, settings, org_config)
    assert not landing.exists()


def test_malformed_json_names_line(sources, settings, org_config):
    write_pages(sources, '[{"runs": [\n  {"info": }\n]}]')
    with pytest.raises(SourceError, match=r"runs_2025-01.json, line 2, column 12: malformed JSON"):
        mlflow_runs.extract(MONTH, settings, org_config)


def test_not_a_list_of_pages_is_refused(sources, settings, org_config):
    write_pages(sources, {"runs": []})
    with pytest.raises(SourceError, match="expected a list of runs/search response pages"):
        mlflow_runs.extract(MONTH, settings, org_config)


def test_month_not_delivered(settings, org_config, landing):
    assert mlflow_runs.extract(MONTH, settings, org_config) == []
    assert not landing.exists()
