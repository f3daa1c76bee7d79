"""What a nightly build runs: the nodes downstream of what changed since the
published warehouse was built.

A build starts from a copy of the published warehouse, so the models and
tests whose inputs did not change since then hold what a build would give
them again. dbt selects the rest with its own graph operators:

* ``state:modified+``: every seed, model, test, macro or config that differs
  from the manifest of the build that was published, and everything after it
  (dbt compares a seed's contents when the file is under 1 MiB, its path
  only above: every seed is under it, tests/test_nightly_selection.py);
* ``source:<source>.<table>+``: every source whose files changed, and
  everything after it.

A source's files are the glob of its ``external_location`` in the manifest
of the published build (the landing partitions, the ledger, the quarantine,
the frozen disclosures; a source defined otherwise since, or new, is
``state:modified`` and selected whatever its files; for a first build, the
manifest of the project parsed before it), fingerprinted by path, size,
modification time and inode: a landed partition is written whole and renamed
into place, so a new or re-delivered one changes its fingerprint. The
fingerprints are taken before dbt starts: files that change while it runs
differ from them, and the next build selects them again.

Everything is built (``None``) when there is nothing to compare with: a
first build, a published warehouse whose record holds no fingerprints (built
before this), no manifest of the published build, or another version of
dbt, its DuckDB adapter or DuckDB than the one that built it (another
version may materialise or compute otherwise, and dbt may not read an older
manifest). transform/build.py builds everything too on ``--full-refresh``,
and when the published warehouse is not the file its record names (its
inode, size and modification time: a backup put in place by hand).

Never imports Airflow.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from pathlib import Path

# The first quoted path of a source's location: read_parquet('<glob>', ...),
# read_json_auto('<glob>') (dbt_project/models/staging/*/_*__sources.yml).
_QUOTED = re.compile(r"'([^']*)'")


def source_files_pattern(source: dict) -> str | None:
    """The glob of the files a source reads, or None when it reads no files."""
    location = source.get("config", {}).get("external_location") or source.get("external_location")
    found = _QUOTED.search(location or "")
    if found is None:
        return None
    identifier = source.get("identifier") or source["name"]
    return found.group(1).replace("{name}", identifier).replace("{identifier}", identifier)


def source_fingerprints(manifest: dict) -> dict[str, str]:
    """Each source's fingerprint: its location and the files its glob matches."""
    fingerprints = {}
    for unique_id, source in sorted(manifest.get("sources", {}).items()):
        pattern = source_files_pattern(source)
        digest = hashlib.sha256(repr(pattern).encode())
        if pattern is None:
            # reads no file dbt can see: never taken as unchanged
            digest.update(os.urandom(16))
        else:
            for path in sorted(glob.glob(pattern)):
                try:
                    stat = os.stat(path)
                except FileNotFoundError:  # replaced while listing: it changed
                    digest.update(os.urandom(16))
                    continue
                digest.update(
                    f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\n".encode()
                )
        fingerprints[unique_id] = digest.hexdigest()
    return fingerprints


def tool_versions() -> dict[str, str]:
    """The versions of what builds the warehouse: dbt, its adapter, DuckDB."""
    from importlib import metadata

    return {name: metadata.version(name) for name in ("dbt-core", "dbt-duckdb", "duckdb")}


def build_record(fingerprints: dict[str, str]) -> dict:
    """What a build keeps for the next one to compare with: its sources'
    fingerprints and the versions that built it."""
    return {"sources": fingerprints, "versions": tool_versions()}


def changed_sources(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """The sources whose fingerprint differs from the published build's (or new ones)."""
    return sorted(uid for uid, fingerprint in current.items() if previous.get(uid) != fingerprint)


def nightly_selection(
    published: dict, current: dict[str, str], published_manifest_exists: bool
) -> list[str] | None:
    """``dbt build --select`` arguments for a build on the published warehouse,
    or None to build everything.

    ``published`` is the published warehouse's record (``build_record``, kept
    by transform/build.py publish()): the fingerprints its build started from
    and the versions that built it.
    """
    previous = published.get("sources")
    if not isinstance(previous, dict) or not published_manifest_exists:
        return None
    if published.get("versions") != tool_versions():
        return None
    selectors = ["state:modified+"]
    for unique_id in changed_sources(previous, current):
        # source.<project>.<source name>.<table name>
        _, _, source_name, table_name = unique_id.split(".", 3)
        selectors.append(f"source:{source_name}.{table_name}+")
    return selectors


def read_manifest(path: Path) -> dict | None:
    """The published build's manifest, read once: what dbt compares with and
    where the sources' globs are. None when it is missing or not a manifest
    (cut short, or no nodes and sources): the build then builds every node."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not {"nodes", "sources"} <= manifest.keys():
        return None
    return manifest


def selection_arguments(published: dict, current: dict[str, str], state: Path | None) -> list[str]:
    """What to add to ``dbt build``: ``--select`` the selection and ``--state``
    the folder of the published build's manifest (``state``: None when there
    is no manifest to compare with), or nothing (build everything)."""
    selection = nightly_selection(published, current, state is not None)
    if selection is None or state is None:
        return []
    return ["--select", *selection, "--state", str(state)]
