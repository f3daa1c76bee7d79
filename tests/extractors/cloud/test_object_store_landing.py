"""The landing zone on S3 (moto's mock_aws, real boto3), and its mirror for the build.

GIVEN ``AI_CARBON_LANDING=s3://landing-bucket/prod`` and the same loads landed
on a local folder, THEN S3 holds each partition as an attempt object behind
a pointer, a crash before the pointer leaves the old partition visible, an
identical redelivery is recognised by checksum, the ledger is one object per
load, quarantine is kept the same way, and the mirror the build reads has the
local landing's layout and bytes, synced incrementally.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from extractors import landing as landing_module
from extractors.errors import ConfigError, SourceError
from extractors.landing import (
    LoadRecord,
    Quarantine,
    S3Landing,
    land_table,
    landed_checksum,
    read_ledger,
)
from extractors.object_store import S3Store
from extractors.settings import Settings
from transform import landing_sync
from transform.build import BuildError
from transform.landing_sync import landing_for_dbt, sync

BUCKET = "landing-bucket"
URL = f"s3://{BUCKET}/prod"
PART = "aws_cur/line_items/month=2025-01"


@pytest.fixture
def s3(monkeypatch, tmp_path):
    """An empty bucket in moto, with harmless credentials and no profile files."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(client, prefix: str = "prod/") -> list[str]:
    answer = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def pointer(client, rel: str = PART) -> dict:
    body = client.get_object(Bucket=BUCKET, Key=f"prod/{rel}/_current.json")["Body"].read()
    return json.loads(body)


def visible(client, rel: str = PART) -> list[int]:
    """The x column of the partition a reader sees by following the pointer."""
    body = client.get_object(Bucket=BUCKET, Key=f"prod/{pointer(client, rel)['object']}")
    return pq.read_table(pa.BufferReader(body["Body"].read()))["x"].to_pylist()


def land_x(landing, values: list[int], bad_lines: int = 0, month: str = "2025-01"):
    """Land a table of ``x`` values (and ``bad_lines`` quarantined lines) as aws_cur."""
    partition = f"month={month}"
    quarantine = Quarantine("aws_cur", "line_items", partition)
    for n in range(bad_lines):
        quarantine.add("cur.csv", "not a number", line_number=n + 2, raw="x")
    return land_table(
        landing,
        source="aws_cur",
        dataset="line_items",
        partition=partition,
        inputs=["cur.csv"],
        table=pa.table({"x": pa.array(values, pa.int64())}),
        quarantine=quarantine,
    )


def test_the_setting_takes_an_s3_url_and_refuses_other_schemes(monkeypatch):
    monkeypatch.setenv("AI_CARBON_LANDING", "s3://landing-bucket/prod/")
    assert Settings.from_env().landing == URL
    monkeypatch.setenv("AI_CARBON_LANDING", "gs://landing-bucket/prod")
    with pytest.raises(ConfigError, match="not supported"):
        Settings.from_env()


@pytest.fixture
def no_grace(monkeypatch):
    """Unpublished attempts count as old at once (as if written over an hour ago)."""
    monkeypatch.setattr(landing_module, "ATTEMPT_GRACE", dt.timedelta(0))


def test_a_partition_is_an_attempt_behind_a_pointer_and_a_replace_switches_it(s3, no_grace):
    # GIVEN a month landed on S3
    first = land_x(URL, [1, 2])
    # THEN a reader following the pointer sees its 2 rows, with the inputs' checksum
    assert first.status == "loaded" and first.landed_file == f"{PART}/part-0.parquet"
    assert visible(s3) == [1, 2]
    assert pointer(s3)["rows"] == 2 and pointer(s3)["checksum"] == first.checksum
    # WHEN it is replaced twice
    land_x(URL, [3])
    land_x(URL, [4, 5, 6])
    # THEN the pointer names the newest attempt; the one it replaced is kept
    # (a sync may still be reading it), the first one is deleted
    assert visible(s3) == [4, 5, 6]
    attempts = [k for k in keys(s3) if "/_attempts/" in k]
    assert len(attempts) == 2
    assert f"prod/{pointer(s3)['object']}" in attempts


def test_a_crash_before_the_pointer_leaves_the_old_partition_visible(s3, monkeypatch, no_grace):
    # GIVEN a landed month
    land_x(URL, [1, 2])
    before = pointer(s3)

    # WHEN the next load dies after uploading its object, before the pointer
    def crash(self, rel, new_pointer):
        raise OSError("worker killed")

    publish = S3Landing._publish
    monkeypatch.setattr(S3Landing, "_publish", crash)
    with pytest.raises(OSError, match="worker killed"):
        land_x(URL, [9])
    # THEN readers still see the old partition, and the ledger has one load only
    assert pointer(s3) == before and visible(s3) == [1, 2]
    assert [r["status"] for r in read_ledger(URL)] == ["loaded"]
    assert len([k for k in keys(s3) if "/_attempts/" in k]) == 2  # one orphan
    # AND the next successful write deletes the orphan
    monkeypatch.setattr(S3Landing, "_publish", publish)
    land_x(URL, [7])
    assert visible(s3) == [7]
    assert len([k for k in keys(s3) if "/_attempts/" in k]) == 2  # new + the one it replaced


def test_a_write_in_flight_beside_another_keeps_its_object(s3):
    # GIVEN a landed month, and a second task (a backfill) that has uploaded
    # its attempt of the same month but not yet written its pointer
    land_x(URL, [1])
    in_flight = f"{PART}/_attempts/{landing_module._attempt_id()}/part-0.parquet"
    s3.put_object(Bucket=BUCKET, Key=f"prod/{in_flight}", Body=b"PAR1 its rows")
    # WHEN the first task lands the month again
    land_x(URL, [2])
    # THEN the other task's object is still there for its pointer (it is less
    # than ATTEMPT_GRACE old), beside the new attempt and the one it replaced
    assert f"prod/{in_flight}" in keys(s3)
    assert len([k for k in keys(s3) if "/_attempts/" in k]) == 3


def test_an_identical_redelivery_is_recognised_by_checksum(s3):
    # GIVEN a landed month
    first = land_x(URL, [1, 2])
    objects = keys(s3)
    # WHEN the same rows are delivered again
    again = land_x(URL, [1, 2])
    # THEN nothing is written but a second ledger record, "unchanged", same rows
    assert again.status == "unchanged" and again.rows == 2 and again.checksum == first.checksum
    assert landed_checksum(URL, "aws_cur", "line_items", "month=2025-01") == first.checksum
    new = sorted(set(keys(s3)) - set(objects))
    assert len(new) == 1 and new[0].startswith("prod/_ledger/loads/")


def test_the_ledger_is_one_object_per_load_with_the_local_fields(s3, tmp_path):
    # GIVEN three loads on S3 and the same three on a local folder
    for landing in (URL, tmp_path / "landing"):
        land_x(landing, [1])
        land_x(landing, [1])
        land_x(landing, [1, 2], month="2025-02")
    # THEN the S3 ledger is three objects, and reads back oldest first with the
    # same fields and values (ids and times aside) as the local ledger
    assert len(keys(s3, "prod/_ledger/loads/")) == 3
    on_s3, local = read_ledger(URL), read_ledger(tmp_path / "landing")
    assert set(on_s3[0]) == {f.name for f in dataclasses.fields(LoadRecord)}

    def comparable(records):
        return [{k: v for k, v in r.items() if k not in ("load_id", "loaded_at")} for r in records]

    assert comparable(on_s3) == comparable(local)
    assert [r["status"] for r in on_s3] == ["loaded", "unchanged", "loaded"]


def test_quarantine_is_kept_behind_its_own_pointer_and_cleared_by_a_clean_load(s3):
    # GIVEN a load with 2 bad lines
    record = land_x(URL, [1], bad_lines=2)
    # THEN they are a quarantine partition on S3, counted in the ledger
    q_rel = f"_quarantine/{PART}"
    assert record.quarantined == 2 and pointer(s3, q_rel)["rows"] == 2
    # AND an identical redelivery still counts them
    assert land_x(URL, [1], bad_lines=2).quarantined == 2
    # WHEN a corrected delivery has none
    land_x(URL, [1, 5])
    # THEN the quarantine partition is gone: no pointer, no attempt left
    assert keys(s3, f"prod/{q_rel}/") == []


def local_tree(folder: Path) -> dict[str, list[dict]]:
    """Every landed Parquet file under ``folder`` as rows, by relative path."""
    return {
        p.relative_to(folder).as_posix(): pq.read_table(p).to_pylist()
        for p in sorted(folder.rglob("*.parquet"))
    }


def test_the_mirror_has_the_local_layout_and_syncs_only_what_changed(s3, tmp_path, monkeypatch):
    # GIVEN the same loads on S3 and on a local folder: two months, one with
    # a quarantined line
    local, mirror = tmp_path / "landing", tmp_path / "build" / "landing"
    for landing in (URL, local):
        land_x(landing, [1, 2], bad_lines=1)
        land_x(landing, [3], month="2025-02")
    downloads = []
    real_download = S3Store.download

    def counted(self, bucket, key, path):
        downloads.append(key)
        return real_download(self, bucket, key, path)

    monkeypatch.setattr(S3Store, "download", counted)
    # WHEN the build syncs for the first time
    first = sync(URL, mirror)
    # THEN it copies the 3 partitions (2 months + 1 quarantine), and the mirror
    # holds what the local landing holds, the ledger included
    assert first.copied == [f"_quarantine/{PART}", PART, "aws_cur/line_items/month=2025-02"]
    assert local_tree(mirror) == local_tree(local)
    ledger = (mirror / "_ledger" / "loads.jsonl").read_text().splitlines()
    assert first.records == 2 and len(ledger) == 2
    assert len(downloads) == 3
    # WHEN it syncs again with nothing landed in between
    second = sync(URL, mirror)
    # THEN nothing is downloaded
    assert (second.copied, second.kept, second.records, len(downloads)) == ([], 3, 0, 3)
    # WHEN January is replaced by a clean delivery (its quarantine cleared)
    for landing in (URL, local):
        land_x(landing, [1, 2, 4])
    third = sync(URL, mirror)
    # THEN only January is downloaded, its quarantine is removed, 1 new record
    assert third.copied == [PART] and third.removed == [f"_quarantine/{PART}"]
    assert (third.kept, third.records, len(downloads)) == (1, 1, 4)
    assert local_tree(mirror) == local_tree(local)
    assert not (mirror / "_quarantine").exists()
    assert len((mirror / "_ledger" / "loads.jsonl").read_text().splitlines()) == 3


def test_a_mirrored_object_that_does_not_match_its_pointer_is_refused(s3, tmp_path):
    # GIVEN a landed month whose object was overwritten behind the pointer's back
    land_x(URL, [1, 2])
    key = f"prod/{pointer(s3)['object']}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"PAR1 something else")
    # WHEN the build syncs THEN it refuses, naming the object, and mirrors nothing
    with pytest.raises(SourceError, match="sha256"):
        sync(URL, tmp_path / "mirror")
    assert not (tmp_path / "mirror" / PART / "part-0.parquet").exists()


def test_a_mirror_path_dbt_cannot_read_safely_is_refused_before_any_download(s3, tmp_path):
    land_x(URL, [1])
    settings = Settings(sources=tmp_path, landing=URL, config=tmp_path)
    with pytest.raises(BuildError, match='contains "\'"'):
        landing_for_dbt(settings, tmp_path / "it's")
    assert not (tmp_path / "it's").exists()


def test_the_build_reads_the_mirror_only_when_the_landing_is_on_s3(s3, tmp_path):
    settings = Settings(sources=tmp_path / "sources", landing=tmp_path / "landing", config=tmp_path)
    assert landing_for_dbt(settings, tmp_path / "build") is settings
    land_x(URL, [1])
    on_s3 = dataclasses.replace(settings, landing=URL)
    mirrored = landing_for_dbt(on_s3, tmp_path / "build")
    assert mirrored.landing == tmp_path / "build" / landing_sync.MIRROR_FOLDER
    assert (mirrored.landing / PART / "part-0.parquet").is_file()
