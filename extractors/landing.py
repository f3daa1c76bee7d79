"""The landing zone: atomic, whole-partition Parquet writes and the load ledger.

A partition is written to a hidden temporary folder beside its final place and
then renamed over it, so a reader (dbt) sees the old partition or the new one,
never a mix, and a crash half-way leaves the old one in place. Reruns replace
the partition whole, so a redelivery never duplicates rows.

Never opens the warehouse.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LEDGER_RELATIVE = Path("_ledger") / "loads.jsonl"


@dataclass
class LoadRecord:
    """One line of the ledger: what was landed, from what, and when."""

    source: str
    dataset: str
    partition: str
    files: list[str]
    rows: int
    checksum: str
    landed_file: str
    status: str
    load_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    loaded_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )


def checksum_files(paths: Iterable[Path]) -> str:
    """sha256 over the bytes of the given files, taken in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: str(p)):
        digest.update(str(path.name).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def partition_dir(landing: Path, source: str, dataset: str, partition: str) -> Path:
    """The folder of one partition, e.g. landing/aws_cur/line_items/month=2025-01."""
    return landing / source / dataset / partition


def write_partition(
    landing: Path, source: str, dataset: str, partition: str, table: pa.Table
) -> Path:
    """Replace one partition with ``table`` atomically; return the file written.

    The new file is written beside the old one under a hidden name that no
    ``*.parquet`` glob matches, then renamed over it: a rename of one file is
    atomic, so a reader (or a crash) sees the old file or the new one, never a
    partition without its file and never a stray folder in the Hive layout.

    An empty table still lands (zero rows), so "the month had nothing" is a
    recorded fact rather than a missing folder.
    """
    final_dir = partition_dir(landing, source, dataset, partition)
    final_dir.mkdir(parents=True, exist_ok=True)
    final_file = final_dir / "part-0.parquet"
    tmp_file = final_dir / f".part-0.parquet.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, tmp_file, compression="zstd")
        with tmp_file.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_file, final_file)
    except BaseException:
        tmp_file.unlink(missing_ok=True)
        raise
    _fsync_dir(final_dir)
    return final_file


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def month_partition(month: str) -> str:
    """The partition name of a month, ``month=YYYY-MM``; ValueError for anything else."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"month must look like YYYY-MM, got {month!r}")
    return f"month={month}"


def ledger_path(landing: Path) -> Path:
    return landing / LEDGER_RELATIVE


def append_ledger(landing: Path, record: LoadRecord) -> None:
    """Append one record under an exclusive lock (parallel extract tasks)."""
    path = ledger_path(landing)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(json.dumps(asdict(record), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_ledger(landing: Path) -> list[dict]:
    path = ledger_path(landing)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        # Shared lock: a parallel task's append is never read half-written.
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            return [json.loads(line) for line in handle if line.strip()]
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def last_checksum(landing: Path, source: str, dataset: str, partition: str) -> str | None:
    """Checksum of the last successful load of this partition, if any."""
    for record in reversed(read_ledger(landing)):
        if (record["source"], record["dataset"], record["partition"]) == (
            source,
            dataset,
            partition,
        ) and record["status"] == "loaded":
            return record["checksum"]
    return None


def land(
    landing: Path,
    *,
    source: str,
    dataset: str,
    partition: str,
    files: list[Path],
    relative_to: Path,
    build_table,
    force: bool = False,
) -> LoadRecord:
    """Land one partition from ``files`` unless they are unchanged since last load.

    ``build_table`` is called only when the files changed (or ``force``); it
    parses and validates them and returns the Arrow table to write. If it
    raises, nothing is written and the ledger is untouched.
    """
    checksum = checksum_files(files)
    target = partition_dir(landing, source, dataset, partition) / "part-0.parquet"
    rel_files = [str(f.relative_to(relative_to)) for f in sorted(files, key=str)]
    if (
        not force
        and target.exists()
        and last_checksum(landing, source, dataset, partition) == checksum
    ):
        record = LoadRecord(
            source,
            dataset,
            partition,
            rel_files,
            pq.read_metadata(target).num_rows,
            checksum,
            str(target.relative_to(landing)),
            "unchanged",
        )
        append_ledger(landing, record)
        return record
    table = build_table()
    written = write_partition(landing, source, dataset, partition, table)
    record = LoadRecord(
        source,
        dataset,
        partition,
        rel_files,
        table.num_rows,
        checksum,
        str(written.relative_to(landing)),
        "loaded",
    )
    append_ledger(landing, record)
    return record
