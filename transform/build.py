"""Build the warehouse with dbt on a private copy, then publish it atomically.

The published file (``AI_CARBON_WAREHOUSE``, default
``warehouse/ai_carbon.duckdb``) is only ever replaced by a rename, so an
analyst's read-only connection sees the last published warehouse while a build
runs, and a build that fails or is killed leaves it exactly as it was.
One writer at a time: a file lock serialises builds on this machine (the
Airflow pool does the same across the scheduler's tasks). Builds are numbered
in the order they take the lock, and a build is never published over a newer
one: when two runs overlap (a backfill beside the nightly run), the published
warehouse always comes from the latest landing. A build runs only the nodes
after what changed since the published warehouse was built
(transform/nightly_selection.py; every node when that cannot be told).

Never imports Airflow.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extractors.settings import PROJECT_ROOT, Settings
from transform.nightly_selection import (
    build_record,
    read_manifest,
    selection_arguments,
    source_fingerprints,
)

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


# What a build runs: seeds, models and data tests. dbt's unit tests check the
# SQL against fixed inputs, not the data: they run in CI (`make test`), not
# every night (about 15 s of a 10M line-item nightly build). The data tests
# read the months the run changed (dbt_project/macros/tests_follow_months.sql).
NIGHTLY_BUILD = ["build", "--exclude-resource-type", "unit_test"]


class BuildError(RuntimeError):
    """dbt failed (a model or a test); the published warehouse is unchanged."""


class WriterBusy(RuntimeError):
    """Another build held the writer lock for too long; worth retrying later."""


def published_path() -> Path:
    value = Path(os.environ.get("AI_CARBON_WAREHOUSE") or "warehouse/ai_carbon.duckdb")
    return value if value.is_absolute() else PROJECT_ROOT / value


def disclosures_path() -> Path:
    """Frozen disclosure versions (transform/disclosure.py): outside the warehouse,
    which is rebuilt from landing every night; dbt reads them back as a source."""
    value = Path(os.environ.get("AI_CARBON_DISCLOSURES") or "disclosures")
    return value if value.is_absolute() else PROJECT_ROOT / value


def build_dir() -> Path:
    return published_path().parent / ".build"


def dbt_target_path() -> Path:
    """dbt's target folder (manifest, run results): beside the builds."""
    return build_dir() / "dbt-target"


def published_manifest() -> Path:
    """The manifest of the build that was published: what ``state:modified``
    compares the next build's project with (transform/nightly_selection.py)."""
    return build_dir() / "published-state" / "manifest.json"


def working_path() -> Path:
    """Where dbt builds, whatever the run: one path, so dbt's profile (which holds
    it) is the same from build to build and dbt parses the project partially
    (it parsed it whole, 5-6 s, on every build when each run built in a folder
    of its own). Builds hold the writer lock while dbt runs, so one at a time."""
    return build_dir() / "dbt-working" / published_path().name


# copy_file_range's answers when it cannot copy these two files at all: not
# between these filesystems (EXDEV), not in this kernel (ENOSYS), not for
# these files (EOPNOTSUPP, EINVAL). Another OS has no copy_file_range at all.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}


def copy_warehouse(source: Path, destination: Path) -> str:
    """Copy the published warehouse to where dbt builds; return how it was copied.

    Every build starts from a copy of the whole published warehouse, so the
    copy grows with history. It is made by the kernel (``copy_file_range``):
    on a filesystem with copy-on-write clones (XFS, btrfs) it shares the
    blocks instead of copying them and takes milliseconds whatever the size
    (``"kernel"``; dbt's writes then copy only the blocks they change), on NFS
    it may copy on the server; elsewhere (ext4) it copies as fast as
    ``shutil.copyfile``. Where the kernel cannot copy these files at all,
    ``shutil.copyfile`` (``"copyfile"``). A copy that fails part-way (the disk
    full) raises; the caller removes it.
    """
    copy_range = getattr(os, "copy_file_range", None)
    with source.open("rb") as reader, destination.open("wb") as writer:
        remaining = os.fstat(reader.fileno()).st_size
        copied = 0
        while copy_range is not None and remaining > 0:
            try:
                step = copy_range(reader.fileno(), writer.fileno(), min(remaining, 1 << 30))
            except OSError as error:
                if copied == 0 and error.errno in _NO_KERNEL_COPY:
                    break
                raise
            if step == 0:
                break
            copied += step
            remaining -= step
    if remaining == 0:
        return "kernel" if copied else "empty"
    if copied:
        raise OSError(
            errno.EIO, f"copying {source} stopped after {copied} bytes, {remaining} short"
        )
    shutil.copyfile(source, destination)
    return "copyfile"


def _with_wal(path: Path) -> tuple[Path, Path]:
    return path, path.with_suffix(".duckdb.wal")


@contextmanager
def writer_lock(timeout_s: float = 1800.0) -> Iterator[None]:
    """Hold the single-writer lock; wait up to ``timeout_s``, then fail clearly."""
    lock_file = published_path().parent / ".writer.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        started = time.monotonic()
        waiting = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    log.info("another build holds %s; waiting up to %.0f s", lock_file, timeout_s)
                    waiting = True
                if time.monotonic() - started > timeout_s:
                    raise WriterBusy(
                        f"another build holds {lock_file} for more than {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.5)
        if waiting:
            log.info("writer lock taken after %.1f s", time.monotonic() - started)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, document: dict) -> None:
    """Replace ``path`` atomically (a crash leaves the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _next_build_number() -> int:
    """The next build's number; call with the writer lock held."""
    counter = build_dir() / "last-build.json"
    number = int(_read_json(counter).get("build", 0)) + 1
    _write_json(counter, {"build": number})
    return number


def _published_record() -> Path:
    """Which build the published warehouse came from, beside it."""
    return published_path().with_name(f".{published_path().name}.published.json")


def _safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:120] or "run"


def dbt_env(warehouse: Path, settings: Settings | None = None) -> dict[str, str]:
    """Environment for a dbt process: where to read landing and write the build."""
    settings = settings or Settings.from_env()
    env = dict(os.environ)
    env.update(
        AI_CARBON_LANDING=str(settings.landing),
        AI_CARBON_WAREHOUSE=str(warehouse),
        AI_CARBON_DISCLOSURES=str(disclosures_path()),
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        # dbt's own output goes beside the builds, so the project folder can be
        # mounted read-only (docker-compose.yml) and two checkouts never clash.
        DBT_TARGET_PATH=str(dbt_target_path()),
        DBT_LOG_PATH=str(build_dir() / "dbt-logs"),
    )
    return env


def run_dbt(args: list[str], warehouse: Path, settings: Settings | None = None) -> str:
    """Run one dbt command against ``warehouse``; raise BuildError with its tail."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR)]
    log.info("running %s", " ".join(command[:3]))
    result = subprocess.run(
        command,
        cwd=DBT_PROJECT_DIR,
        env=dbt_env(warehouse, settings),
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise BuildError(f"dbt {args[0]} failed (exit {result.returncode}):\n{tail}")
    return output


# dbt puts these folders into SQL string literals and glob patterns
# (read_parquet('<landing>/aws_cur/line_items/*/*.parquet')): a quote or a
# wildcard in one would make every dataset look empty, and an empty warehouse
# would pass every test and be published.
UNSAFE_PATH_CHARACTERS = re.compile(r"['\"*?\[\]{}\\]")


def check_dbt_paths(settings: Settings) -> None:
    """BuildError for a folder dbt reads that it cannot read safely."""
    for variable, path in (
        ("AI_CARBON_LANDING", settings.landing),
        ("AI_CARBON_DISCLOSURES", disclosures_path()),
    ):
        found = UNSAFE_PATH_CHARACTERS.search(str(path))
        if found:
            raise BuildError(
                f"the folder {str(path)!r} ({variable}) contains {found.group()!r}, which dbt "
                "would read as SQL or as a wildcard: move it to a path of letters, digits, "
                "'/', '.', '_', '-' and spaces"
            )


def file_identity(path: Path) -> list[int]:
    """A file's inode, size and modification time: another file, or the same
    one written since, differs in one of them."""
    stat = path.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def nightly_command(
    full_refresh: bool, fingerprints: dict[str, str], manifest_read: bool
) -> list[str]:
    """The dbt build to run on the copy of the published warehouse: everything,
    or what changed since it was built and everything after it
    (transform/nightly_selection.py). ``manifest_read``: the published
    build's manifest was read (``read_manifest``)."""
    if full_refresh:
        return [*NIGHTLY_BUILD, "--full-refresh"]
    record = _read_json(_published_record())
    # the record describes the file it was written for, not one put in its
    # place by hand (a restored backup): that one is built whole
    comparable = manifest_read and record.get("warehouse") == file_identity(published_path())
    state = published_manifest().parent if comparable else None
    selection = selection_arguments(record, fingerprints, state)
    if not selection:
        log.info("building every node: no record of what the published warehouse was built from")
        return list(NIGHTLY_BUILD)
    changed = [selector for selector in selection if selector.startswith("source:")]
    log.info(
        "building what changed since the published build: the project's changes and %d "
        "source(s) with new files%s",
        len(changed),
        f" ({', '.join(changed)})" if changed else "",
    )
    return [*NIGHTLY_BUILD, *selection]


def build(run_id: str, settings: Settings | None = None, full_refresh: bool = False) -> Path:
    """dbt build into a copy of the published warehouse; return the copy's path.

    The copy starts from the published warehouse, so incremental models load
    only the landing partitions that changed since it was built (history is
    not rebuilt), and only the nodes after what changed since then run
    (``nightly_command``); ``full_refresh`` rebuilds every incremental model
    from all of landing (``dbt build --full-refresh``).
    """
    from transform.landing_sync import landing_for_dbt

    settings = settings or Settings.from_env()
    check_dbt_paths(settings)
    # Same file name as the published warehouse: DuckDB names the catalog after
    # the file, and dbt writes that name into every view it creates. dbt builds
    # at the working path; the built file then moves to the run's own folder,
    # where it waits for publish().
    target = build_dir() / _safe_name(run_id) / published_path().name
    working = working_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    working.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock():
        # (a build killed before it ended leaves its working copy)
        for stale in (*_with_wal(target), *_with_wal(working)):
            stale.unlink(missing_ok=True)
        try:
            # A landing on S3 or GCS is read from a local mirror (transform/landing_sync.py).
            settings = landing_for_dbt(settings, build_dir())
            # Inside the try: a copy cut short (disk full) is removed too.
            if published_path().exists():
                started = time.monotonic()
                how = copy_warehouse(published_path(), working)
                log.info(
                    "copied the published warehouse (%.0f MB) in %.2f s (%s)",
                    working.stat().st_size / 2**20,
                    time.monotonic() - started,
                    how,
                )
            record = {"build": _next_build_number(), "run_id": run_id}
            _write_json(target.parent / "build.json", record)
            # The files of the sources, before dbt reads them: the sources of
            # the published build's manifest (a source defined otherwise now is
            # state:modified, so selected whatever its files), else of the
            # project parsed first (a first build: about 3 s more).
            published = read_manifest(published_manifest()) if published_path().exists() else None
            if published is None:
                run_dbt(["parse"], working, settings)
            fingerprints = source_fingerprints(
                published or _read_json(dbt_target_path() / "manifest.json")
            )
            _write_json(target.parent / "build.json", {**record, **build_record(fingerprints)})
            command = nightly_command(full_refresh, fingerprints, published is not None)
            output = run_dbt(command, working, settings)
            for built, moved in zip(_with_wal(working), _with_wal(target), strict=True):
                if built.exists():
                    os.replace(built, moved)
            manifest = dbt_target_path() / "manifest.json"
            if manifest.is_file():
                shutil.copyfile(manifest, target.parent / "manifest.json")
        except BaseException:
            for partial in (*_with_wal(target), *_with_wal(working)):
                partial.unlink(missing_ok=True)
            raise
    summary = [line for line in output.splitlines() if "PASS=" in line]
    log.info("dbt build done: %s", summary[-1] if summary else "no summary line")
    return target


def publish(built: Path) -> Path:
    """Replace the published warehouse with ``built`` in one rename."""
    import duckdb  # imported here: keep module import cheap for the DAG

    if not built.exists():
        raise BuildError(f"nothing to publish: {built} does not exist")
    with writer_lock():
        destination = published_path()
        number = int(_read_json(built.parent / "build.json").get("build", 0))
        live = int(_read_json(_published_record()).get("build", 0))
        if destination.exists() and number < live:
            # A later build (from later landing) is already live: publishing
            # this one would put older figures back.
            log.warning(
                "not published: build %d (%s) is older than the published build %d",
                number,
                built.parent.name,
                live,
            )
            shutil.rmtree(built.parent, ignore_errors=True)
            return destination
        connection = duckdb.connect(str(built))
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, destination)
        # What the next build compares with (nightly_command): this build's
        # manifest, then the record naming this file, with its sources'
        # fingerprints and the versions that built it. A crash before the
        # record is written leaves the record of the build before, which
        # names another file: the next build builds every node.
        record = {"build": number, "run": built.parent.name}
        record["warehouse"] = file_identity(destination)
        manifest = built.parent / "manifest.json"
        if manifest.is_file():
            published_manifest().parent.mkdir(parents=True, exist_ok=True)
            os.replace(manifest, published_manifest())
            kept = _read_json(built.parent / "build.json")
            record.update({key: kept[key] for key in ("sources", "versions") if key in kept})
        else:
            published_manifest().unlink(missing_ok=True)
        _write_json(_published_record(), record)
        shutil.rmtree(built.parent, ignore_errors=True)
        directory = os.open(destination.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    log.info("published %s", destination)
    return destination


def build_and_publish(run_id: str = "manual", full_refresh: bool = False) -> Path:
    return publish(build(run_id, full_refresh=full_refresh))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    arguments = [argument for argument in sys.argv[1:] if argument != "--full-refresh"]
    try:
        print(
            build_and_publish(
                arguments[0] if arguments else "manual",
                full_refresh="--full-refresh" in sys.argv[1:],
            )
        )
    except BuildError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
