"""Upstream trouble: throttling and timeouts, expired credentials, a source down for days.

The live sources share two clients (extractors.remote for Prometheus,
OpenCost and MLflow; extractors.cloud / azure_carbon for the clouds); the
MLflow tracking server stands in for them here, a real HTTP server on
127.0.0.1. The same faults against S3, BigQuery and the Azure API are unit
tested in tests/extractors/cloud (named in the README's table).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import yaml
from harness import FakeUpstream, landed, ledger_lines, parquet_digest

from extractors import remote
from extractors.errors import SourceError, SourceUnavailable
from extractors.landing import LoadRecord, append_ledger
from extractors.run_summary import summarise

TOKEN = "fake-mlflow-token-7d1c9e0b55aa"


@pytest.fixture
def upstream():
    servers: list[FakeUpstream] = []

    def start(answer) -> FakeUpstream:
        servers.append(FakeUpstream(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """remote's back-off waits, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(remote.time, "sleep", recorded.append)
    return recorded


def point_mlflow_at(workspace, url: str, monkeypatch, timeout: float = 5.0) -> None:
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["mlflow"] = {
        "tracking_uri": url,
        "token_env": "MLFLOW_TRACKING_TOKEN",
        "timeout_seconds": timeout,
    }
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)


@pytest.mark.parametrize("fault", ["throttled", "timing out"])
def test_throttling_and_timeouts_are_retried_with_backoff_then_fail_retryably(
    workspace, upstream, waits, monkeypatch, fault
):
    # GIVEN the tracking server answering 429 (or too slowly) every time
    if fault == "throttled":
        server = upstream(lambda _: (429, '{"error_code": "RATE_LIMITED"}', {"Retry-After": "1"}))
    else:
        # (an Event, not time.sleep: the fixture records time.sleep instead of sleeping)
        server = upstream(lambda _: (threading.Event().wait(0.6), (200, "{}", {}))[1])
    point_mlflow_at(workspace, server.url, monkeypatch, timeout=0.2)
    before, lines = parquet_digest(workspace.landing), ledger_lines(workspace.landing)
    # WHEN MLflow is extracted
    with pytest.raises(SourceUnavailable, match=r"failed 4 times.*Nothing was landed") as failure:
        workspace.extract("mlflow", ("2025-01",))
    # THEN it tried 4 times, waiting 2, 4 and 8 s between (bounded), failed
    # with an error the DAG retries later (not a SourceError), landed nothing
    assert len(server.requests) == 4
    assert waits == [2.0, 4.0, 8.0]
    assert not isinstance(failure.value, SourceError)
    assert parquet_digest(workspace.landing) == before
    assert ledger_lines(workspace.landing) == lines


def test_expired_credentials_fail_at_once_without_showing_the_secret(
    workspace, upstream, waits, monkeypatch
):
    # GIVEN a server refusing the token, and echoing it in its error body
    # (some do: "invalid token <token>")
    server = upstream(
        lambda headers: (
            401,
            f'{{"error_code": "UNAUTHENTICATED", "message": "expired: {headers.get("Authorization")}"}}',
            {},
        )
    )
    point_mlflow_at(workspace, server.url, monkeypatch)
    before = parquet_digest(workspace.landing)
    # WHEN MLflow is extracted
    with pytest.raises(SourceError) as failure:
        workspace.extract("mlflow", ("2025-01",))
    # THEN it failed on the first answer (no retry: a new token is needed),
    # saying who refused, the token was sent, and the message never holds it
    assert len(server.requests) == 1 and waits == []
    assert server.requests[0]["Authorization"] == f"Bearer {TOKEN}"
    assert "HTTP 401" in str(failure.value) and "UNAUTHENTICATED" in str(failure.value)
    assert TOKEN not in str(failure.value)
    assert parquet_digest(workspace.landing) == before


def test_a_source_down_for_days_is_reported_stale_while_the_rest_is_refreshed(workspace):
    # GIVEN MLflow last extracted three days before tonight's loads
    three_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat(timespec="seconds")
    lines = [line for line in ledger_lines(workspace.landing) if '"mlflow"' not in line]
    (workspace.landing / "_ledger" / "loads.jsonl").write_text("\n".join(lines) + "\n")
    append_ledger(
        workspace.landing,
        LoadRecord(
            "mlflow", "runs", "month=2025-02", [], 8, "x", "f", "loaded", loaded_at=three_days_ago
        ),
    )
    before = landed(workspace.landing)
    # WHEN tonight every other source lands and MLflow's task fails
    workspace.extract("aws_cur")
    workspace.extract("inference")
    results = {
        "aws_cur": [
            {
                "dataset": "line_items",
                "partition": "month=2025-01",
                "status": "unchanged",
                "rows": 575,
                "quarantined": 0,
            }
        ],
        "inference": [
            {
                "dataset": "requests",
                "partition": "month=2025-02",
                "status": "unchanged",
                "rows": 1345,
                "quarantined": 1,
            }
        ],
        "mlflow": None,
    }
    summary = summarise(results, workspace.landing)
    # THEN the run's summary names MLflow as not refreshed and how old its
    # data is (the freshness alert), counts the rest, and MLflow's landed
    # months are kept as they were
    assert list(summary.stale) == ["mlflow"]
    assert "(3.0 days older)" in summary.stale["mlflow"]
    assert summary.counts["inference"]["quarantined"] == 1
    assert summary.lines[-1].endswith("1 quarantined, 1 source(s) not refreshed: mlflow")
    assert landed(workspace.landing) == before
    # (the DAG builds and publishes without it: test_through_airflow.py)


def test_the_dag_builds_from_what_is_landed_when_a_source_fails():
    from airflow.dag_processing.dagbag import DagBag

    from helpers import ROOT

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["ai_carbon_nightly"]
    build = dag.get_task("build_warehouse")
    summary = dag.get_task("summarise_run")
    # the build waits for every extract but needs only one to succeed ...
    assert build.trigger_rule == "all_done_min_one_success"
    # ... and the last task, which fails the run naming stale sources, runs always
    assert summary.trigger_rule == "all_done"
    assert dag.leaves == [summary]
    assert {t for t in summary.upstream_task_ids if t.startswith("extract_")} == set(
        build.upstream_task_ids
    )
