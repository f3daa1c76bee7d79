"""The single writer, readers during a publish, and extracts racing each other.

These need no dbt run: the build's dbt step is replaced by a stand-in that
writes a marker into the copy, because what is tested is the locking and the
publishing around it. (Real dbt builds of two DAG runs at once: test_through_airflow.py.)
"""

from __future__ import annotations

import json
import time

import duckdb
import pytest
from harness import landed, ledger_lines, sha256

from transform import build as build_module
from transform.sql import connect

HOLD_THE_LOCK = """
import sys, time
from transform.build import writer_lock
with writer_lock():
    print("HELD", flush=True)
    time.sleep(float(sys.argv[1]))
"""


@pytest.fixture
def stand_in_dbt(monkeypatch):
    """dbt replaced by a marker table naming the build's run (dbt builds at one
    working path for every run: the run is the latest build.json's)."""

    def run_dbt(args, warehouse, settings=None):
        records = [
            json.loads(path.read_text()) for path in build_module.build_dir().glob("*/build.json")
        ]
        run = max(records, key=lambda record: record["build"])["run_id"]
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create or replace table build_marker as select ? as run", [run])
        return "Done. PASS=1"

    monkeypatch.setattr(build_module, "run_dbt", run_dbt)


def marker(warehouse) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select run from build_marker").fetchone()[0]


def test_an_older_build_is_never_published_over_a_newer_one(workspace, stand_in_dbt, caplog):
    # GIVEN two builds (Airflow runs build and publish as two tasks, so a
    # backfill's build can finish between the nightly build and its publish)
    with workspace.active():
        older = build_module.build("nightly")
        newer = build_module.build("backfill")
        # WHEN the newer one is published first, then the older one
        build_module.publish(newer)
        build_module.publish(older)
    # THEN the published warehouse is the newer build, and the older was dropped
    assert marker(workspace.warehouse) == "backfill"
    assert "not published: build" in caplog.text
    assert not older.parent.exists()


def test_a_reader_keeps_a_consistent_warehouse_while_a_build_is_published(workspace, stand_in_dbt):
    # GIVEN an analyst's read-only session in the middle of reading
    reader = connect(workspace.warehouse)
    query = "select count(*), round(sum(kg_co2e), 6) from fct_emissions"
    before = reader.execute(query).fetchone()
    # WHEN a new build (without February) is published underneath it
    with workspace.active():
        built = build_module.build("next")
        with duckdb.connect(str(built)) as con:
            con.execute("delete from fct_emissions where month >= date '2025-02-01'")
        build_module.publish(built)
    # THEN the session still reads the warehouse it opened, whole
    assert reader.execute(query).fetchone() == before
    reader.close()
    # AND a new session sees the new one
    after = connect(workspace.warehouse)
    assert after.execute(query).fetchone() != before
    after.close()


def test_a_writer_blocked_too_long_fails_clearly_and_changes_nothing(workspace):
    from transform.build import WriterBusy, writer_lock

    # GIVEN another build holding the writer lock
    holder = workspace.python("-c", HOLD_THE_LOCK, "30")
    assert holder.stdout.readline().strip() == "HELD"
    before = sha256(workspace.warehouse)
    try:
        # WHEN a second writer waits at most one second
        started = time.monotonic()
        with (
            workspace.active(),
            pytest.raises(
                WriterBusy, match=r"another build holds .*\.writer\.lock for more than 1 s"
            ),
            writer_lock(timeout_s=1),
        ):
            pass
        # THEN it gave up after about that long, and the warehouse is as it was
        assert time.monotonic() - started < 5
        assert sha256(workspace.warehouse) == before
    finally:
        holder.kill()
        holder.communicate()


def test_two_extracts_of_the_same_month_at_once_land_it_once(workspace):
    # GIVEN January's Slurm file redelivered (one more job) while two runs
    # (the nightly look-back and a backfill) both extract January
    sacct = workspace.sources / "slurm" / "hpc1" / "sacct_2025-01.txt"
    line = sacct.read_text().splitlines()[1].split("|")
    line[0] = "88001"
    with sacct.open("a") as handle:
        handle.write("|".join(line) + "\n")
    before = landed(workspace.landing)["slurm/jobs"]["2025-01"][0]
    lines = ledger_lines(workspace.landing)
    # WHEN both run at the same time, in two processes
    runs = [workspace.python("-m", "extractors", "slurm", "--month", "2025-01") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # THEN January holds the redelivery once (one more row, not two), and the
    # ledger has two whole records of it
    assert landed(workspace.landing)["slurm/jobs"]["2025-01"][0] == before + 1
    new = [json.loads(line) for line in ledger_lines(workspace.landing)[len(lines) :]]
    assert len(new) == 2 and {r["rows"] for r in new} == {before + 1}
    assert not list((workspace.landing / "slurm").rglob(".part-*"))
