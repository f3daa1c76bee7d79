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
import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.errors import SourceError

LEDGER_RELATIVE = Path("_ledger") / "loads.jsonl"
QUARANTINE_FOLDER = "_quarantine"
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("dataset", pa.string()),
        ("partition", pa.string()),
        ("file", pa.string()),  # as in _source_file: a path under the sources folder, or a URL
        ("line_number", pa.int64()),  # null for sources without lines (HTTP APIs)
        ("field", pa.string()),  # null when the whole line is at fault
        ("reason", pa.string()),
        ("raw", pa.string()),  # the line (or record) as delivered
    ]
)
# How many quarantine reasons a load logs; the rest are in the quarantine table.
QUARANTINE_LOGGED = 5

log = logging.getLogger(__name__)


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
    # Rows set aside in landing/_quarantine/... instead of landed (see Quarantine).
    quarantined: int = 0


def checksum_files(paths: Iterable[Path]) -> str:
    """sha256 over the bytes of the given files, taken in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: str(p)):
        digest.update(str(path.name).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def distinct_files(files: list[Path]) -> list[Path]:
    """``files`` less any whose bytes repeat an earlier one's, each logged.

    For sources that read every file of a folder: an export saved twice
    (``export.csv`` and ``export (1).csv``) must not count its rows twice.
    """
    kept: dict[str, Path] = {}
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        first = kept.setdefault(digest.hexdigest(), path)
        if first is not path:
            log.warning("%s has the same bytes as %s: read once", path, first.name)
    return list(kept.values())


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
    line = memoryview((json.dumps(asdict(record), sort_keys=True) + "\n").encode("utf-8"))
    # Unbuffered writes, so that a failed append can be undone exactly.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        try:
            while line:
                line = line[os.write(fd, line) :]
            os.fsync(fd)
        except OSError:
            # A full disk can take half a line: cut it off, or every later
            # read of the ledger (and dbt's) would fail on it.
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)  # also releases the lock


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


class Quarantine:
    """The bad rows of one partition, set aside with the reason instead of failing the load.

    A parser calls ``add`` for a line it cannot land (wrong field count, a value
    it would have to guess at) and goes on with the next line; ``land`` then
    writes them to ``landing/_quarantine/<source>/<dataset>/<partition>/`` and
    counts them in the ledger. Structural problems (no header, a missing
    required column) still fail the whole load: they are not one bad line.
    """

    def __init__(self, source: str, dataset: str, partition: str) -> None:
        self.source = source
        self.dataset = dataset
        self.partition = partition
        self.rows: list[dict] = []

    def add(
        self,
        file: str,
        reason: str,
        *,
        line_number: int | None = None,
        field: str | None = None,
        raw: str | None = None,
    ) -> None:
        self.rows.append(
            {
                "source": self.source,
                "dataset": self.dataset,
                "partition": self.partition,
                "file": file,
                "line_number": line_number,
                "field": field,
                "reason": reason,
                "raw": raw,
            }
        )

    def __len__(self) -> int:
        return len(self.rows)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=QUARANTINE_SCHEMA)


def quarantine_file(landing: Path, source: str, dataset: str, partition: str) -> Path:
    """landing/_quarantine/<source>/<dataset>/<partition>/part-0.parquet."""
    return partition_dir(landing / QUARANTINE_FOLDER, source, dataset, partition) / "part-0.parquet"


def write_quarantine(
    landing: Path, source: str, dataset: str, partition: str, table: pa.Table
) -> Path | None:
    """Replace a partition's quarantine atomically, as ``write_partition`` does.

    A clean load (no bad rows) removes the quarantine partition left by an
    earlier load of the same partition, so what is in quarantine is always
    what the partition as landed now left out. Returns the file, or None.
    """
    if table.num_rows:
        return write_partition(landing / QUARANTINE_FOLDER, source, dataset, partition, table)
    target = quarantine_file(landing, source, dataset, partition)
    if target.exists():
        target.unlink()
        _fsync_dir(target.parent)
        # Empty folders go too, up to (not including) _quarantine itself.
        for folder in (target.parent, target.parent.parent, target.parent.parent.parent):
            try:
                folder.rmdir()
            except OSError:
                break
    return None


def _quarantined_rows(landing: Path, source: str, dataset: str, partition: str) -> int:
    target = quarantine_file(landing, source, dataset, partition)
    return pq.read_metadata(target).num_rows if target.exists() else 0


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
    quarantine: Quarantine | None = None,
) -> LoadRecord:
    """Land one partition from ``files`` unless they are unchanged since last load.

    ``build_table`` is called only when the files changed (or ``force``); it
    parses and validates them and returns the Arrow table to write, putting
    any bad rows into ``quarantine``. If it raises, nothing is written and
    the ledger is untouched.
    """
    checksum = checksum_files(files)
    rel_files = [str(f.relative_to(relative_to)) for f in sorted(files, key=str)]
    _refuse_emptying_by_empty_files(landing, source, dataset, partition, files, rel_files)
    return _land(
        landing, source, dataset, partition, rel_files, checksum, build_table, force, quarantine
    )


def _refuse_emptying_by_empty_files(
    landing: Path, source: str, dataset: str, partition: str, files: list[Path], rels: list[str]
) -> None:
    """A delivery of 0-byte files never replaces a partition that holds rows.

    An interrupted copy or download leaves 0-byte files; landing them would
    replace a month with nothing, silently. A month that really has no rows
    is still landed empty when nothing was landed for it before.
    """
    if not files or any(path.stat().st_size for path in files):
        return
    target = partition_dir(landing, source, dataset, partition) / "part-0.parquet"
    held = pq.read_metadata(target).num_rows if target.exists() else 0
    if held:
        raise SourceError(
            f"{', '.join(rels)}: 0 bytes, but {source}/{dataset} {partition} holds {held} "
            "landed rows; an interrupted delivery? Nothing was changed: deliver the file again "
            "(or, if the month really has no rows, remove the landed partition first)"
        )


def table_checksum(*tables: pa.Table) -> str:
    """sha256 over the tables' Arrow IPC bytes: the same rows give the same sum."""
    digest = hashlib.sha256()
    for table in tables:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table.combine_chunks())
        digest.update(sink.getvalue())
    return digest.hexdigest()


def land_table(
    landing: Path,
    *,
    source: str,
    dataset: str,
    partition: str,
    inputs: list[str],
    table: pa.Table,
    quarantine: Quarantine | None = None,
    force: bool = False,
) -> LoadRecord:
    """Land a table fetched from a live source (an HTTP API, a command).

    There are no files to checksum, so the checksum is taken over what was
    fetched (the table and its quarantine): a rerun that fetched the same rows
    records ``unchanged`` and leaves the partition as it is. ``inputs`` names
    what was read (URLs without credentials, commands) for the ledger.
    """
    tables = [table] if quarantine is None else [table, quarantine.table()]
    checksum = table_checksum(*tables)
    return _land(
        landing, source, dataset, partition, inputs, checksum, lambda: table, force, quarantine
    )


def _land(
    landing: Path,
    source: str,
    dataset: str,
    partition: str,
    rel_files: list[str],
    checksum: str,
    build_table,
    force: bool,
    quarantine: Quarantine | None,
) -> LoadRecord:
    target = partition_dir(landing, source, dataset, partition) / "part-0.parquet"
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
            quarantined=_quarantined_rows(landing, source, dataset, partition),
        )
        append_ledger(landing, record)
        return record
    table = build_table()
    written = write_partition(landing, source, dataset, partition, table)
    quarantined = 0
    if quarantine is not None:
        quarantined = len(quarantine)
        write_quarantine(landing, source, dataset, partition, quarantine.table())
        if quarantined:
            _log_quarantine(quarantine, landing)
    record = LoadRecord(
        source,
        dataset,
        partition,
        rel_files,
        table.num_rows,
        checksum,
        str(written.relative_to(landing)),
        "loaded",
        quarantined=quarantined,
    )
    append_ledger(landing, record)
    return record


def _log_quarantine(quarantine: Quarantine, landing: Path) -> None:
    target = quarantine_file(landing, quarantine.source, quarantine.dataset, quarantine.partition)
    log.warning(
        "%s/%s %s: %d row(s) quarantined in %s",
        quarantine.source,
        quarantine.dataset,
        quarantine.partition,
        len(quarantine),
        target.relative_to(landing),
    )
    for row in quarantine.rows[:QUARANTINE_LOGGED]:
        where = (
            row["file"]
            if row["line_number"] is None
            else f"{row['file']}, line {row['line_number']}"
        )
        if row["field"]:
            where += f", field {row['field']}"
        log.warning("  %s: %s", where, row["reason"])
