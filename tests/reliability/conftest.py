"""Fixtures of the reliability suite.

* ``baseline``: the demo organisation (2025-01..02) landed and built once for
  the whole run, pytest-xdist's workers sharing it; never changed by a test.
* ``workspace``: a private copy of it for one test, to break as it likes.
* ``later_sources``: the same organisation generated a month further, where
  the late carbon exports of January (AWS) and February (GCP) have arrived.
* ``tiny_disk``: a folder on a tmpfs of a given size (needs mount rights).
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest
from harness import Workspace


@pytest.fixture(scope="session")
def baseline(tmp_path_factory, worker_id) -> Workspace:
    """The first worker to ask builds it under a lock; the others wait and read it
    (each worker built its own before: one build, about 40 s, per worker)."""
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # shared by the workers of this run
    workspace = Workspace(run_folder / "baseline")
    built = run_folder / "baseline.built"
    with (run_folder / "baseline.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            shutil.rmtree(workspace.root, ignore_errors=True)
            Workspace.create(workspace.root)
            workspace.extract()
            workspace.build("baseline")
            built.touch()
    return workspace


@pytest.fixture
def workspace(baseline, tmp_path) -> Workspace:
    return baseline.copy(tmp_path / "install")


@pytest.fixture(scope="session")
def later_sources(tmp_path_factory) -> Path:
    return Workspace.create(tmp_path_factory.mktemp("later"), months=3, awkward=False).sources


@pytest.fixture
def tiny_disk():
    """``tiny_disk(folder, "1m")`` mounts a tmpfs of that size on ``folder``."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs to fill a disk here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        with contextlib.suppress(OSError):
            subprocess.run(["umount", "-l", str(folder)], check=True, capture_output=True)
