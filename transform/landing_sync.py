"""Mirror a landing zone on S3 or GCS into the build's scratch folder, for dbt to read.

dbt reads the landing as local Parquet files (DuckDB's ``read_parquet`` and
``read_json_auto`` over a folder; the httpfs extension is not assumed). When
``AI_CARBON_LANDING`` is an ``s3://`` or ``gs://`` URL, the build first brings
the landing zone's current state into ``<build scratch>/landing`` in exactly
the layout of a local landing folder, and dbt runs on that mirror:

- each partition's pointer (``.../<partition>/_current.json``) names the object
  that is visible now; it is downloaded to ``.../<partition>/part-0.parquet``,
  its sha256 checked against the pointer, then renamed into place. A hidden
  note beside it keeps the pointer's ETag (its generation on GCS), so a
  partition whose pointer did not change is not read again: a nightly sync
  costs one listing plus the changed partitions;
- partitions (and quarantine partitions) without a pointer any more are
  removed from the mirror;
- the ledger's records (one object each) are appended to
  ``_ledger/loads.jsonl``, only the new ones, with the same fields.

The mirror is private to the builds on this machine (they hold the writer
lock while they sync). Never writes to the object store and never opens the
warehouse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from extractors.errors import SourceError
from extractors.landing import (
    DATA_FILE,
    LEDGER_RELATIVE,
    OBJECT_LEDGER_FOLDER,
    POINTER,
    ObjectLanding,
)
from extractors.object_store import checked_key
from extractors.settings import Settings, is_remote

log = logging.getLogger(__name__)

MIRROR_FOLDER = "landing"
# Beside each mirrored part-0.parquet: the pointer it came from and the pointer's ETag.
MIRROR_NOTE = ".mirrored.json"
# Beside the mirrored ledger: the record objects already in it, one key a line.
LEDGER_KEYS = ".record-keys"


@dataclass
class SyncResult:
    """What one sync did: partitions copied, kept as they were, removed; new records."""

    copied: list[str] = field(default_factory=list)
    kept: int = 0
    removed: list[str] = field(default_factory=list)
    records: int = 0

    def describe(self) -> str:
        return (
            f"{len(self.copied)} partition(s) copied, {self.kept} unchanged, "
            f"{len(self.removed)} removed, {self.records} new ledger record(s)"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sync(url: str, mirror: Path, landing: ObjectLanding | None = None) -> SyncResult:
    """Make ``mirror`` hold the current partitions and the ledger of the landing at ``url``."""
    landing = landing or ObjectLanding.from_url(url)
    prefix = landing.prefix
    listing = landing.store.list(landing.bucket, prefix)
    suffix = f"/{POINTER}"
    pointers = {
        info.key[len(prefix) : -len(suffix)]: info for info in listing if info.key.endswith(suffix)
    }
    result = SyncResult()
    for rel, info in sorted(pointers.items()):
        checked_key(landing.bucket, rel)  # never a path outside the mirror
        if _sync_partition(landing, rel, info.etag, mirror / rel):
            result.copied.append(rel)
        else:
            result.kept += 1
    for note in sorted(mirror.rglob(MIRROR_NOTE)):
        rel = note.parent.relative_to(mirror).as_posix()
        if rel not in pointers:
            _remove(mirror, note.parent)
            result.removed.append(rel)
    ledger_folder = f"{prefix}{OBJECT_LEDGER_FOLDER}/"
    keys = [info.key for info in listing if info.key.startswith(ledger_folder)]
    result.records = _sync_ledger(landing, keys, mirror)
    return result


def _sync_partition(landing: ObjectLanding, rel: str, etag: str, folder: Path) -> bool:
    """Bring one partition up to its pointer; True when bytes were downloaded."""
    note = folder / MIRROR_NOTE
    target = folder / DATA_FILE
    held = _read_json(note)
    if held.get("etag") == etag and target.is_file():
        return False
    pointer = landing.pointer(rel)
    if pointer is None:
        # Removed since the listing: the next sync removes it here too.
        return False
    if held.get("sha256") == pointer["sha256"] and target.is_file():
        _write_text(note, json.dumps({"etag": etag, **pointer}, sort_keys=True))
        return False
    incoming = folder / f".{DATA_FILE}.incoming"
    landing.store.download(landing.bucket, landing.prefix + pointer["object"], incoming)
    if _sha256(incoming) != pointer["sha256"]:
        incoming.unlink(missing_ok=True)
        raise SourceError(
            f"{landing.url(pointer['object'])} does not have the sha256 its pointer states; "
            "nothing was mirrored for it: land the partition again"
        )
    os.replace(incoming, target)
    _write_text(note, json.dumps({"etag": etag, **pointer}, sort_keys=True))
    log.info("mirrored %s (%d rows)", rel, pointer["rows"])
    return True


def _remove(mirror: Path, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    # Empty parents go too (a dataset whose last partition went), never the mirror.
    parent = folder.parent
    while parent != mirror and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _sync_ledger(landing: ObjectLanding, keys: list[str], mirror: Path) -> int:
    """Append the new records to the mirrored ledger; return how many were new."""
    ledger = mirror / LEDGER_RELATIVE
    keys_file = ledger.parent / LEDGER_KEYS
    have = keys_file.read_text(encoding="utf-8").split() if keys_file.is_file() else []
    lines = ledger.read_text(encoding="utf-8").splitlines() if ledger.is_file() else []
    if len(lines) != len(have) or not set(have) <= set(keys):
        # Cut short, or records removed upstream: rebuild it whole.
        have, lines = [], []
    known = set(have)
    new = [key for key in sorted(keys) if key not in known]
    if not new and ledger.is_file():
        return 0
    records = landing.read_records(new)
    lines += [json.dumps(record, sort_keys=True) for record in records]
    _write_text(ledger, "".join(line + "\n" for line in lines))
    _write_text(keys_file, "".join(key + "\n" for key in [*have, *new]))
    return len(new)


def landing_for_dbt(settings: Settings, scratch: Path) -> Settings:
    """``settings`` with the landing dbt reads: as it is when local; when on S3
    or GCS, the mirror under ``scratch``, synced now. Call with the writer lock held."""
    from transform.build import check_dbt_paths

    if not is_remote(settings.landing):
        return settings
    mirrored = dataclasses.replace(settings, landing=scratch / MIRROR_FOLDER)
    check_dbt_paths(mirrored)  # dbt puts the mirror's path into SQL
    result = sync(str(settings.landing), mirrored.landing)
    log.info("landing %s mirrored: %s", settings.landing, result.describe())
    return mirrored
