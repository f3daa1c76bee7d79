"""Crashes: an extract killed mid-write, the disk full while landing or building.

(dbt killed mid-build is in test_through_airflow.py, whose rerun is the
nightly run that follows the crash.)
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal

import pytest
from harness import landed, ledger_lines, parquet_digest, sha256

from extractors import landing as landing_module
from extractors.landing import LoadRecord, append_ledger, read_ledger

# A child process that lands January's CUR, and stops dead half-way through
# writing the partition's file: its first part is written, the file is not
# closed (no footer), then SIGKILL.
KILLED_MID_WRITE = """
import sys, time
import pyarrow.parquet as pq

real_write = pq.ParquetWriter.write_table

def part_then_hang(self, table, *args, **options):
    real_write(self, table, *args, **options)
    print("HALF-WRITTEN", self.where, flush=True)
    time.sleep(120)

pq.ParquetWriter.write_table = part_then_hang
from extractors.__main__ import main
sys.exit(main(["aws_cur", "--month", "2025-01"]))
"""


def redeliver_january_cur(workspace) -> None:
    """A new CUR manifest for January (new execution): the month must be re-landed."""
    manifest = next(workspace.sources.rglob("metadata/BILLING_PERIOD=2025-01/*Manifest.json"))
    document = json.loads(manifest.read_text())
    document["executionId"] = "redelivered"
    manifest.write_text(json.dumps(document))


def test_an_extract_killed_mid_write_leaves_the_old_partition_and_the_rerun_lands(workspace):
    # GIVEN January landed, and a redelivery being landed by a process
    before, digest = landed(workspace.landing), parquet_digest(workspace.landing)
    lines = ledger_lines(workspace.landing)
    redeliver_january_cur(workspace)
    child = workspace.python("-c", KILLED_MID_WRITE)
    # WHEN that process is killed (SIGKILL) with half of the new file written
    marker = child.stdout.readline()
    assert marker.startswith("HALF-WRITTEN"), child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait()
    # THEN readers (dbt's glob) see the old partition: same rows, totals, bytes;
    # the half file is only a hidden temporary, and the ledger did not move
    assert landed(workspace.landing) == before
    assert parquet_digest(workspace.landing) == digest
    assert ledger_lines(workspace.landing) == lines
    partition = workspace.landing / "aws_cur" / "line_items" / "month=2025-01"
    assert sorted(p.name for p in partition.iterdir() if not p.name.startswith(".")) == [
        "part-0.parquet"
    ]
    # AND the next run lands the redelivery whole (its rows equal the old ones)
    workspace.extract("aws_cur", ("2025-01",))
    assert landed(workspace.landing) == before
    assert json.loads(ledger_lines(workspace.landing)[-1])["status"] == "loaded"


def test_disk_full_while_landing_fails_clearly_and_keeps_the_old_partition(workspace, tiny_disk):
    # GIVEN the landing zone on a disk with 16 KB left, and a redelivery of
    # January's CUR (its partition is larger than that)
    copy = workspace.root / "landing-copy"
    shutil.copytree(workspace.landing, copy)
    shutil.rmtree(workspace.landing)
    tiny_disk(workspace.landing, "4m")
    shutil.copytree(copy, workspace.landing, dirs_exist_ok=True)
    before, digest = landed(workspace.landing), parquet_digest(workspace.landing)
    lines = ledger_lines(workspace.landing)
    free = shutil.disk_usage(workspace.landing).free
    (workspace.landing / "filler").write_bytes(b"\0" * (free - 16 * 1024))
    redeliver_january_cur(workspace)
    # WHEN January is extracted
    with pytest.raises(OSError) as failure:
        workspace.extract("aws_cur", ("2025-01",))
    # THEN the error says the disk is full, and nothing changed: no half
    # file, no temporary left behind, no ledger line
    assert failure.value.errno == errno.ENOSPC
    assert landed(workspace.landing) == before
    assert parquet_digest(workspace.landing) == digest
    assert ledger_lines(workspace.landing) == lines
    assert not list(workspace.landing.rglob(".part-*"))
    # AND once space is freed the same run lands it
    (workspace.landing / "filler").unlink()
    workspace.extract("aws_cur", ("2025-01",))
    assert landed(workspace.landing) == before


def test_disk_full_in_the_middle_of_a_ledger_line_leaves_no_torn_line(workspace, monkeypatch):
    # GIVEN a disk that takes 100 bytes of the next write and then is full
    lines = ledger_lines(workspace.landing)
    real_write = os.write

    def short_then_full(fd, data):
        if len(data) > 100:
            return real_write(fd, bytes(data[:100]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(landing_module.os, "write", short_then_full)
    record = LoadRecord("aws_cur", "line_items", "month=2025-01", [], 1, "x", "f", "loaded")
    # WHEN a load is appended to the ledger
    with pytest.raises(OSError):
        append_ledger(workspace.landing, record)
    monkeypatch.undo()
    # THEN the ledger holds exactly its earlier lines, each a whole record
    assert ledger_lines(workspace.landing) == lines
    assert len(read_ledger(workspace.landing)) == len(lines)


def test_disk_full_while_copying_the_warehouse_fails_clearly_and_publishes_nothing(
    workspace, tiny_disk
):
    # GIVEN the published warehouse on a disk with room for it but not a copy
    from transform.build import build

    copy = workspace.root / "warehouse-copy"
    shutil.copytree(workspace.warehouse.parent, copy)
    shutil.rmtree(workspace.warehouse.parent)
    size = copy.joinpath(workspace.warehouse.name).stat().st_size
    tiny_disk(workspace.warehouse.parent, str(size + 2 * 1024 * 1024))
    shutil.copyfile(copy / workspace.warehouse.name, workspace.warehouse)
    before = sha256(workspace.warehouse)
    # WHEN a build starts
    with workspace.active(), pytest.raises(OSError) as failure:
        build("disk-full")
    # THEN the error says the disk is full, the published warehouse is the
    # same bytes, and no partial copy is left to eat the space
    assert failure.value.errno == errno.ENOSPC
    assert sha256(workspace.warehouse) == before
    builds = workspace.warehouse.parent / ".build"
    assert not (builds / "disk-full" / "ai_carbon.duckdb").exists()
    assert not (builds / "dbt-working" / "ai_carbon.duckdb").exists()
