"""AWS Data Exports read from S3 (moto's mock_aws, real boto3): CUR 2.0, carbon, FOCUS.

Objects are laid out exactly as AWS delivers them: data chunks under
``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/``, then the manifest under
``metadata/``; carbon under ``data/model_version=<v>/usage_period=YYYY-MM/``.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import logging
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from cloud_fakes import (
    CARBON_TOTALS,
    CARBON_WITH_SCOPES,
    CUR_SCHEMA,
    carbon_row,
    cur_row,
    parquet_bytes,
)
from moto import mock_aws

from extractors import aws_carbon, aws_cur, aws_focus
from extractors.errors import SourceError
from extractors.object_store import LocalStore, checked_key

MONTH = "2025-01"
UTC = dt.UTC


class S3Export:
    """One Data Exports export in a (moto) bucket, written the way AWS writes it."""

    def __init__(self, s3, bucket: str, prefix: str, name: str) -> None:
        self.s3, self.bucket, self.prefix, self.name = s3, bucket, prefix, name

    def root(self) -> str:
        return f"{self.prefix}/{self.name}"

    def chunk_key(self, number: int, month: str = MONTH, ext: str = ".snappy.parquet") -> str:
        return f"{self.root()}/data/BILLING_PERIOD={month}/{self.name}-{number:05d}{ext}"

    def manifest_key(self, month: str = MONTH) -> str:
        return f"{self.root()}/metadata/BILLING_PERIOD={month}/{self.name}-Manifest.json"

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key

    def write_manifest(self, keys: list[str], month: str = MONTH, execution_id: str = "e1"):
        manifest = {
            "executionId": execution_id,
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:111111111111:export/{self.name}",
            "billingPeriod": {"start": f"{month}-01T00:00:00.000Z"},
            "columns": [{"name": f.name, "type": str(f.type)} for f in CUR_SCHEMA],
            "dataFiles": [f"s3://{self.bucket}/{key}" for key in keys],
        }
        self.put(self.manifest_key(month), json.dumps(manifest).encode())

    def deliver(self, *tables: pa.Table, month: str = MONTH, execution_id: str = "e1"):
        keys = [
            self.put(self.chunk_key(n, month), parquet_bytes(table))
            for n, table in enumerate(tables, 1)
        ]
        self.write_manifest(keys, month, execution_id)  # written last, as AWS does
        return keys


def cur_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=CUR_SCHEMA)


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="billing")
        yield client


@pytest.fixture
def cur(s3) -> S3Export:
    return S3Export(s3, "billing", "cur2", "cur-a")


@pytest.fixture
def s3_config(config_doc, write_config):
    """The test organisation reading every AWS export from S3."""

    def load(**sections):
        from extractors.org_config import load_config

        doc = config_doc
        doc["sources"]["aws_cur"] = {
            "storage": "s3",
            "region": "us-east-1",
            "bucket": "billing",
            "prefix": "cur2",
            "exports": ["cur-a"],
        }
        doc["sources"]["aws_carbon"] = {
            "storage": "s3",
            "bucket": "billing",
            "prefix": "carbon",
            "exports": ["carbon"],
        }
        doc["sources"]["aws_focus"] = {
            "storage": "s3",
            "bucket": "billing",
            "prefix": "focus",
            "exports": ["focus-a"],
        }
        doc["sources"].update(sections)
        return load_config(write_config(doc))

    return load


def test_cur_from_s3_lands_exactly_the_listed_chunks(cur, s3_config, settings, landed, sources):
    # GIVEN a billing period of two chunks and a stale chunk the manifest does not list
    cur.put(cur.chunk_key(9), parquet_bytes(cur_table([cur_row(99, cost=500.0)])))
    cur.deliver(cur_table([cur_row(i, 1.5) for i in range(3)]), cur_table([cur_row(3, 2.0)]))
    # WHEN the month is extracted from S3
    [record] = aws_cur.extract(MONTH, settings, s3_config())
    # THEN exactly the four listed rows land, named as in the local layout
    assert (record.status, record.rows) == ("loaded", 4)
    table = landed.table("aws_cur", "line_items")
    assert sum(table["line_item_unblended_cost"].to_pylist()) == pytest.approx(6.5)
    assert table["line_item_usage_start_date"][0].as_py() == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert sorted(set(table["_source_file"].to_pylist())) == [
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet",
        "aws/billing/cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00002.snappy.parquet",
    ]
    # AND the ledger names the manifest; the mirror holds the bytes that were landed
    assert "aws/billing/cur2/cur-a/metadata/BILLING_PERIOD=2025-01/cur-a-Manifest.json" in (
        record.files
    )
    assert (sources / "aws/billing" / cur.chunk_key(1)).is_file()
    assert not (sources / "aws/billing" / cur.chunk_key(9)).exists()


def test_rerun_is_unchanged_and_downloads_nothing_again(cur, s3_config, settings, sources):
    # GIVEN a month landed from S3
    cur.deliver(cur_table([cur_row(0)]))
    config = s3_config()
    aws_cur.extract(MONTH, settings, config)
    mirrored = sources / "aws/billing" / cur.chunk_key(1)
    first = mirrored.stat().st_mtime_ns
    # WHEN it is extracted again with nothing redelivered
    [record] = aws_cur.extract(MONTH, settings, config)
    # THEN the load is unchanged and the mirrored chunk was not rewritten
    assert (record.status, record.rows) == ("unchanged", 1)
    assert mirrored.stat().st_mtime_ns == first


def test_redelivery_with_fewer_chunks_replaces_the_month_whole(cur, s3_config, settings, landed):
    # GIVEN a month landed from two chunks
    config = s3_config()
    cur.deliver(cur_table([cur_row(0), cur_row(1)]), cur_table([cur_row(2)]))
    aws_cur.extract(MONTH, settings, config)
    # WHEN AWS redelivers the month as one chunk (the old chunk 2 still in the bucket)
    cur.deliver(cur_table([cur_row(0, cost=7.0)]), execution_id="e2")
    [record] = aws_cur.extract(MONTH, settings, config)
    # THEN the partition is exactly the redelivery
    assert (record.status, record.rows) == ("loaded", 1)
    assert landed.table("aws_cur", "line_items")["line_item_unblended_cost"].to_pylist() == [7.0]


def test_listed_chunk_missing_is_named_and_nothing_changes(
    cur, s3_config, settings, landed, ledger
):
    # GIVEN a landed month
    config = s3_config()
    cur.deliver(cur_table([cur_row(0)]))
    aws_cur.extract(MONTH, settings, config)
    before = landed.path("aws_cur", "line_items").read_bytes()
    # WHEN a new manifest lists a chunk that is not in the bucket
    present = cur.put(cur.chunk_key(1), parquet_bytes(cur_table([cur_row(0), cur_row(1)])))
    cur.write_manifest([present, cur.chunk_key(2)], execution_id="e2")
    # THEN the error names the missing chunk; the partition and ledger are as before
    with pytest.raises(SourceError, match=r"cur-a-00002\.snappy\.parquet, which is missing"):
        aws_cur.extract(MONTH, settings, config)
    assert landed.path("aws_cur", "line_items").read_bytes() == before
    assert [r["status"] for r in ledger()] == ["loaded"]


def test_chunk_that_is_not_parquet_is_named_and_nothing_changes(
    cur, s3_config, settings, landed, ledger
):
    config = s3_config()
    cur.deliver(cur_table([cur_row(0)]))
    aws_cur.extract(MONTH, settings, config)
    before = landed.path("aws_cur", "line_items").read_bytes()
    # WHEN the redelivered chunk is not Parquet (an HTML error page, say)
    cur.put(cur.chunk_key(1), b"<html>503 Service Unavailable</html>")
    cur.write_manifest([cur.chunk_key(1)], execution_id="e2")
    # THEN
    with pytest.raises(SourceError, match=r"cur-a-00001\.snappy\.parquet: cannot be read"):
        aws_cur.extract(MONTH, settings, config)
    assert landed.path("aws_cur", "line_items").read_bytes() == before
    assert len(ledger()) == 1


def test_csv_gz_chunks_with_credits_and_a_new_column(cur, s3_config, settings, landed, caplog):
    # GIVEN a csv.gz delivery: a credit (negative cost) and a column AWS added recently
    rows = [cur_row(0, cost=3.0), cur_row(1, cost=-1.25, line_item_line_item_type="Credit")]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = [*CUR_SCHEMA.names, "split_line_item_split_cost"]
    writer.writerow(names)
    for row in rows:
        values = []
        for name in names:
            value = row.get(name, "0.5")
            if isinstance(value, dt.datetime):
                value = value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            elif isinstance(value, list):
                value = json.dumps(dict(value))
            values.append(value)
        writer.writerow(values)
    key = cur.put(cur.chunk_key(1, ext=".csv.gz"), gzip.compress(buffer.getvalue().encode()))
    cur.write_manifest([key])
    # WHEN
    with caplog.at_level(logging.INFO, logger="extractors"):
        [record] = aws_cur.extract(MONTH, settings, s3_config())
    # THEN the credit lands negative (not dropped), typed, and the new column is kept and logged
    table = landed.table("aws_cur", "line_items")
    assert record.rows == 2
    assert table["line_item_unblended_cost"].to_pylist() == [3.0, -1.25]
    assert table["line_item_line_item_type"].to_pylist() == ["Usage", "Credit"]
    assert table["split_line_item_split_cost"].to_pylist() == ["0.5", "0.5"]
    assert "split_line_item_split_cost" in caplog.text


def test_required_column_missing_is_named(cur, s3_config, settings, landing):
    cur.deliver(cur_table([cur_row(0)]).drop_columns(["line_item_usage_amount"]))
    with pytest.raises(SourceError, match="line_item_usage_amount is missing"):
        aws_cur.extract(MONTH, settings, s3_config())
    assert not (landing / "aws_cur").exists()


def test_empty_billing_period_lands_an_empty_month(cur, s3_config, settings, landed):
    # GIVEN a delivered month with no line items (a manifest listing no files)
    cur.write_manifest([])
    [record] = aws_cur.extract(MONTH, settings, s3_config())
    assert record.rows == 0
    assert "line_item_unblended_cost" in landed.table("aws_cur", "line_items").column_names


def test_month_without_manifest_is_not_delivered(cur, s3_config, settings, landing):
    cur.put(cur.chunk_key(1), parquet_bytes(cur_table([cur_row(0)])))
    assert aws_cur.extract(MONTH, settings, s3_config()) == []
    assert not landing.exists()


def test_several_payer_accounts_one_through_an_assumed_role(s3, s3_config, settings, landed):
    # GIVEN a second payer account whose export sits in its own bucket, read via a role
    s3.create_bucket(Bucket="payer-b-billing")
    S3Export(s3, "billing", "cur2", "cur-a").deliver(cur_table([cur_row(0, 1.0)]))
    S3Export(s3, "payer-b-billing", "exports/cur", "cur-b").deliver(
        cur_table([cur_row(1, 2.0, payer="333333333333")])
    )
    role = "arn:aws:iam::333333333333:role/carbon-reader"
    config = s3_config(
        aws_cur={
            "storage": "s3",
            "bucket": "billing",
            "prefix": "cur2",
            "exports": [
                "cur-a",
                {
                    "name": "cur-b",
                    "bucket": "payer-b-billing",
                    "prefix": "exports/cur",
                    "role_arn": role,
                },
            ],
        }
    )
    # WHEN the month is extracted
    [record] = aws_cur.extract(MONTH, settings, config)
    # THEN both payers land in one partition, and the role was assumed through STS
    table = landed.table("aws_cur", "line_items")
    assert record.rows == 2
    assert sorted(table["bill_payer_account_id"].to_pylist()) == ["111111111111", "333333333333"]
    from moto.sts.models import sts_backends

    assumed = sts_backends["333333333333"]["aws"].assumed_roles
    assert [(r.role_arn, r.session_name) for r in assumed] == [(role, "ai-carbon-extract")]


# --- the carbon export ----------------------------------------------------------


def put_carbon(s3, version: str, table: pa.Table, month: str = MONTH, ext=".snappy.parquet"):
    key = f"carbon/carbon/data/model_version={version}/usage_period={month}/carbon-00001{ext}"
    s3.put_object(Bucket="billing", Key=key, Body=parquet_bytes(table))
    return key


def test_carbon_keeps_both_model_versions_and_both_schemas(s3, s3_config, settings, landed):
    # GIVEN the month in model v2.0.0 (totals only) and, after a model change, v3.0.0 (per scope)
    refreshed_v2 = dt.datetime(2025, 3, 20, 6, 0, tzinfo=UTC)
    refreshed_v3 = dt.datetime(2025, 4, 21, 6, 0, tzinfo=UTC)
    old = pa.Table.from_pylist(
        [carbon_row("v2.0.0", 1.0, refreshed_v2, scopes=False)], schema=CARBON_TOTALS
    )
    new = pa.Table.from_pylist(
        [carbon_row("v3.0.0", 1.2, refreshed_v3, scopes=True)], schema=CARBON_WITH_SCOPES
    )
    put_carbon(s3, "v2.0.0", old)
    put_carbon(s3, "v3.0.0", new)
    put_carbon(s3, "v3.0.0", new, month="2024-12")  # another month, not read
    # WHEN
    [record] = aws_carbon.extract(MONTH, settings, s3_config())
    # THEN both versions land, each with its refresh time; scopes null where not delivered
    table = landed.table("aws_carbon", "emissions").sort_by("model_version")
    assert record.rows == 2
    assert table["model_version"].to_pylist() == ["v2.0.0", "v3.0.0"]
    assert table["last_refresh_timestamp"].to_pylist() == [refreshed_v2, refreshed_v3]
    assert table["total_scope_1_emissions_value"].to_pylist() == [None, pytest.approx(0.12)]
    assert table["total_scope_3_mbm_emissions_unit"].to_pylist() == [None, "MTCO2e"]


def test_carbon_unknown_unit_is_refused_and_the_month_kept(s3, s3_config, settings, landed, ledger):
    refreshed = dt.datetime(2025, 3, 20, tzinfo=UTC)
    good = pa.Table.from_pylist([carbon_row("v3.0.0", 1.0, refreshed, True)], CARBON_WITH_SCOPES)
    put_carbon(s3, "v3.0.0", good)
    config = s3_config()
    aws_carbon.extract(MONTH, settings, config)
    before = landed.path("aws_carbon", "emissions").read_bytes()
    # WHEN a redelivery reports kilograms
    bad = carbon_row("v3.0.0", 1000.0, refreshed, True, total_lbm_emissions_unit="kgCO2e")
    put_carbon(s3, "v3.0.0", pa.Table.from_pylist([bad], CARBON_WITH_SCOPES))
    # THEN the unit is named, and the month is as before
    with pytest.raises(
        SourceError, match=r"expected unit 'MTCO2e' \(metric tonnes\), got 'kgCO2e'"
    ):
        aws_carbon.extract(MONTH, settings, config)
    assert landed.path("aws_carbon", "emissions").read_bytes() == before
    assert len(ledger()) == 1


def test_keys_that_would_escape_the_bucket_folder_are_refused(sources):
    # Keys from a listing are mapped to local paths only after checking them.
    store = LocalStore(sources)
    for key in ("../etc/passwd", "/abs/key", "a//b", "a/./b", "a\\b"):
        with pytest.raises(SourceError, match="cannot be mapped to a local path"):
            store.local_path("billing", key)
    assert checked_key("billing", "carbon/data/x.parquet").parts == ("carbon", "data", "x.parquet")


# --- the FOCUS 1.2 export -------------------------------------------------------


def focus_table(rows: int, month: str = MONTH) -> pa.Table:
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "BillingPeriodStart": pa.array([start] * rows, pa.timestamp("ms", tz="UTC")),
            "BillingPeriodEnd": pa.array([end] * rows, pa.timestamp("ms", tz="UTC")),
            "ChargePeriodStart": pa.array([start] * rows, pa.timestamp("ms", tz="UTC")),
            "ChargePeriodEnd": pa.array(
                [start + dt.timedelta(hours=1)] * rows, pa.timestamp("ms", tz="UTC")
            ),
            "ChargeCategory": ["Usage"] * (rows - 1) + ["Credit"],
            "ProviderName": ["AWS"] * rows,
            "ServiceName": ["Amazon Elastic Compute Cloud"] * rows,
            "BilledCost": [2.0] * (rows - 1) + [-0.5],
            "EffectiveCost": [1.8] * (rows - 1) + [-0.5],
            "BillingCurrency": ["USD"] * rows,
            "Tags": pa.array([[("ai-system", "chat")]] * rows, pa.map_(pa.string(), pa.string())),
            "x_ServiceCode": ["AmazonEC2"] * rows,
            "x_Operation": ["RunInstances"] * rows,
            "x_Discounts": pa.array([[]] * rows, pa.map_(pa.string(), pa.float64())),
        }
    )


def test_aws_focus_export_lands_with_its_extensions(s3, s3_config, settings, landed):
    # GIVEN a FOCUS_1_2_AWS delivery: chunk and manifest
    export = S3Export(s3, "billing", "focus", "focus-a")
    export.deliver(focus_table(3))
    # WHEN
    [record] = aws_focus.extract(MONTH, settings, s3_config())
    # THEN FOCUS columns typed, the credit kept negative, x_ columns kept
    table = landed.table("aws_focus", "cost_line_items")
    assert (record.source, record.dataset, record.rows) == ("aws_focus", "cost_line_items", 3)
    assert table["BilledCost"].to_pylist() == [2.0, 2.0, -0.5]
    assert set(table["provider_source"].to_pylist()) == {"aws"}
    assert {"x_ServiceCode", "x_Operation", "x_Discounts"} <= set(table.column_names)
    assert table.schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    assert table["ResourceId"].null_count == 3  # conditional column absent: null


def test_aws_focus_rows_of_another_period_are_refused(s3, s3_config, settings, landing):
    export = S3Export(s3, "billing", "focus", "focus-a")
    export.deliver(focus_table(2, month="2024-12"))
    with pytest.raises(SourceError, match="BillingPeriodStart in 2024-12"):
        aws_focus.extract(MONTH, settings, s3_config())
    assert not landing.exists()


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
