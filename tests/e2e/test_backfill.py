"""`airflow backfill create` replays nights exactly as the nightly runs would have.

GIVEN the demo organisation's sources for 2025-01..2025-03, and a real Airflow
3 deployment on this machine: `airflow scheduler` (LocalExecutor, the default
and the only executor of Airflow 3 core; it works on SQLite when runs do not
overlap) and `airflow api-server --apps execution` (task processes report to
the execution API), a SQLite metadata DB,
WHEN `airflow backfill create --dag-id ai_carbon_nightly --from-date 2025-01-31
--to-date 2025-02-01 --max-active-runs 1` replays two nights across a month end,
THEN both backfill runs succeed, one after the other, and the published
warehouse holds the same facts and the landing folder the same partitions as
after `airflow dags test` of the same two nights in sequence (a manual run of
date D covers the night that ends at D, so those are 2025-02-01 and 02-02);
and a second backfill over the same dates (reprocess behaviour `none`, the
default) creates no run and changes no byte of the warehouse.

Backfill runs wait while their DAG is paused, so the DAG is registered
unpaused; the scheduler runs with `use_job_schedule = False`, so that starts no
scheduled run of today. The reference runs go on meanwhile, on their own
folders and metadata DB.

Each `airflow backfill create` runs while the scheduler is stopped. On SQLite
the CLI's session reads, then writes; when the scheduler holds the write lock
at that moment SQLite answers "database is locked" at once, whatever the busy
timeout (it will not wait where waiting could deadlock), and Airflow cleans up
the half-made backfill only for Postgres and MySQL lock errors. A CI run failed
so. With Postgres, as in the compose file, the two may overlap.
"""

import hashlib
import json
import math
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from extractors.demo.generate import generate
from helpers import BIN, ROOT, run

pytestmark = pytest.mark.e2e

BACKFILL = ["--from-date", "2025-01-31", "--to-date", "2025-02-01"]
REFERENCE_DATES = ["2025-02-01", "2025-02-02"]
DEADLINE_S = 240
# Every mart people query, by its id (md5 of the descriptive columns: deterministic).
MARTS = {
    "fct_emissions": "emission_id",
    "fct_gpu_usage": "gpu_usage_id",
    "fct_training_runs": "run_id",
    "fct_inference_requests": "inference_month_id",
    "dim_ai_system": "system_id",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def landed(landing: Path) -> dict[str, str]:
    return {
        str(p.relative_to(landing)): sha256(p)
        for p in sorted(landing.rglob("*.parquet"))
        if "_ledger" not in p.parts
    }


# The incremental build's state (dbt_project/macros/incremental_months.sql):
# fingerprints of the landing files, their times included, not figures.
INCREMENTAL_STATE = ("month_fingerprint", "inputs_fingerprint")


def facts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart people query, whole (the ledger's load times and the incremental
    build's fingerprints aside)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {}
        for mart, key in MARTS.items():
            columns = [
                f'"{name}"'
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'main' and table_name = ? order by ordinal_position",
                    [mart],
                ).fetchall()
                if name not in INCREMENTAL_STATE
            ]
            found[mart] = con.execute(
                f"select {', '.join(columns)} from main.{mart} order by {key}"
            ).fetchall()
        return found


def same_facts(left: dict[str, list[tuple]], right: dict[str, list[tuple]]) -> bool:
    """Equal, but for the last bits of sums: DuckDB adds in parallel, in no fixed order,
    so two builds of the same landing differ by float rounding (1e-13 relative)."""

    def close(a, b):
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return a == b

    for mart in MARTS:
        assert len(left[mart]) == len(right[mart]), mart
        for row_left, row_right in zip(left[mart], right[mart], strict=True):
            assert all(map(close, row_left, row_right)), f"{mart}: {row_left} != {row_right}"
    return True


def backfill_runs(metadata_db: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True, timeout=30) as con:
        return con.execute(
            "select logical_date, state, start_date, end_date from dag_run "
            "where dag_id = 'ai_carbon_nightly' and run_type = 'backfill' order by logical_date"
        ).fetchall()


def backfills_open(metadata_db: Path) -> int:
    """Backfills the scheduler has not marked complete (it checks every 30 s)."""
    with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True, timeout=30) as con:
        return con.execute("select count(*) from backfill where completed_at is null").fetchone()[0]


def log_tail(path: Path, lines: int = 40) -> str:
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
    )


def failed_task_logs(home: Path) -> str:
    logs = sorted((home / "logs").rglob("*.log"))
    return "\n".join(
        f"--- {p.relative_to(home)}\n{log_tail(p, 15)}"
        for p in logs
        if '"level":"error"' in p.read_text(errors="replace")
    )


class Scheduler:
    """`airflow scheduler` of the deployment, started and stopped by the test."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work, self.env, self.process, self.log = work, env, None, None

    def start(self) -> None:
        self.log = (self.work / "scheduler.log").open("a")
        self.process = subprocess.Popen(
            [str(BIN / "airflow"), "scheduler"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.log.close()
            self.process = None


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """An execution API server on a private metadata DB, and a scheduler the test
    starts and stops; both stopped at the end."""
    work = tmp_path_factory.mktemp("backfill")
    home = work / "airflow"
    home.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        # A longer SQLite busy timeout than the default 5 s: the scheduler, the API
        # server and the CLI share one file.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db?timeout=60",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_LANDING": str(work / "landing"),
        "AI_CARBON_WAREHOUSE": str(work / "warehouse" / "ai_carbon.duckdb"),
        "AI_CARBON_CONFIG": str(ROOT / "config" / "org.example.yml"),
        "AI_CARBON_DISCLOSURES": str(work / "disclosures"),
    }
    generate(work / "sources", start_month="2025-01", months=3)
    airflow = str(BIN / "airflow")
    run([airflow, "db", "migrate"], env)
    run([airflow, "pools", "set", "warehouse_writer", "1", "single DuckDB writer"], env)
    # Backfill runs wait while their DAG is paused: serialize it unpaused.
    run(
        [airflow, "dags", "reserialize"],
        {**env, "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"},
    )
    scheduler = Scheduler(work, env)
    with (work / "api-server.log").open("w") as log:
        api_server = subprocess.Popen(
            [airflow, "api-server", "--apps", "execution", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/execution/health", timeout=2
                    ):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"execution API did not start:\n{log_tail(work / 'api-server.log')}"
                        )
                    time.sleep(1)
            yield work, env, scheduler
        finally:
            scheduler.stop()
            stop_process(api_server)


@pytest.fixture(scope="module")
def reference(airflow_db, tmp_path_factory):
    """The same nights through `airflow dags test`, in sequence, on their own folders.

    Started in a thread so that it runs while the backfill runs; joined by the test.
    """
    work = tmp_path_factory.mktemp("nightly")
    env = {
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_LANDING": str(work / "landing"),
        "AI_CARBON_WAREHOUSE": str(work / "warehouse" / "ai_carbon.duckdb"),
        "AI_CARBON_CONFIG": str(ROOT / "config" / "org.example.yml"),
        "AI_CARBON_DISCLOSURES": str(work / "disclosures"),
    }
    generate(work / "sources", start_month="2025-01", months=3)
    errors: list[BaseException] = []

    def nights():
        try:
            for date in REFERENCE_DATES:
                run([str(BIN / "airflow"), "dags", "test", "ai_carbon_nightly", date], env)
        except BaseException as error:  # reported by the test that joins
            errors.append(error)

    thread = threading.Thread(target=nights, daemon=True)
    thread.start()
    return work, thread, errors


def wait_for_backfill(work: Path, env: dict, expected: int) -> list[tuple]:
    metadata_db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        runs = backfill_runs(metadata_db)
        finished = len(runs) == expected and all(r[1] in ("success", "failed") for r in runs)
        if finished and backfills_open(metadata_db) == 0:
            return runs
        time.sleep(3)
    pytest.fail(
        f"backfill not finished in {DEADLINE_S} s: {backfill_runs(metadata_db)}\n"
        f"{log_tail(work / 'scheduler.log')}\n{failed_task_logs(Path(env['AIRFLOW_HOME']))}"
    )


def test_backfill_gives_the_nightly_warehouse_and_a_second_backfill_changes_nothing(
    reference, deployment
):
    work, env, scheduler = deployment
    started = time.monotonic()
    airflow = str(BIN / "airflow")
    create = [airflow, "backfill", "create", "--dag-id", "ai_carbon_nightly", *BACKFILL]
    run([*create, "--max-active-runs", "1"], env)
    scheduler.start()
    runs = wait_for_backfill(work, env, expected=2)
    scheduler.stop()
    assert [r[1] for r in runs] == ["success", "success"], (
        f"{runs}\n{failed_task_logs(Path(env['AIRFLOW_HOME']))}"
    )
    assert [r[0][:10] for r in runs] == ["2025-01-31", "2025-02-01"]
    # max_active_runs 1: the second night started after the first ended
    assert runs[1][2] >= runs[0][3]
    backfill_seconds = time.monotonic() - started

    reference_work, thread, errors = reference
    thread.join(timeout=DEADLINE_S)
    assert not thread.is_alive(), "the reference `airflow dags test` runs did not finish"
    if errors:
        raise errors[0]
    warehouse = work / "warehouse" / "ai_carbon.duckdb"
    reference_warehouse = reference_work / "warehouse" / "ai_carbon.duckdb"
    assert landed(work / "landing") == landed(reference_work / "landing")
    backfilled = facts(warehouse)
    assert backfilled["fct_emissions"], "the backfill built an empty warehouse"
    assert same_facts(backfilled, facts(reference_warehouse))

    # Again over the same dates: both nights exist and succeeded, so with the
    # default reprocess behaviour `none` no run is created and nothing is rebuilt.
    # (the scheduler stays stopped: a backfill's work is its dag runs, and it
    # creates none)
    before = sha256(warehouse)
    result = run(create, env)
    assert backfill_runs(Path(env["AIRFLOW_HOME"]) / "airflow.db") == runs, result.stdout
    assert sha256(warehouse) == before
    assert landed(work / "landing") == landed(reference_work / "landing")
    print(json.dumps({"backfill_seconds": round(backfill_seconds, 1)}))
