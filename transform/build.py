"""Build the warehouse with dbt on a private copy, then publish it atomically.

The published file (``AI_CARBON_WAREHOUSE``, default
``warehouse/ai_carbon.duckdb``) is only ever replaced by a rename, so an
analyst's read-only connection sees the last published warehouse while a build
runs, and a build that fails or is killed leaves it exactly as it was.
One writer at a time: a file lock serialises builds on this machine (the
Airflow pool does the same across the scheduler's tasks).

Never imports Airflow.
"""

from __future__ import annotations

import fcntl
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

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class BuildError(RuntimeError):
    """dbt failed (a model or a test); the published warehouse is unchanged."""


class WriterBusy(RuntimeError):
    """Another build held the writer lock for too long; worth retrying later."""


def published_path() -> Path:
    value = Path(os.environ.get("AI_CARBON_WAREHOUSE") or "warehouse/ai_carbon.duckdb")
    return value if value.is_absolute() else PROJECT_ROOT / value


def build_dir() -> Path:
    return published_path().parent / ".build"


@contextmanager
def writer_lock(timeout_s: float = 1800.0) -> Iterator[None]:
    """Hold the single-writer lock; wait up to ``timeout_s``, then fail clearly."""
    lock_file = published_path().parent / ".writer.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WriterBusy(
                        f"another build holds {lock_file} for more than {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:120] or "run"


def dbt_env(warehouse: Path, settings: Settings | None = None) -> dict[str, str]:
    """Environment for a dbt process: where to read landing and write the build."""
    settings = settings or Settings.from_env()
    env = dict(os.environ)
    env.update(
        AI_CARBON_LANDING=str(settings.landing),
        AI_CARBON_WAREHOUSE=str(warehouse),
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        # dbt's own output goes beside the builds, so the project folder can be
        # mounted read-only (docker-compose.yml) and two checkouts never clash.
        DBT_TARGET_PATH=str(build_dir() / "dbt-target"),
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


def build(run_id: str, settings: Settings | None = None) -> Path:
    """dbt build into a copy of the published warehouse; return the copy's path."""
    # Same file name as the published warehouse: DuckDB names the catalog after
    # the file, and dbt writes that name into every view it creates.
    target = build_dir() / _safe_name(run_id) / published_path().name
    target.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock():
        for stale in (target, target.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        if published_path().exists():
            shutil.copyfile(published_path(), target)
        try:
            output = run_dbt(["build"], target, settings)
        except BaseException:
            target.unlink(missing_ok=True)
            target.with_suffix(".duckdb.wal").unlink(missing_ok=True)
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
        connection = duckdb.connect(str(built))
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()
        destination = published_path()
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, destination)
        shutil.rmtree(built.parent, ignore_errors=True)
        directory = os.open(destination.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    log.info("published %s", destination)
    return destination


def build_and_publish(run_id: str = "manual") -> Path:
    return publish(build(run_id))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        print(build_and_publish(sys.argv[1] if len(sys.argv) > 1 else "manual"))
    except BuildError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
