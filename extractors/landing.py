"""The landing zone: atomic, whole-partition Parquet writes and the load ledger.

The landing zone (``AI_CARBON_LANDING``) is a local folder or an
``s3://bucket/prefix`` or ``gs://bucket/prefix`` URL; all hold the same
partitions, ledger records and quarantine, and a reader sees the old
partition or the new one, never a mix.
Reruns replace a partition whole, so a redelivery never duplicates rows, and
an unchanged delivery is recognised by its checksum and not written again.

Local folder (``LocalLanding``): a partition's file is written under a hidden
name beside its final place and renamed over it, so a crash half-way leaves
the old one in place; the ledger is ``_ledger/loads.jsonl``, appended under
``flock``; quarantined rows go to ``_quarantine/<source>/<dataset>/<partition>/``.

S3 or GCS (``ObjectLanding``, over the store's ``LandingObjects``: ``S3Store``
or ``GcsStore``): an object store has no rename, so a partition is written as
a new object under a unique attempt prefix,
``<source>/<dataset>/<partition>/_attempts/<attempt>/part-0.parquet``, and made
visible by writing one small pointer last,
``<source>/<dataset>/<partition>/_current.json`` (which object, its rows,
sha256 and the inputs' checksum). A PUT is atomic, so readers that follow the
pointer see the old partition or the new one; a crash before the pointer
leaves the old one visible and an orphan attempt that a later write of the
partition deletes (once older than ATTEMPT_GRACE: a younger one may be a
concurrent write of the same partition whose pointer is yet to come). The
ledger is one object per load record, ``_ledger/loads/<time>-<load_id>.json``
(no lock: the listing is the ledger), and quarantine is written the same way
under ``_quarantine/``. On GCS the writes also carry generation preconditions:
attempts and records are created only where no object is, and the pointer is
replaced (or deleted) only if it is still the one the load compared its
checksum with, so of two concurrent writes of a partition the second fails,
retryably, instead of silently replacing the first. dbt never reads the
object store: the build mirrors the current partitions first
(``transform/landing_sync.py``).

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
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.errors import SourceError, SourceUnavailable
from extractors.settings import is_remote

if TYPE_CHECKING:
    from extractors.object_store import LandingObjects

LEDGER_RELATIVE = Path("_ledger") / "loads.jsonl"
QUARANTINE_FOLDER = "_quarantine"
# In an object store: the pointer that makes a partition visible, the folder
# of its attempts, and the folder of the ledger's records (one object per load).
POINTER = "_current.json"
ATTEMPTS = "_attempts"
OBJECT_LEDGER_FOLDER = "_ledger/loads"
S3_LEDGER_FOLDER = OBJECT_LEDGER_FOLDER  # the name from when S3 was the only store
DATA_FILE = "part-0.parquet"
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
    """A local landing's partition folder, e.g. landing/aws_cur/line_items/month=2025-01."""
    return landing / source / dataset / partition


def partition_rel(source: str, dataset: str, partition: str) -> str:
    """A partition's place relative to the landing zone, e.g. aws_cur/line_items/month=2025-01."""
    return f"{source}/{dataset}/{partition}"


def write_partition(
    landing: Path | str, source: str, dataset: str, partition: str, table: pa.Table
) -> Path | str:
    """Replace one partition with ``table`` atomically; return the file (or object URL)."""
    return landing_store(landing).write(partition_rel(source, dataset, partition), table)


@dataclass
class TableParts:
    """A partition built part by part (a file, a record batch), written as it comes.

    ``build_table`` may return this instead of one table, so that a month of
    many chunks is never held whole: each part is cast to ``schema`` (the
    schema every part lands as, e.g. ``pyarrow.unify_schemas`` of the parts'
    schemas with ``promote_options="permissive"``; a column a part lacks is
    null), written, and let go before the next is built. A part that raises
    fails the load as a table would: the partition written so far is thrown
    away and the landed one is left as it was.
    """

    schema: pa.Schema
    parts: Iterable[pa.Table]
    rows: int = 0  # counted as the parts are written

    def __iter__(self) -> Iterator[pa.Table]:
        for part in self.parts:
            yield as_schema(part, self.schema)


def as_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, in its order: each cast to its
    type, a missing one null (what ``concat_tables(promote_options="permissive")``
    does with the same schemas)."""
    if table.schema.equals(schema):
        return table
    try:
        columns = [
            table[f.name].cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in schema
        ]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SourceError(f"a part does not fit the partition's schema: {exc}") from None
    return pa.Table.from_arrays(columns, schema=schema)


def _write_parquet(path: Path, data: pa.Table | TableParts) -> int:
    """Write a table, or the parts of one, to a Parquet file; return its rows."""
    if isinstance(data, pa.Table):
        pq.write_table(data, path, compression="zstd")
        return data.num_rows
    data.rows = 0
    with pq.ParquetWriter(path, data.schema, compression="zstd") as writer:
        for part in data:
            writer.write_table(part)
            data.rows += part.num_rows
    return data.rows


def _write_local_partition(final_dir: Path, table: pa.Table | TableParts) -> Path:
    """Replace the file of the partition folder ``final_dir`` with ``table``.

    The new file is written beside the old one under a hidden name that no
    ``*.parquet`` glob matches, then renamed over it: a rename of one file is
    atomic, so a reader (or a crash) sees the old file or the new one, never a
    partition without its file and never a stray folder in the Hive layout.

    An empty table still lands (zero rows), so "the month had nothing" is a
    recorded fact rather than a missing folder.
    """
    final_dir.mkdir(parents=True, exist_ok=True)
    final_file = final_dir / DATA_FILE
    tmp_file = final_dir / f".part-0.parquet.{uuid.uuid4().hex}.tmp"
    try:
        _write_parquet(tmp_file, table)
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


def append_ledger(landing: Path | str, record: LoadRecord) -> None:
    """Record one load in the ledger (safe beside parallel extract tasks)."""
    landing_store(landing).append(record)


def read_ledger(landing: Path | str) -> list[dict]:
    """Every load record, oldest first."""
    return landing_store(landing).records()


def last_checksum(landing: Path | str, source: str, dataset: str, partition: str) -> str | None:
    """Checksum of the last successful load of this partition, if any."""
    return landing_store(landing).checksum(source, dataset, partition)


def landed_checksum(landing: Path | str, source: str, dataset: str, partition: str) -> str | None:
    """The inputs' checksum of the partition as landed now; None when it is not landed."""
    store = landing_store(landing)
    if store.rows(partition_rel(source, dataset, partition)) is None:
        return None
    return store.checksum(source, dataset, partition)


def _append_local_ledger(landing: Path, record: LoadRecord) -> None:
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


def _read_local_ledger(landing: Path) -> list[dict]:
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


def _last_local_checksum(landing: Path, source: str, dataset: str, partition: str) -> str | None:
    for record in reversed(_read_local_ledger(landing)):
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


def quarantine_rel(source: str, dataset: str, partition: str) -> str:
    return f"{QUARANTINE_FOLDER}/{partition_rel(source, dataset, partition)}"


def write_quarantine(
    landing: Path | str, source: str, dataset: str, partition: str, table: pa.Table
) -> Path | str | None:
    """Replace a partition's quarantine atomically, as ``write_partition`` does.

    A clean load (no bad rows) removes the quarantine partition left by an
    earlier load of the same partition, so what is in quarantine is always
    what the partition as landed now left out. Returns the file, or None.
    """
    store = landing_store(landing)
    rel = quarantine_rel(source, dataset, partition)
    if table.num_rows:
        return store.write(rel, table)
    store.remove(rel)
    return None


def _remove_local_partition(landing: Path, rel: str) -> None:
    target = landing / rel / DATA_FILE
    if target.exists():
        target.unlink()
        _fsync_dir(target.parent)
        # Empty folders go too, up to (not including) _quarantine itself.
        for folder in (target.parent, target.parent.parent, target.parent.parent.parent):
            try:
                folder.rmdir()
            except OSError:
                break


def land(
    landing: Path | str,
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
    parses and validates them and returns the Arrow table to write, or a
    ``TableParts`` to write part by part in bounded memory, putting any bad
    rows into ``quarantine``. If it (or a part) raises, nothing is written
    and the ledger is untouched.
    """
    checksum = checksum_files(files)
    rel_files = [str(f.relative_to(relative_to)) for f in sorted(files, key=str)]
    _refuse_emptying_by_empty_files(landing, source, dataset, partition, files, rel_files)
    return _land(
        landing, source, dataset, partition, rel_files, checksum, build_table, force, quarantine
    )


def _refuse_emptying_by_empty_files(
    landing: Path | str,
    source: str,
    dataset: str,
    partition: str,
    files: list[Path],
    rels: list[str],
) -> None:
    """A delivery of 0-byte files never replaces a partition that holds rows.

    An interrupted copy or download leaves 0-byte files; landing them would
    replace a month with nothing, silently. A month that really has no rows
    is still landed empty when nothing was landed for it before.
    """
    if not files or any(path.stat().st_size for path in files):
        return
    held = landing_store(landing).rows(partition_rel(source, dataset, partition)) or 0
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
    landing: Path | str,
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
    landing: Path | str,
    source: str,
    dataset: str,
    partition: str,
    rel_files: list[str],
    checksum: str,
    build_table,
    force: bool,
    quarantine: Quarantine | None,
) -> LoadRecord:
    store = landing_store(landing)
    rel = partition_rel(source, dataset, partition)
    landed_file = f"{rel}/{DATA_FILE}"
    # The checksum is read before the rows: a concurrent load of the month
    # writes its file before its ledger record, so the rows read next are never
    # older than the checksum (read the other way round, a load could record
    # `unchanged` with the rows of the file the other one had just replaced).
    landed_checksum = store.checksum(source, dataset, partition)
    # On GCS the write below replaces the pointer only if it is still the one
    # this decision was taken on (a concurrent load of the month fails it).
    held, version = store.held(rel)
    if not force and held is not None and landed_checksum == checksum:
        record = LoadRecord(
            source,
            dataset,
            partition,
            rel_files,
            held,
            checksum,
            landed_file,
            "unchanged",
            quarantined=store.rows(quarantine_rel(source, dataset, partition)) or 0,
        )
        store.append(record)
        return record
    table = build_table()
    store.write(rel, table, checksum, replaces=version)
    rows = table.num_rows if isinstance(table, pa.Table) else table.rows
    quarantined = 0
    if quarantine is not None:
        quarantined = len(quarantine)
        write_quarantine(landing, source, dataset, partition, quarantine.table())
        if quarantined:
            _log_quarantine(quarantine)
    record = LoadRecord(
        source,
        dataset,
        partition,
        rel_files,
        rows,
        checksum,
        landed_file,
        "loaded",
        quarantined=quarantined,
    )
    store.append(record)
    return record


def _log_quarantine(quarantine: Quarantine) -> None:
    rel = quarantine_rel(quarantine.source, quarantine.dataset, quarantine.partition)
    log.warning(
        "%s/%s %s: %d row(s) quarantined in %s",
        quarantine.source,
        quarantine.dataset,
        quarantine.partition,
        len(quarantine),
        f"{rel}/{DATA_FILE}",
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


# ---------------------------------------------------------------------------
# The two landing stores. ``rel`` is a partition's place relative to the
# landing zone: "<source>/<dataset>/<partition>" or the same under _quarantine/.


def landing_store(landing: Path | str) -> LocalLanding | ObjectLanding:
    """The store of a landing setting: a local folder, or an ``s3://`` or ``gs://`` URL."""
    if is_remote(landing):
        return ObjectLanding.from_url(str(landing))
    return LocalLanding(Path(landing))


class LocalLanding:
    """A landing folder on this machine: rename for atomicity, a flock'ed ledger."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(
        self,
        rel: str,
        table: pa.Table | TableParts,
        checksum: str | None = None,
        replaces: None = None,
    ) -> Path:
        # The checksum lives in the ledger record the caller appends next; the
        # rename needs no version (parallel loads of one month: the last wins).
        return _write_local_partition(self.root / rel, table)

    def remove(self, rel: str) -> None:
        _remove_local_partition(self.root, rel)

    def rows(self, rel: str) -> int | None:
        target = self.root / rel / DATA_FILE
        return pq.read_metadata(target).num_rows if target.exists() else None

    def held(self, rel: str) -> tuple[int | None, None]:
        """The partition's rows (None: not landed), and no version."""
        return self.rows(rel), None

    def checksum(self, source: str, dataset: str, partition: str) -> str | None:
        return _last_local_checksum(self.root, source, dataset, partition)

    def append(self, record: LoadRecord) -> None:
        _append_local_ledger(self.root, record)

    def records(self) -> list[dict]:
        return _read_local_ledger(self.root)


# An attempt that no pointer names is deleted only once it is this old: a
# younger one may be another task's write of the same partition still in
# flight (a backfill beside the nightly run), whose pointer is yet to come.
ATTEMPT_GRACE = dt.timedelta(hours=1)
_ATTEMPT_TIME = "%Y%m%dT%H%M%S%fZ"


def _attempt_id() -> str:
    """Unique and in time order: UTC time to the microsecond, then random."""
    return f"{dt.datetime.now(dt.UTC):{_ATTEMPT_TIME}}-{uuid.uuid4().hex[:12]}"


def _attempt_is_old(attempt: str) -> bool:
    try:
        started = dt.datetime.strptime(attempt.split("-")[0], _ATTEMPT_TIME)
    except ValueError:
        return True  # not one of ours: nothing can be waiting for it
    return dt.datetime.now(dt.UTC) - started.replace(tzinfo=dt.UTC) > ATTEMPT_GRACE


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# One client per process, store and environment: building a boto3 session or
# a Google client costs more than the few requests of a load. Clients are
# thread-safe, and refreshable credentials (roles, SSO, ADC) renew themselves.
_STORES: dict[tuple, LandingObjects] = {}
_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


_GOOGLE_VARIABLES = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "STORAGE_EMULATOR_HOST",
    "CLOUDSDK_CONFIG",
)


def _shared_store(scheme: str = "s3") -> LandingObjects:
    """The process's store for ``scheme``, made on first use in this environment."""
    variables = _GOOGLE_VARIABLES if scheme == "gs" else _AWS_VARIABLES
    key = (scheme, *(os.environ.get(name) for name in variables))
    if key not in _STORES:
        if scheme == "gs":
            from extractors.gcs_store import GcsStore

            _STORES[key] = GcsStore()
        else:
            from extractors.object_store import S3Store

            _STORES[key] = S3Store()
    return _STORES[key]


class ObjectLanding:
    """A landing zone under ``s3://`` or ``gs://<bucket>/<prefix>``: attempts, then a pointer.

    The store (``S3Store`` or ``GcsStore``) signs with its provider's default
    chain: boto3's (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL_S3``
    ...) or Google's Application Default Credentials (or an emulator at
    ``STORAGE_EMULATOR_HOST``), never with anything from the URL.
    """

    def __init__(self, bucket: str, prefix: str, store: LandingObjects | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix  # "" or "a/b/": keys are prefix + rel
        self.store = store or _shared_store("s3")

    @classmethod
    def from_url(cls, url: str, store: LandingObjects | None = None) -> ObjectLanding:
        from extractors.object_store import checked_key

        scheme, _, rest = url.partition("://")
        bucket, _, prefix = rest.partition("/")
        prefix = prefix.strip("/")
        if prefix:
            checked_key(bucket, prefix)  # no "..", "." or empty parts
        return cls(bucket, f"{prefix}/" if prefix else "", store or _shared_store(scheme))

    def url(self, rel: str) -> str:
        return f"{self.store.scheme}://{self.bucket}/{self.prefix}{rel}"

    def pointer(self, rel: str) -> dict | None:
        """The partition's pointer (what is visible), or None when none is."""
        return self._read_pointer(rel)[0]

    def _read_pointer(self, rel: str) -> tuple[dict | None, int | None]:
        """The pointer and, on a conditional store, its generation (0: none)."""
        key = f"{self.prefix}{rel}/{POINTER}"
        if not self.store.conditional:
            body = self.store.read_optional(self.bucket, key)
            return (None if body is None else json.loads(body)), None
        found = self.store.read_with_generation(self.bucket, key)
        return (None, 0) if found is None else (json.loads(found[0]), found[1])

    def _only_if(self, generation: int | None) -> dict[str, int]:
        """The precondition for a write, where the store can enforce one."""
        if generation is None or not self.store.conditional:
            return {}
        return {"if_generation_match": generation}

    def held(self, rel: str) -> tuple[int | None, int | None]:
        """The partition's rows (None: not landed) and, on GCS, its pointer's
        generation (0: none), for ``write(..., replaces=)``."""
        pointer, generation = self._read_pointer(rel)
        return (None if pointer is None else int(pointer["rows"])), generation

    def write(
        self,
        rel: str,
        table: pa.Table | TableParts,
        checksum: str | None = None,
        replaces: int | None = None,
    ) -> str:
        """Upload ``table`` as a new attempt, then point the partition at it.

        On GCS the pointer is replaced only if it is still generation
        ``replaces`` (from ``held``), or, without one, the generation read
        just before publishing."""
        attempt = _attempt_id()
        data_rel = f"{rel}/{ATTEMPTS}/{attempt}/{DATA_FILE}"
        with tempfile.TemporaryDirectory(prefix="ai-carbon-landing-") as scratch:
            path = Path(scratch) / DATA_FILE
            rows = _write_parquet(path, table)
            sha256, size = _sha256_file(path), path.stat().st_size
            self.store.put_file(self.bucket, f"{self.prefix}{data_rel}", path, **self._only_if(0))
        previous, generation = self._read_pointer(rel)
        self._publish(
            rel,
            {
                "object": data_rel,
                "rows": rows,
                "bytes": size,
                "sha256": sha256,
                "checksum": checksum,
                "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
            generation if replaces is None else replaces,
        )
        keep = {attempt}
        if previous:
            # A sync that read the old pointer a moment ago may still be
            # downloading its object: that one goes with the next write.
            keep.add(previous["object"].split("/")[-2])
        self._collect(rel, keep)
        return self.url(data_rel)

    def _publish(self, rel: str, pointer: dict, replaces: int | None = None) -> None:
        """The one write that makes an attempt the visible partition; on GCS only
        if the pointer is still generation ``replaces`` (0: still none)."""
        body = json.dumps(pointer, sort_keys=True).encode()
        self.store.put_bytes(
            self.bucket,
            f"{self.prefix}{rel}/{POINTER}",
            body,
            "application/json",
            **self._only_if(replaces),
        )

    def _collect(self, rel: str, keep: set[str], drop: frozenset[str] = frozenset()) -> None:
        """Delete the partition's attempts that are in ``drop``, or are not in
        ``keep`` and older than ATTEMPT_GRACE (crashed or replaced ones)."""
        folder = f"{self.prefix}{rel}/{ATTEMPTS}/"
        try:
            stale = []
            for info in self.store.list(self.bucket, folder):
                attempt = info.key[len(folder) :].split("/")[0]
                if attempt in drop or (attempt not in keep and _attempt_is_old(attempt)):
                    stale.append(info.key)
            if stale:
                self.store.delete(self.bucket, stale)
        except (SourceError, SourceUnavailable) as error:
            # The load itself succeeded; leftovers are only storage.
            log.warning(
                "old attempts under %s not deleted (%s); the next write retries", folder, error
            )

    def remove(self, rel: str) -> None:
        """Hide the partition (delete its pointer), then delete its attempts."""
        pointer, generation = self._read_pointer(rel)
        if pointer is None:
            return
        self.store.delete(
            self.bucket, [f"{self.prefix}{rel}/{POINTER}"], **self._only_if(generation)
        )
        self._collect(rel, set(), drop=frozenset({pointer["object"].split("/")[-2]}))

    def rows(self, rel: str) -> int | None:
        pointer = self.pointer(rel)
        return None if pointer is None else int(pointer["rows"])

    def checksum(self, source: str, dataset: str, partition: str) -> str | None:
        # The pointer holds the checksum of the load that wrote it: reading the
        # whole ledger (one object per load) for it would grow every night.
        pointer = self.pointer(partition_rel(source, dataset, partition))
        return None if pointer is None else pointer.get("checksum")

    def append(self, record: LoadRecord) -> None:
        key = f"{self.prefix}{OBJECT_LEDGER_FOLDER}/{_attempt_id()}-{record.load_id}.json"
        body = json.dumps(asdict(record), sort_keys=True).encode()
        self.store.put_bytes(self.bucket, key, body, "application/json", **self._only_if(0))

    def ledger_keys(self) -> list[str]:
        """The ledger's record objects, oldest first (their names start with the time)."""
        folder = f"{self.prefix}{OBJECT_LEDGER_FOLDER}/"
        return [info.key for info in self.store.list(self.bucket, folder)]

    def read_records(self, keys: list[str]) -> list[dict]:
        """The records behind ``keys``, in that order (read a few at a time)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = list(pool.map(lambda key: self.store.read_bytes(self.bucket, key), keys))
        return [json.loads(body) for body in bodies]

    def records(self) -> list[dict]:
        return self.read_records(self.ledger_keys())


# The name from when S3 was the only object store.
S3Landing = ObjectLanding
