"""The copy of the published warehouse every build starts from (transform/build.py).

It is made by the kernel (``copy_file_range``): a clone that shares the
blocks on a filesystem with copy-on-write clones, a copy elsewhere, and
``shutil.copyfile`` where the kernel cannot copy the files at all.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from transform.build import copy_warehouse

MB = 2**20


@pytest.fixture
def published(tmp_path: Path) -> Path:
    path = tmp_path / "published.duckdb"
    path.write_bytes(os.urandom(3 * MB + 123))
    return path


@pytest.fixture
def kernel_copying_one_mb_a_call(monkeypatch):
    """``copy_file_range`` copying at most 1 MB a call, the disk filling at the
    call numbered ``disk_full_at`` (if any); returns the list of its calls."""

    def install(disk_full_at: int | None = None) -> list[int]:
        real = os.copy_file_range
        calls: list[int] = []

        def one_mb_at_a_time(source, destination, count, *args):
            calls.append(count)
            if len(calls) == disk_full_at:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(source, destination, min(count, MB), *args)

        monkeypatch.setattr(os, "copy_file_range", one_mb_at_a_time)
        return calls

    return install


def test_the_kernel_copies_it_byte_for_byte_in_as_many_calls_as_it_takes(
    published, tmp_path, kernel_copying_one_mb_a_call
):
    # GIVEN a kernel that copies at most 1 MB a call (a 3 MB file: four calls)
    calls = kernel_copying_one_mb_a_call()
    working = tmp_path / "working.duckdb"
    working.write_bytes(b"a stale working copy, longer than nothing")
    # WHEN the warehouse is copied
    how = copy_warehouse(published, working)
    # THEN it is the same bytes, copied by the kernel in four calls
    assert how == "kernel"
    assert working.read_bytes() == published.read_bytes()
    assert len(calls) == 4


@pytest.mark.parametrize("answer", [errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL])
def test_where_the_kernel_cannot_copy_the_files_shutil_does(
    published, tmp_path, monkeypatch, answer
):
    def refuses(*args):
        raise OSError(answer, os.strerror(answer))

    monkeypatch.setattr(os, "copy_file_range", refuses)
    working = tmp_path / "working.duckdb"
    assert copy_warehouse(published, working) == "copyfile"
    assert working.read_bytes() == published.read_bytes()


def test_without_copy_file_range_at_all_shutil_copies(published, tmp_path, monkeypatch):
    monkeypatch.delattr(os, "copy_file_range")
    working = tmp_path / "working.duckdb"
    assert copy_warehouse(published, working) == "copyfile"
    assert working.read_bytes() == published.read_bytes()


def test_a_copy_that_fails_part_way_raises_and_is_not_finished_another_way(
    published, tmp_path, monkeypatch, kernel_copying_one_mb_a_call
):
    # GIVEN a disk that fills after the first megabyte
    kernel_copying_one_mb_a_call(disk_full_at=2)
    monkeypatch.setattr(shutil, "copyfile", lambda *a, **k: pytest.fail("copied again"))
    # WHEN the warehouse is copied, THEN the error is the disk's
    with pytest.raises(OSError) as failure:
        copy_warehouse(published, tmp_path / "working.duckdb")
    assert failure.value.errno == errno.ENOSPC


def test_a_kernel_that_stops_short_is_an_error_not_a_short_warehouse(
    published, tmp_path, monkeypatch
):
    real = os.copy_file_range
    answers = iter([MB, 0])

    def stops(source, destination, count, *args):
        wanted = next(answers)
        return real(source, destination, wanted, *args) if wanted else 0

    monkeypatch.setattr(os, "copy_file_range", stops)
    with pytest.raises(OSError, match="short"):
        copy_warehouse(published, tmp_path / "working.duckdb")


@pytest.fixture
def xfs(tmp_path: Path):
    """A 1 GB XFS filesystem on a loop device (root and mkfs.xfs needed)."""
    if shutil.which("mkfs.xfs") is None or os.geteuid() != 0:
        pytest.skip("no mkfs.xfs, or not root: cannot make an XFS filesystem here")
    image, mount = tmp_path / "xfs.img", tmp_path / "xfs"
    with image.open("wb") as handle:
        handle.truncate(1024 * MB)
    mount.mkdir()
    subprocess.run(["mkfs.xfs", "-q", "-f", str(image)], check=True, capture_output=True)
    mounted = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a loop device here: {mounted.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False, capture_output=True)


def test_on_xfs_the_copy_is_a_clone_that_takes_no_space(xfs):
    # GIVEN a 200 MB published warehouse on XFS (reflinks on by default)
    published = xfs / "published.duckdb"
    with published.open("wb") as handle:
        for _ in range(200):
            handle.write(os.urandom(MB))
        os.fsync(handle.fileno())
    free_before = shutil.disk_usage(xfs).free
    # WHEN it is copied for a build
    working = xfs / "working.duckdb"
    assert copy_warehouse(published, working) == "kernel"
    os.sync()
    # THEN the copy is the same bytes and shares the published file's blocks:
    # the filesystem lost far less than the 200 MB a copy would take
    assert working.read_bytes() == published.read_bytes()
    assert free_before - shutil.disk_usage(xfs).free < 20 * MB
