"""Landing zone: a partition is replaced by one atomic file rename, and months are checked."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import landing as landing_module
from extractors.cloud import replaced_atomically, write_atomically
from extractors.landing import month_partition, write_partition


def test_partition_is_replaced_in_place_with_no_stray_files(tmp_path):
    # GIVEN a landed partition
    write_partition(tmp_path, "s", "d", "month=2025-01", pa.table({"x": [1, 2]}))
    # WHEN it is replaced
    written = write_partition(tmp_path, "s", "d", "month=2025-01", pa.table({"x": [3]}))
    # THEN the folder holds just the new file, and no sibling folders appeared
    assert pq.read_table(written)["x"].to_pylist() == [3]
    assert [p.name for p in (tmp_path / "s" / "d").iterdir()] == ["month=2025-01"]
    assert [p.name for p in written.parent.iterdir()] == ["part-0.parquet"]


def test_failed_write_keeps_the_old_partition_and_leaves_nothing_behind(tmp_path, monkeypatch):
    # GIVEN a landed partition
    written = write_partition(tmp_path, "s", "d", "month=2025-01", pa.table({"x": [1]}))
    before = written.read_bytes()

    # WHEN the next write dies half-way through its file
    def half_write(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(landing_module.pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_partition(tmp_path, "s", "d", "month=2025-01", pa.table({"x": [2]}))
    # THEN the old file is intact and no temporary file is left
    assert written.read_bytes() == before
    assert [p.name for p in written.parent.iterdir()] == ["part-0.parquet"]


def test_hive_reader_sees_only_landed_partitions(tmp_path):
    # GIVEN two months landed, one of them twice
    for month, values in (("2025-01", [1]), ("2025-02", [2]), ("2025-02", [3, 4])):
        write_partition(tmp_path, "s", "d", f"month={month}", pa.table({"x": values}))
    # WHEN DuckDB reads the dataset as dbt does
    rows = duckdb.sql(
        f"select month, x from read_parquet('{tmp_path}/s/d/*/*.parquet', hive_partitioning=true) order by x"
    ).fetchall()
    # THEN it sees each month once
    assert rows == [("2025-01", 1), ("2025-02", 3), ("2025-02", 4)]


@pytest.mark.parametrize("month", ["2025-1", "2025-13", "2025-00", "25-01", "2025-01-01", ""])
def test_month_must_be_yyyy_mm(month):
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_partition(month)


def test_month_partition_name():
    assert month_partition("2025-12") == "month=2025-12"


def test_a_download_replaces_its_file_whole_or_not_at_all(tmp_path):
    # GIVEN a file already downloaded
    path = tmp_path / "mirror" / "part-0.parquet"
    assert write_atomically(path, [b"old ", b"bytes"]) == 9

    # WHEN a second download fails half-way through its blocks
    def blocks():
        yield b"new"
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        write_atomically(path, blocks())
    # THEN the old bytes stay, and no temporary file is left beside them
    assert path.read_bytes() == b"old bytes"
    assert sorted(p.name for p in path.parent.iterdir()) == ["part-0.parquet"]
    # AND a download written through the handle replaces it whole
    with replaced_atomically(path) as handle:
        handle.write(b"new bytes")
    assert path.read_bytes() == b"new bytes"
    assert sorted(p.name for p in path.parent.iterdir()) == ["part-0.parquet"]
