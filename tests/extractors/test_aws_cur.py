"""AWS CUR 2.0 extractor: manifest-driven chunks, redelivery, idempotency, errors."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import aws_cur
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
UTC = dt.UTC

# A CUR 2.0 Parquet chunk as Data Exports writes it: naive millisecond
# timestamps, maps for tags, plus columns the contract does not need.
CHUNK_SCHEMA = pa.schema(
    [
        ("identity_line_item_id", pa.string()),
        ("identity_time_interval", pa.string()),
        ("bill_billing_period_start_date", pa.timestamp("ms")),
        ("bill_payer_account_id", pa.string()),
        ("line_item_usage_start_date", pa.timestamp("ms")),
        ("line_item_usage_end_date", pa.timestamp("ms")),
        ("line_item_usage_account_id", pa.string()),
        ("line_item_line_item_type", pa.string()),
        ("line_item_product_code", pa.string()),
        ("line_item_usage_type", pa.string()),
        ("line_item_operation", pa.string()),
        ("line_item_usage_amount", pa.float64()),
        ("pricing_unit", pa.string()),
        ("line_item_unblended_cost", pa.float64()),
        ("line_item_currency_code", pa.string()),
        ("line_item_resource_id", pa.string()),
        ("product_instance_type", pa.string()),
        ("product_region_code", pa.string()),
        ("resource_tags", pa.map_(pa.string(), pa.string())),
        ("discount", pa.map_(pa.string(), pa.float64())),
    ]
)


def cur_row(line: int, cost: float = 1.0, **overrides) -> dict:
    start = dt.datetime(2025, 1, 1) + dt.timedelta(hours=line)
    row = {
        "identity_line_item_id": f"li-{line}",
        "identity_time_interval": "2025-01-01T00:00:00Z/2025-02-01T00:00:00Z",
        "bill_billing_period_start_date": dt.datetime(2025, 1, 1),
        "bill_payer_account_id": "111111111111",
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": start + dt.timedelta(hours=1),
        "line_item_usage_account_id": "222222222222",
        "line_item_line_item_type": "Usage",
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
        "line_item_operation": "RunInstances",
        "line_item_usage_amount": 1.0,
        "pricing_unit": "Hrs",
        "line_item_unblended_cost": cost,
        "line_item_currency_code": "USD",
        "line_item_resource_id": f"i-{line:08x}",
        "product_instance_type": "p5.48xlarge",
        "product_region_code": "us-east-1",
        "resource_tags": [("user_ai-system", "chat")],
        "discount": [],
    }
    row.update(overrides)
    return row


class CurExport:
    """One CUR 2.0 export under the sources folder, written as AWS delivers it."""

    def __init__(self, sources: Path, name: str, bucket: str = "billing", prefix: str = "cur2"):
        self.sources = sources
        self.name = name
        self.bucket = bucket
        self.prefix = prefix
        self.root = sources / "aws" / bucket / prefix / name

    def data_dir(self, month: str = MONTH) -> Path:
        return self.root / "data" / f"BILLING_PERIOD={month}"

    def manifest_path(self, month: str = MONTH) -> Path:
        return self.root / "metadata" / f"BILLING_PERIOD={month}" / f"{self.name}-Manifest.json"

    def write_parquet_chunk(
        self, number: int, rows: list[dict], month: str = MONTH, table: pa.Table | None = None
    ) -> Path:
        path = self.data_dir(month) / f"{self.name}-{number:05d}.snappy.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            table if table is not None else pa.Table.from_pylist(rows, schema=CHUNK_SCHEMA),
            path,
            compression="snappy",
        )
        return path

    def write_csv_chunk(self, number: int, rows: list[dict], month: str = MONTH) -> Path:
        """A gzip CSV chunk: timestamps as ISO text, maps as JSON objects."""
        path = self.data_dir(month) / f"{self.name}-{number:05d}.csv.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = list(rows[0])
        writer.writerow(names)
        for row in rows:
            values = []
            for name in names:
                value = row[name]
                if isinstance(value, dt.datetime):
                    value = value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                elif isinstance(value, list):
                    value = json.dumps(dict(value)) if value else ""
                values.append("" if value is None else value)
            writer.writerow(values)
        path.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
        return path

    def write_manifest(
        self, chunks: list[Path], month: str = MONTH, execution_id: str = "exec-1"
    ) -> Path:
        uris = [
            f"s3://{self.bucket}/{chunk.relative_to(self.sources / 'aws' / self.bucket).as_posix()}"
            for chunk in chunks
        ]
        return self.write_manifest_uris(uris, month, execution_id)

    def write_manifest_uris(
        self, uris: list[str], month: str = MONTH, execution_id: str = "exec-1"
    ) -> Path:
        path = self.manifest_path(month)
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest = {
            "executionId": execution_id,
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:111111111111:export/{self.name}",
            "billingPeriod": {"start": f"{month}-01T00:00:00.000Z"},
            "columns": [
                {"name": name, "type": str(t)}
                for name, t in zip(CHUNK_SCHEMA.names, CHUNK_SCHEMA.types, strict=True)
            ],
            "dataFiles": uris,
        }
        path.write_text(json.dumps(manifest, indent=2))
        return path

    def deliver(self, *chunks: list[dict], month: str = MONTH, execution_id: str = "exec-1"):
        paths = [self.write_parquet_chunk(n, rows, month) for n, rows in enumerate(chunks, 1)]
        self.write_manifest(paths, month, execution_id)
        return paths


@pytest.fixture
def cur(sources: Path) -> CurExport:
    return CurExport(sources, "cur-a")


def test_lands_exactly_the_chunks_the_manifest_lists(cur, settings, org_config, landed):
    # GIVEN a billing period delivered as two Parquet chunks (3 + 2 rows)
    cur.deliver(
        [cur_row(i, cost=1.5) for i in range(3)], [cur_row(i, cost=2.0) for i in range(3, 5)]
    )
    # WHEN the month is extracted
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN one partition with all five rows, typed as the contract says
    assert (record.source, record.dataset, record.partition) == (
        "aws_cur",
        "line_items",
        "month=2025-01",
    )
    assert (record.status, record.rows) == ("loaded", 5)
    table = landed.table("aws_cur", "line_items")
    assert table.num_rows == 5
    assert sum(table["line_item_unblended_cost"].to_pylist()) == pytest.approx(8.5)
    assert table.schema.field("line_item_usage_start_date").type == pa.timestamp("us", tz="UTC")
    assert table["line_item_usage_start_date"][0].as_py() == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert table["resource_tags"][0].as_py() == [("user_ai-system", "chat")]
    assert set(table["_source_file"].to_pylist()) == {
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet",
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00002.snappy.parquet",
    }
    # AND the ledger names the manifest and both chunks
    assert record.files == [
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet",
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00002.snappy.parquet",
        "aws/billing/cur2/cur-a/metadata/BILLING_PERIOD=2025-01/cur-a-Manifest.json",
    ]


def test_rerun_of_unchanged_delivery_is_recorded_unchanged(
    cur, settings, org_config, landed, ledger
):
    # GIVEN a month landed once
    cur.deliver([cur_row(i) for i in range(4)])
    aws_cur.extract(MONTH, settings, org_config)
    first_bytes = landed.path("aws_cur", "line_items").read_bytes()
    # WHEN it is extracted again with nothing redelivered
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN the same rows, a ledger record "unchanged", and the same file bytes
    assert (record.status, record.rows) == ("unchanged", 4)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert ledger()[0]["checksum"] == ledger()[1]["checksum"]
    assert landed.path("aws_cur", "line_items").read_bytes() == first_bytes


def test_redelivery_with_fewer_chunks_replaces_the_month_whole(cur, settings, org_config, landed):
    # GIVEN a month landed from two chunks (5 rows)
    cur.deliver([cur_row(i) for i in range(3)], [cur_row(i) for i in range(3, 5)])
    aws_cur.extract(MONTH, settings, org_config)
    # WHEN AWS redelivers it as one chunk of 2 rows (the old chunk 2 still on disk)
    cur.deliver([cur_row(i, cost=9.0) for i in range(2)], execution_id="exec-2")
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN the partition holds exactly the redelivery: no stale rows, no duplicates
    assert (record.status, record.rows) == ("loaded", 2)
    table = landed.table("aws_cur", "line_items")
    assert table["line_item_unblended_cost"].to_pylist() == [9.0, 9.0]
    assert set(table["_source_file"].to_pylist()) == {
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet"
    }


def test_missing_chunk_named_and_previous_partition_kept(cur, settings, org_config, landed, ledger):
    # GIVEN a month landed once
    cur.deliver([cur_row(i) for i in range(3)])
    aws_cur.extract(MONTH, settings, org_config)
    before = landed.path("aws_cur", "line_items").read_bytes()
    # WHEN a new manifest lists a chunk that is not there
    present = cur.write_parquet_chunk(1, [cur_row(i) for i in range(3)])
    missing = cur.data_dir() / "cur-a-00002.snappy.parquet"
    cur.write_manifest([present, missing], execution_id="exec-2")
    # THEN the error names the missing chunk, and nothing changed
    with pytest.raises(SourceError, match=r"cur-a-00002\.snappy\.parquet, which is missing"):
        aws_cur.extract(MONTH, settings, org_config)
    assert landed.path("aws_cur", "line_items").read_bytes() == before
    assert len(ledger()) == 1


def test_month_without_manifest_is_not_delivered(cur, settings, org_config, landing, caplog):
    # GIVEN chunks but no manifest yet (AWS writes the manifest last)
    cur.write_parquet_chunk(1, [cur_row(0)])
    # WHEN the month is extracted
    with caplog.at_level(logging.INFO, logger="extractors.aws_cur"):
        records = aws_cur.extract(MONTH, settings, org_config)
    # THEN nothing is landed and the log says so
    assert records == []
    assert not landing.exists()
    assert "not delivered" in caplog.text


def test_missing_required_column_names_column_and_file(cur, settings, org_config, landing):
    # GIVEN a chunk without line_item_usage_amount
    table = pa.Table.from_pylist([cur_row(0)], schema=CHUNK_SCHEMA).drop_columns(
        ["line_item_usage_amount"]
    )
    chunk = cur.write_parquet_chunk(1, [], table=table)
    cur.write_manifest([chunk])
    # WHEN / THEN the error names the column, the file and what was expected
    with pytest.raises(SourceError) as error:
        aws_cur.extract(MONTH, settings, org_config)
    message = str(error.value)
    assert "cur-a-00001.snappy.parquet" in message
    assert "line_item_usage_amount is missing (expected double)" in message
    assert not landing.exists()


def test_unknown_extra_columns_are_kept_and_logged(sources, settings, org_config, landed, caplog):
    # GIVEN two exports, one of which delivers an extra column
    first, second = CurExport(sources, "cur-a"), CurExport(sources, "cur-b")
    first.deliver([cur_row(0)])
    extra = pa.Table.from_pylist([cur_row(1)], schema=CHUNK_SCHEMA).append_column(
        "split_line_item_split_cost", pa.array([0.25])
    )
    second.write_manifest([second.write_parquet_chunk(1, [], table=extra)])
    # WHEN the month is extracted
    with caplog.at_level(logging.INFO, logger="extractors.aws_cur"):
        [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN both exports land together, the extra column null where absent
    assert record.rows == 2
    table = landed.table("aws_cur", "line_items")
    assert table["split_line_item_split_cost"].to_pylist() == [None, 0.25]
    assert "split_line_item_split_cost" in caplog.text


def test_gzip_csv_chunks_are_typed_like_parquet(cur, settings, org_config, landed):
    # GIVEN a CSV delivery: text timestamps, JSON tags, an empty resource id
    rows = [
        cur_row(0, cost=0.5),
        cur_row(1, cost=1.25, line_item_resource_id=None, resource_tags=[]),
    ]
    for row in rows:
        del row["discount"]
    cur.write_manifest([cur.write_csv_chunk(1, rows)])
    # WHEN the month is extracted
    aws_cur.extract(MONTH, settings, org_config)
    # THEN values land with the contract's types
    table = landed.table("aws_cur", "line_items")
    assert table["line_item_unblended_cost"].to_pylist() == [0.5, 1.25]
    assert table["line_item_usage_start_date"][1].as_py() == dt.datetime(2025, 1, 1, 1, tzinfo=UTC)
    assert table["resource_tags"].to_pylist() == [[("user_ai-system", "chat")], None]
    assert table["line_item_resource_id"].to_pylist() == ["i-00000000", None]


def test_text_that_is_not_a_number_names_file_and_column(cur, settings, org_config):
    # GIVEN a CSV chunk whose usage amount is not a number
    rows = [cur_row(0, line_item_usage_amount="lots")]
    cur.write_manifest([cur.write_csv_chunk(1, rows)])
    # WHEN / THEN
    with pytest.raises(
        SourceError, match=r"cur-a-00001\.csv\.gz: column line_item_usage_amount: expected double"
    ):
        aws_cur.extract(MONTH, settings, org_config)


def test_export_without_resource_ids_lands_null_resource_id(cur, settings, org_config, landed):
    # GIVEN an export created without INCLUDE_RESOURCES
    table = pa.Table.from_pylist([cur_row(0)], schema=CHUNK_SCHEMA).drop_columns(
        ["line_item_resource_id"]
    )
    cur.write_manifest([cur.write_parquet_chunk(1, [], table=table)])
    # WHEN the month is extracted
    aws_cur.extract(MONTH, settings, org_config)
    # THEN the column exists, null
    assert landed.table("aws_cur", "line_items")["line_item_resource_id"].to_pylist() == [None]


@pytest.mark.parametrize(
    "uri",
    [
        "s3://billing/cur2/../../../../etc/passwd",
        "s3://billing//etc/passwd",
        "https://billing.s3.amazonaws.com/cur2/cur-a-00001.snappy.parquet",
    ],
)
def test_manifest_cannot_point_outside_the_sources(cur, settings, org_config, uri):
    # GIVEN a manifest whose data file escapes the bucket folder
    cur.write_manifest_uris([uri])
    # WHEN / THEN it is refused, naming the manifest
    with pytest.raises(SourceError, match=r"cur-a-Manifest\.json: dataFiles entry"):
        aws_cur.extract(MONTH, settings, org_config)


def test_empty_manifest_lands_an_empty_month(cur, settings, org_config, landed):
    # GIVEN a delivered month with no line items
    cur.write_manifest([])
    # WHEN the month is extracted
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN an empty partition with the contract's columns records the fact
    assert record.rows == 0
    table = landed.table("aws_cur", "line_items")
    assert set(aws_cur.REQUIRED_COLUMNS) <= set(table.column_names)


def test_malformed_manifest_is_named(cur, settings, org_config):
    cur.manifest_path().parent.mkdir(parents=True)
    cur.manifest_path().write_text("{not json")
    with pytest.raises(SourceError, match=r"cur-a-Manifest\.json: not valid JSON"):
        aws_cur.extract(MONTH, settings, org_config)


def test_corrupt_chunk_is_named_and_nothing_changes(cur, settings, org_config, landed, ledger):
    # GIVEN a landed month, then a redelivery whose chunk is not Parquet
    cur.deliver([cur_row(0)])
    aws_cur.extract(MONTH, settings, org_config)
    before = landed.path("aws_cur", "line_items").read_bytes()
    chunk = cur.write_parquet_chunk(1, [cur_row(0), cur_row(1)])
    chunk.write_bytes(chunk.read_bytes()[:40])
    cur.write_manifest([chunk], execution_id="exec-2")
    # WHEN / THEN
    with pytest.raises(SourceError, match=r"cur-a-00001\.snappy\.parquet: cannot be read"):
        aws_cur.extract(MONTH, settings, org_config)
    assert landed.path("aws_cur", "line_items").read_bytes() == before
    assert [r["status"] for r in ledger()] == ["loaded"]


# --- landing in bounded memory: file by file, batch by batch ------------------


def mixed_month(cur: CurExport) -> list[Path]:
    """Three chunks whose schemas differ: a column one chunk lacks, an extra
    column typed int32 in one and int64 in another, a CSV chunk of text."""
    first = pa.Table.from_pylist([cur_row(i, cost=i + 0.5) for i in range(5)], schema=CHUNK_SCHEMA)
    first = first.append_column("split_cost", pa.array([1, 2, 3, 4, 5], pa.int32()))
    second = pa.Table.from_pylist([cur_row(i) for i in range(5, 8)], schema=CHUNK_SCHEMA)
    second = second.drop_columns(["discount", "line_item_resource_id"]).append_column(
        "split_cost", pa.array([6, None, 8], pa.int64())
    )
    rows = [cur_row(8, cost=0.25, resource_tags=[]), cur_row(9, line_item_resource_id=None)]
    for row in rows:
        del row["discount"]
    chunks = [
        cur.write_parquet_chunk(1, [], table=first),
        cur.write_parquet_chunk(2, [], table=second),
        cur.write_csv_chunk(3, rows),
    ]
    cur.write_manifest(chunks)
    return chunks


def concatenated_as_before(chunks: list[Path], sources: Path) -> pa.Table:
    """What the extractor landed before it streamed: every chunk read whole,
    conformed, and concatenated with permissive type promotion."""
    rels = [aws_cur.relative(path, sources) for path in chunks]
    tables = [
        aws_cur.conform_columns(
            aws_cur.read_data_file(path, rel),
            aws_cur.REQUIRED_COLUMNS,
            rel,
            aws_cur.NULL_WHEN_ABSENT,
        )
        for path, rel in zip(chunks, rels, strict=True)
    ]
    return aws_cur.concat_files(tables, rels)


def test_a_month_of_chunks_with_differing_schemas_lands_as_concatenated(
    cur, sources, settings, org_config, landed, monkeypatch
):
    # GIVEN a month of three chunks (5, 3 and 2 rows) whose schemas differ,
    # read 2 rows at a time
    monkeypatch.setattr(aws_cur, "PART_ROWS", 2)
    chunks = mixed_month(cur)
    # WHEN the month is extracted
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN the partition equals the whole-month concatenation, schema included:
    # same rows in the same order, same _source_file, same column types
    table = landed.table("aws_cur", "line_items")
    expected = concatenated_as_before(chunks, sources)
    assert table.schema.equals(expected.schema)
    assert table.equals(expected)
    assert record.rows == table.num_rows == 10
    assert table["split_cost"].to_pylist() == [1, 2, 3, 4, 5, 6, None, 8, None, None]
    assert table["split_cost"].type == pa.int64()
    assert table["resource_tags"].to_pylist()[8:] == [None, [("user_ai-system", "chat")]]
    assert table["_source_file"].to_pylist()[4:6] == [
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet",
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00002.snappy.parquet",
    ]


def test_a_failure_in_the_second_chunk_keeps_the_landed_month(
    cur, settings, org_config, landed, ledger, monkeypatch
):
    # GIVEN a landed month
    cur.deliver([cur_row(0)])
    aws_cur.extract(MONTH, settings, org_config)
    before = landed.path("aws_cur", "line_items").read_bytes()
    # AND a redelivery of two chunks, read 2 rows at a time, whose second
    # chunk's 4th row is NaN: chunk 1 and the first part of chunk 2 are
    # already written to the new file when the 4th row is reached
    monkeypatch.setattr(aws_cur, "PART_ROWS", 2)
    bad = [cur_row(3), cur_row(4), cur_row(5), cur_row(6, cost=float("nan"))]
    cur.deliver([cur_row(i) for i in range(3)], bad, execution_id="exec-2")
    # WHEN / THEN the load fails naming the file and its row (2 + 2 = row 4)
    with pytest.raises(
        SourceError,
        match=r"cur-a-00002\.snappy\.parquet: column line_item_unblended_cost, data row 4: "
        r"expected a finite number, got nan",
    ):
        aws_cur.extract(MONTH, settings, org_config)
    # AND the landed month is untouched, with no half-written file beside it
    path = landed.path("aws_cur", "line_items")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["part-0.parquet"]
    assert [r["status"] for r in ledger()] == ["loaded"]


def test_the_writer_holds_one_part_of_one_chunk_at_a_time(
    cur, settings, org_config, landed, monkeypatch
):
    # GIVEN a month of three chunks (5, 3 and 2 rows), read 2 rows at a time
    monkeypatch.setattr(aws_cur, "PART_ROWS", 2)
    mixed_month(cur)
    # AND a log of every conformed part read and every part written
    events: list[tuple[str, int]] = []
    conform = aws_cur.conform_columns
    write = pq.ParquetWriter.write_table

    def conform_logged(table, *args, **kwargs):
        if table.num_rows:  # not the schemas read first from empty tables
            events.append(("read", table.num_rows))
        return conform(table, *args, **kwargs)

    def write_logged(self, table, *args, **kwargs):
        events.append(("write", table.num_rows))
        return write(self, table, *args, **kwargs)

    monkeypatch.setattr(aws_cur, "conform_columns", conform_logged)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_logged)
    # WHEN the month is extracted
    [record] = aws_cur.extract(MONTH, settings, org_config)
    # THEN each part is written before the next is read: never more than one
    # part of at most PART_ROWS rows in memory (5 = 2 + 2 + 1, 3 = 2 + 1, the
    # CSV chunk's 2 rows read whole), and every row is written
    assert events == [(kind, rows) for rows in (2, 2, 1, 2, 1, 2) for kind in ("read", "write")]
    assert record.rows == landed.table("aws_cur", "line_items").num_rows == 10


def test_tags_that_are_not_a_json_object_name_the_first_such_row(cur, settings, org_config):
    # GIVEN a CSV chunk whose tags repeat one good and two bad texts; each
    # distinct text is parsed once, and the first bad row is data row 2
    rows = [cur_row(i) for i in range(5)]
    for row in rows:
        del row["discount"]
    cur.write_manifest([cur.write_csv_chunk(1, rows)])
    chunk = cur.data_dir() / "cur-a-00001.csv.gz"
    text = gzip.decompress(chunk.read_bytes()).decode().splitlines()
    good = '"{""user_ai-system"": ""chat""}"'
    assert good in text[1]
    text[2] = text[2].replace(good, '"[1, 2]"')
    text[3] = text[3].replace(good, "not-json")
    text[5] = text[5].replace(good, '"[1, 2]"')
    chunk.write_bytes(gzip.compress("\n".join(text).encode(), mtime=0))
    # WHEN / THEN
    with pytest.raises(
        SourceError,
        match=r"cur-a-00001\.csv\.gz: column resource_tags, data row 2: expected a JSON "
        r"object of strings, got '\[1, 2\]'",
    ):
        aws_cur.extract(MONTH, settings, org_config)
