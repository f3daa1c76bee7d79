"""MLflow REST API: experiments by name, runs/search over pages, auth, outages."""

from __future__ import annotations

import base64
import logging

import pytest

from extractors import mlflow_api, mlflow_runs
from extractors.errors import SourceError
from extractors.org_config import load_config
from extractors.remote import ATTEMPTS, SourceUnavailable
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
JAN_START, FEB_START = 1735689600000, 1738368000000  # epoch ms
EXPERIMENTS = {"lm-pretrain": "1", "support-bot-ft": "7"}


def run(run_id, experiment, status, start, end, tags=()):
    """A run as runs/search returns it."""
    return {
        "info": {
            "run_id": run_id,
            "run_uuid": run_id,
            "experiment_id": experiment,
            "run_name": f"name-{run_id}",
            "user_id": "alice",
            "status": status,
            "start_time": start,
            **({"end_time": end} if end is not None else {}),
            "artifact_uri": f"s3://mlflow/{experiment}/{run_id}/artifacts",
            "lifecycle_stage": "active",
        },
        "data": {
            "metrics": [{"key": "loss", "value": 1.7, "timestamp": start, "step": 100}],
            "params": [{"key": "lr", "value": "3e-4"}],
            "tags": [{"key": k, "value": v} for k, v in tags],
        },
    }


HOUR = 3_600_000
# Three pages of two runs, newest first as asked. r5 ended before January: dropped.
PAGES = [
    [
        run("r1", "1", "RUNNING", FEB_START - HOUR, None, [("slurm.job_id", "4101")]),
        run("r2", "1", "FINISHED", JAN_START + 10 * HOUR, JAN_START + 20 * HOUR),
    ],
    [
        run("r3", "7", "FAILED", JAN_START + 5 * HOUR, JAN_START + 6 * HOUR, [("k8s.pod", "ft-0")]),
        run("r4", "1", "KILLED", JAN_START - 2 * HOUR, JAN_START + HOUR),
    ],
    [
        run("r5", "1", "FINISHED", JAN_START - 5 * HOUR, JAN_START - 4 * HOUR),
        {"info": {"run_id": "r6", "experiment_id": "1"}, "data": {}},  # no status: quarantined
    ],
]


def mlflow_server(pages=PAGES, fail_page: int | None = None):
    """The answer function of a tracking server holding ``pages`` of runs/search."""

    def answer(request):
        if request.path == "/api/2.0/mlflow/experiments/get-by-name":
            name = request.query["experiment_name"][0]
            if name not in EXPERIMENTS:
                return 404, {
                    "error_code": "RESOURCE_DOES_NOT_EXIST",
                    "message": f"Could not find experiment with name '{name}'",
                }
            return 200, {"experiment": {"experiment_id": EXPERIMENTS[name], "name": name}}
        if request.path == "/api/2.0/mlflow/experiments/search":
            return 200, {
                "experiments": [
                    {"experiment_id": i, "name": n, "lifecycle_stage": "active"}
                    for n, i in EXPERIMENTS.items()
                ]
            }
        if request.path == "/api/2.0/mlflow/runs/search":
            index = int(request.body.get("page_token", "0"))
            if fail_page is not None and index == fail_page:
                return 503, {"error_code": "TEMPORARILY_UNAVAILABLE"}
            page = {"runs": pages[index]}
            if index + 1 < len(pages):
                page["next_page_token"] = str(index + 1)
            return 200, page
        return 404, {"error_code": "ENDPOINT_NOT_FOUND"}

    return answer


@pytest.fixture
def api_settings(config_doc, write_config, sources, landing, json_server):
    def make(**options):
        config_doc["sources"]["mlflow"] = {"tracking_uri": json_server.url, **options}
        config = load_config(write_config(config_doc))
        return Settings(sources=sources, landing=landing, config=config.path), config

    return make


def test_runs_overlapping_the_month_land_from_three_pages(json_server, api_settings, landed):
    # GIVEN a tracking server with two named experiments and three pages of runs
    json_server.answer = mlflow_server()
    settings, config = api_settings(experiments=["lm-pretrain", "support-bot-ft"], page_size=2)
    # WHEN January is extracted (through the same entry point as the files)
    [record] = mlflow_runs.extract(MONTH, settings, config)
    # THEN the experiments were resolved by name and runs/search paged with the month's filter
    searches = [r for r in json_server.requests if r.path.endswith("/runs/search")]
    assert [r.body.get("page_token") for r in searches] == [None, "1", "2"]
    assert searches[0].body == {
        "experiment_ids": ["1", "7"],
        "filter": f"attributes.start_time < {FEB_START}",
        "run_view_type": "ALL",
        "max_results": 2,
        "order_by": ["attributes.start_time DESC"],
    }
    # AND the runs that overlap January land once each, in start order, as the file path lands them
    assert (record.source, record.dataset, record.rows, record.quarantined) == (
        "mlflow",
        "runs",
        4,
        1,
    )
    table = landed.table("mlflow", "runs")
    assert table.schema == mlflow_runs.SCHEMA
    rows = table.to_pylist()
    assert [(r["run_id"], r["status"], r["end_time"]) for r in rows] == [
        ("r4", "KILLED", JAN_START + HOUR),
        ("r3", "FAILED", JAN_START + 6 * HOUR),
        ("r2", "FINISHED", JAN_START + 20 * HOUR),
        ("r1", "RUNNING", None),
    ]
    assert rows[3]["tags"] == [{"key": "slurm.job_id", "value": "4101"}]
    assert rows[1]["tags"] == [{"key": "k8s.pod", "value": "ft-0"}]
    assert rows[0]["_source_file"] == f"{json_server.url}/api/2.0/mlflow/runs/search"


def test_every_experiment_when_none_is_named(json_server, api_settings, landed):
    json_server.answer = mlflow_server()
    settings, config = api_settings(max_run_days=30)
    mlflow_runs.extract(MONTH, settings, config)
    search = next(r for r in json_server.requests if r.path.endswith("/runs/search"))
    assert search.body["experiment_ids"] == ["1", "7"]
    assert search.body["filter"] == (
        f"attributes.start_time < {FEB_START} AND attributes.start_time >= "
        f"{JAN_START - 30 * 86_400_000}"
    )


def test_an_unknown_experiment_is_named_by_its_key(json_server, api_settings, landing):
    json_server.answer = mlflow_server()
    settings, config = api_settings(experiments=["lm-pretrain", "nope"])
    with pytest.raises(SourceError, match=r"sources\.mlflow\.experiments\[1\]: experiment 'nope'"):
        mlflow_runs.extract(MONTH, settings, config)
    assert not landing.exists()


def test_outage_on_a_later_page_fails_after_retries_without_landing(
    json_server, api_settings, landed, ledger, no_backoff
):
    # GIVEN January landed
    json_server.answer = mlflow_server()
    settings, config = api_settings(page_size=2)
    mlflow_runs.extract(MONTH, settings, config)
    before = landed.path("mlflow", "runs").read_bytes()
    # WHEN the server fails on page 2 on every try
    json_server.answer = mlflow_server(fail_page=1)
    asked = len(json_server.requests)
    with pytest.raises(SourceUnavailable, match=r"sources\.mlflow: POST .*runs/search failed"):
        mlflow_runs.extract(MONTH, settings, config)
    # THEN page 1 once, page 2 ATTEMPTS times, and nothing changed
    assert len(json_server.requests) - asked == 1 + 1 + ATTEMPTS  # experiments, page 1, page 2
    assert landed.path("mlflow", "runs").read_bytes() == before
    assert len(ledger()) == 1


def test_basic_auth_is_sent_and_never_logged(
    json_server, api_settings, monkeypatch, caplog, landed
):
    monkeypatch.setenv("MLFLOW_TEST_USER", "svc-carbon")
    monkeypatch.setenv("MLFLOW_TEST_PASSWORD", "hunter2-pw")
    json_server.answer = mlflow_server()
    settings, config = api_settings(
        username_env="MLFLOW_TEST_USER", password_env="MLFLOW_TEST_PASSWORD"
    )
    with caplog.at_level(logging.DEBUG):
        mlflow_runs.extract(MONTH, settings, config)
    expected = "Basic " + base64.b64encode(b"svc-carbon:hunter2-pw").decode()
    assert {r.headers["Authorization"] for r in json_server.requests} == {expected}
    assert "hunter2-pw" not in caplog.text


def test_a_server_repeating_a_page_token_is_stopped(json_server, api_settings, landing):
    def answer(request):
        if request.path.endswith("/experiments/search"):
            return 200, {"experiments": [{"experiment_id": "1"}]}
        return 200, {"runs": [], "next_page_token": "same"}

    json_server.answer = answer
    settings, config = api_settings()
    with pytest.raises(SourceError, match="repeated a page token"):
        mlflow_runs.extract(MONTH, settings, config)


def test_runs_filter_syntax():
    assert mlflow_api.runs_filter("2025-12", None) == "attributes.start_time < 1767225600000"
