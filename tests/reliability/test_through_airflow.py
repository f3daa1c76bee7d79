"""A night that goes wrong in every way at once, through Airflow (the slow part).

GIVEN the published 2025 warehouse of the demo organisation (with its hostile
names and one unusable line; frozen as a disclosure where the tree can),
three live sources whose server refuses the token and echoes it back, and
fake secrets planted in the AWS variables, a Google key file, the Azure,
MLflow and Prometheus token variables and two Airflow connections that the
config names (AWS keys for the CUR, a service account key for GCP billing), so
their secrets pass through the extract tasks:

1. a build is killed (SIGKILL to it and its dbt) while dbt writes;
2. two `airflow dags test` runs of the nightly DAG start together;
3. while the first of their builds runs, January's AWS carbon export arrives
   two months late and a backfill lands it.

THEN the killed build changed nothing; both runs build and publish, one
build at a time; the refused sources fail at once while the rest of the
pipeline runs; the run's outcome names them and counts the quarantined row;
the late month reaches the next build and changes January only, visibly; and
no secret appears in any log, XCom, metadata row, landed file, dbt artifact
or the warehouse.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml
from harness import MONTHS, FakeUpstream, Workspace, figures, landed, sha256

from helpers import BIN, ROOT

pytestmark = pytest.mark.e2e

CONF = json.dumps({"from_month": "2025-01", "to_month": "2025-02"})
REFUSING_SOURCES = ("azure_carbon", "mlflow", "dcgm")
LATE_EXPORT = "aws/helio-billing/carbon"  # January's AWS carbon export, two months late
DISCLOSURE = (
    "select ghg_scope, scope3_category, location_based_tco2e, market_based_tco2e, "
    "data_as_of, is_restatement from reporting.annual_disclosure where year = 2025 "
    "order by all"
)


def planted() -> dict[str, str]:
    """A fresh fake secret per channel (random, so a match can only be a leak)."""
    return {
        name: f"planted-{name.lower()}-{secrets.token_hex(12)}"
        for name in (
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "GOOGLE_PRIVATE_KEY",
            "AZURE_CARBON_ACCESS_TOKEN",
            "MLFLOW_TRACKING_TOKEN",
            "PROMETHEUS_TOKEN",
            "AIRFLOW_CONN_PASSWORD",
            "AIRFLOW_CONN_GCP_PRIVATE_KEY",
        )
    }


def refuse_and_echo(headers: dict) -> tuple[int, str, dict]:
    """A server whose credentials check fails and which echoes what it was sent."""
    sent = headers.get("Authorization", "")
    body = {"error": {"code": "ExpiredAuthenticationToken", "message": f"token expired: {sent}"}}
    return 401, json.dumps(body), {}


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@dataclass
class Run:
    logical_date: str
    returncode: int
    output: str


@dataclass
class Night:
    workspace: Workspace
    airflow_home: Path
    secrets: dict[str, str]
    disclosed: list[tuple]
    disclosed_figures: dict
    disclosed_sha: str
    frozen: bool = False
    freeze_output: str = ""
    sha_after_kill: str = ""
    lock_free_after_kill: bool = False
    backfill_returncode: int | None = None
    backfill_landed_during_a_build: bool = False
    runs: list[Run] = field(default_factory=list)


@pytest.fixture(scope="module")
def night(airflow_db, baseline, later_sources, tmp_path_factory) -> Night:
    from transform.build import WriterBusy, writer_lock

    root = tmp_path_factory.mktemp("night")
    workspace = baseline.copy(root / "install")
    server = FakeUpstream(refuse_and_echo)
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["azure_carbon"] = {
        "subscriptions": ["00000000-0000-0000-0000-000000000001"],
        "base_url": server.url,
    }
    config["sources"]["mlflow"] = {"tracking_uri": server.url, "token_env": "MLFLOW_TRACKING_TOKEN"}
    config["sources"]["dcgm"] = {"url": server.url, "token_env": "PROMETHEUS_TOKEN"}
    # The connections are resolved and handed to the extractors every night.
    config["sources"]["aws_cur"]["connection"] = "ai_carbon_s3"
    config["sources"]["gcp_billing"]["connection"] = "ai_carbon_gcp"
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True))
    fakes = planted()
    key_file = root / "gcp-service-account.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "helio-finops",
                "private_key_id": "0" * 40,
                "private_key": "-----BEGIN PRIVATE KEY-----\n"
                + fakes["GOOGLE_PRIVATE_KEY"]
                + "\n-----END PRIVATE KEY-----\n",
                "client_email": "ai-carbon@helio-finops.iam.gserviceaccount.com",
            }
        )
    )
    env = {
        **workspace.env(),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AWS_ACCESS_KEY_ID": "AKIAPLANTEDPLANTED00",
        "AWS_SECRET_ACCESS_KEY": fakes["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": fakes["AWS_SESSION_TOKEN"],
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "AZURE_CARBON_ACCESS_TOKEN": fakes["AZURE_CARBON_ACCESS_TOKEN"],
        "MLFLOW_TRACKING_TOKEN": fakes["MLFLOW_TRACKING_TOKEN"],
        "PROMETHEUS_TOKEN": fakes["PROMETHEUS_TOKEN"],
        "AIRFLOW_CONN_AI_CARBON_S3": (
            f"aws://AKIAPLANTEDPLANTED00:{fakes['AIRFLOW_CONN_PASSWORD']}@/?region_name=eu-west-1"
        ),
        "AIRFLOW_CONN_AI_CARBON_GCP": json.dumps(
            {
                "conn_type": "google_cloud_platform",
                "extra": {
                    "keyfile_dict": json.dumps(
                        {
                            "type": "service_account",
                            "project_id": "helio-finops",
                            "private_key": fakes["AIRFLOW_CONN_GCP_PRIVATE_KEY"],
                            "client_email": "ai-carbon@helio-finops.iam.gserviceaccount.com",
                            "token_uri": "https://oauth2.googleapis.com/token",
                        }
                    )
                },
            }
        ),
    }
    night = Night(
        workspace,
        airflow_db,
        fakes,
        query(workspace.warehouse, DISCLOSURE),
        figures(workspace.warehouse),
        sha256(workspace.warehouse),
    )
    builds = workspace.warehouse.parent / ".build"

    def python(*args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [str(BIN / "python"), *args],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )

    def airflow_run(logical_date: str):
        # output to a file, not a pipe: an INFO-level run fills a pipe and blocks
        log = (root / f"run-{logical_date}.log").open("w")
        command = [str(BIN / "airflow"), "dags", "test", "ai_carbon_nightly", logical_date]
        process = subprocess.Popen(
            [*command, "-c", CONF],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return logical_date, process, log

    try:
        # 0. the 2025 disclosure is frozen, where this tree can (transform.disclosure)
        freeze = python("-m", "transform.disclosure", "freeze", "--year", "2025")
        night.freeze_output = freeze.communicate(timeout=300)[0]
        night.frozen = freeze.returncode == 0

        # 1. a build killed while dbt writes into its copy
        killed = python("-m", "transform.build", "killed", start_new_session=True)
        wait_for(lambda: (builds / "killed" / "build.json").exists(), 300, "the build to start")
        wal = builds / "dbt-working" / "ai_carbon.duckdb.wal"  # (transform.build.working_path)
        wait_for(lambda: wal.exists() or killed.poll() is not None, 300, "dbt to write")
        assert killed.poll() is None, "the build ended before it could be killed"
        os.killpg(killed.pid, signal.SIGKILL)
        killed.communicate()
        night.sha_after_kill = sha256(workspace.warehouse)
        with workspace.active():
            try:
                with writer_lock(timeout_s=0):
                    night.lock_free_after_kill = True
            except WriterBusy:
                pass

        # 2. two nightly runs at once
        runs = [airflow_run("2025-03-01"), airflow_run("2025-03-02")]

        # 3. the late month lands (a backfill) while the first of their builds runs
        def a_run_is_building() -> bool:
            return any(p.parent.name != "killed" for p in builds.glob("*/build.json"))

        wait_for(a_run_is_building, 600, "a run's build")
        shutil.copytree(later_sources / LATE_EXPORT, workspace.sources / LATE_EXPORT)
        backfill = python("-m", "extractors", "aws_carbon", "--month", "2025-01")
        backfill.communicate(timeout=300)
        night.backfill_returncode = backfill.returncode
        night.backfill_landed_during_a_build = a_run_is_building()

        for logical_date, process, log in runs:
            process.wait(timeout=1500)
            log.close()
            output = (root / f"run-{logical_date}.log").read_text()
            night.runs.append(Run(logical_date, process.returncode, output))
    finally:
        server.close()
    return night


def task_instances(night: Night, logical_date: str) -> dict[str, tuple]:
    """task_id -> (state, try_number, start_date, end_date) of one run."""
    with sqlite3.connect(night.airflow_home / "airflow.db") as db:
        rows = db.execute(
            "select ti.task_id, ti.state, ti.try_number, ti.start_date, ti.end_date "
            "from task_instance ti join dag_run dr "
            "on dr.run_id = ti.run_id and dr.dag_id = ti.dag_id "
            "where ti.dag_id = 'ai_carbon_nightly' and date(dr.logical_date) = ?",
            [logical_date],
        ).fetchall()
    return {task: tuple(rest) for task, *rest in rows}


TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def dbt_interval(output: str) -> tuple[str, str]:
    """When the run's dbt build started and ended, from its task log lines."""
    started = ended = None
    for line in output.splitlines():
        stamp = TIMESTAMP.match(line)
        if stamp and "running" in line and "dbt build" in line:
            started = stamp.group(1)
        if stamp and "dbt build done" in line:
            ended = stamp.group(1)
    assert started and ended, output[-3000:]
    return started, ended


def test_dbt_killed_mid_build_changes_nothing_and_the_next_run_completes(night):
    # GIVEN the published warehouse, WHEN a build is SIGKILLed while dbt
    # writes, THEN the published file is the same bytes and the lock is free
    assert night.sha_after_kill == night.disclosed_sha
    assert night.lock_free_after_kill
    # AND the next runs build and publish
    for run in night.runs:
        tasks = task_instances(night, run.logical_date)
        assert tasks["build_warehouse"][0] == "success", run.output[-3000:]
        assert tasks["publish_warehouse"][0] == "success", run.output[-3000:]


def test_two_nightly_runs_at_once_build_one_at_a_time(night):
    # GIVEN two runs whose build tasks ran at the same time
    builds = [task_instances(night, run.logical_date)["build_warehouse"] for run in night.runs]
    assert builds[0][2] < builds[1][3] and builds[1][2] < builds[0][3], builds
    # THEN their dbt builds did not overlap: one waited for the writer lock
    first, second = (dbt_interval(run.output) for run in night.runs)
    assert first[1] <= second[0] or second[1] <= first[0]
    assert any("another build holds" in run.output for run in night.runs)


def test_a_backfill_landing_during_a_build_reaches_the_next_build(night):
    # GIVEN a run's build in progress, WHEN a backfill lands January's late
    # carbon export meanwhile, THEN the build still succeeds (above) and the
    # warehouse published last has it, with every billed dollar once
    assert night.backfill_returncode == 0
    assert night.backfill_landed_during_a_build
    warehouse = night.workspace.warehouse
    [(provider_rows,)] = query(
        warehouse,
        "select count(*) from fct_emissions where factor_set like 'aws_carbon_export:%'",
    )
    assert provider_rows > 0
    landing = landed(night.workspace.landing)
    billed = sum(
        landing[dataset][month][1]
        for dataset in ("aws_cur/line_items", "gcp_billing/billing_export")
        for month in MONTHS
    )
    [(cost,)] = query(
        warehouse,
        "select sum(cost) from fct_emissions "
        "where method = 'location' and source in ('aws_cur', 'gcp_billing')",
    )
    assert cost == pytest.approx(billed, rel=1e-9)


def test_a_late_month_after_the_disclosure_changes_that_month_only_and_visibly(night):
    # GIVEN the 2025 disclosure published from January and February, WHEN
    # January's carbon export arrives late and the pipeline runs,
    after = figures(night.workspace.warehouse)
    # THEN February is untouched, January changed (provider-reported figures)
    assert after["2025-02"] == night.disclosed_figures["2025-02"]
    assert after["2025-01"] != night.disclosed_figures["2025-01"]
    # AND the change is visible: the disclosure's data_as_of moved past the
    # disclosed one, and the load behind it is in fct_landing_loads
    restated = query(night.workspace.warehouse, DISCLOSURE)
    assert restated != night.disclosed
    disclosed_as_of = max(row[4] for row in night.disclosed)
    assert min(row[4] for row in restated) > disclosed_as_of
    loads = query(
        night.workspace.warehouse,
        "select partition_key, status, loaded_at from fct_landing_loads "
        "where landing_source = 'aws_carbon' and status = 'loaded'",
    )
    # (the backfill and a run's own extract may both have landed it: same bytes)
    assert {p for p, _, _ in loads} == {"month=2025-01"}
    assert min(loaded_at for _, _, loaded_at in loads) > disclosed_as_of


def test_a_late_month_after_a_frozen_disclosure_is_flagged_as_a_restatement(night):
    # GIVEN the 2025 disclosure frozen (transform.disclosure) before the late
    # month arrived, THEN the rebuilt disclosure flags the lines that moved and
    # reporting.restatements says why
    if not night.frozen:
        pytest.skip(f"no frozen disclosures in this tree: {night.freeze_output[-300:]}")
    restated = query(night.workspace.warehouse, DISCLOSURE)
    assert any(row[5] for row in restated)
    reasons = query(
        night.workspace.warehouse,
        "select reasons from reporting.restatements where is_restated and year = 2025",
    )
    assert reasons and any("late" in str(row[0]).lower() for row in reasons), reasons


def test_sources_with_expired_credentials_fail_fast_and_the_rest_still_runs(night):
    for run in night.runs:
        tasks = task_instances(night, run.logical_date)
        # THEN each refused source failed on its first try (no retries on a bad token)
        for source in REFUSING_SOURCES:
            assert tasks[f"extract_{source}"][:2] == ("failed", 1), (source, tasks)
        # AND every other source, the build and the publish succeeded
        others = [t for t in tasks if t.startswith("extract_") and t[8:] not in REFUSING_SOURCES]
        assert {tasks[t][0] for t in others} == {"success"}
        # AND the run failed at its summary, naming the stale sources and their age
        assert tasks["summarise_run"][0] == "failed"
        assert run.returncode != 0
        for source in REFUSING_SOURCES:
            assert f"{source}: not refreshed (its task failed)" in run.output


def test_the_run_outcome_counts_the_quarantined_rows(night):
    for run in night.runs:
        # THEN the extract logged it, and the run summary counts it
        assert re.search(
            r"inference requests month=2025-02: \d+ rows (landed|held, source unchanged), "
            r"1 quarantined \(see <landing>/_quarantine/inference/requests/month=2025-02\)",
            run.output,
        ), run.output[-3000:]
        assert re.search(
            r"run: \d+ rows landed or held, 1 quarantined, 3 source\(s\) not refreshed",
            run.output,
        )
    # AND the extract task's XCom carries the count (counts only, no rows)
    with sqlite3.connect(night.airflow_home / "airflow.db") as db:
        values = [
            json.loads(value)
            for (value,) in db.execute(
                "select value from xcom where task_id = 'extract_inference' "
                "and dag_id = 'ai_carbon_nightly'"
            ).fetchall()
        ]
    loads = [load for value in values for load in value]
    assert {(load["partition"], load["quarantined"]) for load in loads} >= {("month=2025-02", 1)}
    assert set(loads[0]) == {"dataset", "partition", "status", "rows", "quarantined"}


def test_no_planted_secret_appears_in_any_log_xcom_artifact_or_the_warehouse(night):
    # WHERE: both runs' console output, every file of the Airflow home (task
    # logs, the metadata DB with its XCom, rendered fields and connections),
    # landing (data, quarantine, ledger), the warehouse folder (dbt logs and
    # target, build copies, the killed build's leftovers) and the published
    # warehouse's bytes
    places = {f"output of run {r.logical_date}": r.output.encode() for r in night.runs}
    for folder in (night.airflow_home, night.workspace.landing, night.workspace.warehouse.parent):
        for path in folder.rglob("*"):
            if path.is_file():
                places[str(path)] = path.read_bytes()
    with sqlite3.connect(night.airflow_home / "airflow.db") as db:
        places["xcom values"] = "\n".join(
            str(value) for (value,) in db.execute("select value from xcom").fetchall()
        ).encode()
    assert any("dbt-logs" in p for p in places) and any("airflow.db" in p for p in places)
    assert str(night.workspace.warehouse) in places
    # THEN no secret is anywhere, not even in the refused sources' error messages
    leaks = [
        f"{name} in {place}"
        for name, value in night.secrets.items()
        for place, data in places.items()
        if value.encode() in data
    ]
    assert leaks == []
    # (the servers' echoes did reach the logs, with the token cut out)
    assert "token expired: Bearer ***" in "".join(r.output for r in night.runs)
