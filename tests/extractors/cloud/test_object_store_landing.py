"""The landing zone in an object store, S3 and GCS alike, and its mirror for the build.

Each test runs against S3 (moto's mock_aws, real boto3) and against GCS
(gcp-storage-emulator in process, the real google-cloud-storage client).
GIVEN ``AI_CARBON_LANDING=s3://landing-bucket/prod`` (or ``gs://...``) and the
same loads landed on a local folder, THEN the store holds each partition as
an attempt object behind a pointer, a crash before the pointer leaves the old
partition visible, an identical redelivery is recognised by checksum, the
ledger is one object per load, quarantine is kept the same way, and the
mirror the build reads has the local landing's layout and bytes, synced
incrementally. On GCS, generation preconditions also refuse a pointer that
changed since it was read.
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
from gcs_emulator import running_emulator
from google.api_core import exceptions as gx
from google.cloud import storage
from moto import mock_aws

from extractors import landing as landing_module
from extractors.errors import ConfigError, CredentialsError, SourceError, SourceUnavailable
from extractors.gcs_store import GcsStore
from extractors.landing import (
    LoadRecord,
    ObjectLanding,
    Quarantine,
    TableParts,
    land,
    land_table,
    landed_checksum,
    landing_store,
    read_ledger,
)
from extractors.object_store import S3Store
from extractors.settings import Settings
from transform import landing_sync
from transform.build import BuildError
from transform.landing_sync import landing_for_dbt, sync

BUCKET = "landing-bucket"
PART = "aws_cur/line_items/month=2025-01"


class Bucket:
    """The test's own view of the landing bucket, through the store's own client."""

    def __init__(self, scheme: str, client) -> None:
        self.scheme = scheme
        self.client = client
        self.url = f"{scheme}://{BUCKET}/prod"
        self.store_class = S3Store if scheme == "s3" else GcsStore

    def listed(self, prefix: str = "prod/") -> list[str]:
        if self.scheme == "s3":
            answer = self.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
            return sorted(item["Key"] for item in answer.get("Contents", []))
        return sorted(blob.name for blob in self.client.list_blobs(BUCKET, prefix=prefix))

    def get(self, key: str) -> bytes:
        if self.scheme == "s3":
            return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return self.client.bucket(BUCKET).blob(key).download_as_bytes()

    def put(self, key: str, data: bytes) -> None:
        if self.scheme == "s3":
            self.client.put_object(Bucket=BUCKET, Key=key, Body=data)
        else:
            self.client.bucket(BUCKET).blob(key).upload_from_string(data)

    def pointer(self, rel: str = PART) -> dict:
        return json.loads(self.get(f"prod/{rel}/_current.json"))

    def visible(self, rel: str = PART) -> list[int]:
        """The x column of the partition a reader sees by following the pointer."""
        body = self.get(f"prod/{self.pointer(rel)['object']}")
        return pq.read_table(pa.BufferReader(body))["x"].to_pylist()

    def attempts(self) -> list[str]:
        return [key for key in self.listed() if "/_attempts/" in key]


@pytest.fixture
def s3_bucket(monkeypatch, tmp_path):
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
        yield Bucket("s3", client)


@pytest.fixture(scope="module")
def gcs_emulator():
    with running_emulator() as running:
        yield running


@pytest.fixture
def gcs_bucket(gcs_emulator, monkeypatch, tmp_path):
    """An empty bucket in the local GCS emulator, reached without credentials."""
    server, host = gcs_emulator
    server.wipe()
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud-config"))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
    client = storage.Client(project="test")
    client.create_bucket(BUCKET)
    return Bucket("gs", client)


@pytest.fixture(params=["s3", "gs"])
def bucket(request):
    return request.getfixturevalue({"s3": "s3_bucket", "gs": "gcs_bucket"}[request.param])


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


def test_the_setting_takes_an_s3_or_gs_url_and_refuses_other_schemes(monkeypatch):
    monkeypatch.setenv("AI_CARBON_LANDING", "s3://landing-bucket/prod/")
    assert Settings.from_env().landing == "s3://landing-bucket/prod"
    monkeypatch.setenv("AI_CARBON_LANDING", "gs://landing-bucket/prod/")
    assert Settings.from_env().landing == "gs://landing-bucket/prod"
    for url in ("az://landing/prod", "https://landing-bucket/prod", "gs:///prod"):
        monkeypatch.setenv("AI_CARBON_LANDING", url)
        with pytest.raises(ConfigError, match="not supported"):
            Settings.from_env()


@pytest.fixture
def no_grace(monkeypatch):
    """Unpublished attempts count as old at once (as if written over an hour ago)."""
    monkeypatch.setattr(landing_module, "ATTEMPT_GRACE", dt.timedelta(0))


def test_a_partition_is_an_attempt_behind_a_pointer_and_a_replace_switches_it(bucket, no_grace):
    # GIVEN a month landed in the object store
    first = land_x(bucket.url, [1, 2])
    # THEN a reader following the pointer sees its 2 rows, with the inputs' checksum
    assert first.status == "loaded" and first.landed_file == f"{PART}/part-0.parquet"
    assert bucket.visible() == [1, 2]
    assert bucket.pointer()["rows"] == 2 and bucket.pointer()["checksum"] == first.checksum
    # WHEN it is replaced twice
    land_x(bucket.url, [3])
    land_x(bucket.url, [4, 5, 6])
    # THEN the pointer names the newest attempt; the one it replaced is kept
    # (a sync may still be reading it), the first one is deleted
    assert bucket.visible() == [4, 5, 6]
    attempts = bucket.attempts()
    assert len(attempts) == 2
    assert f"prod/{bucket.pointer()['object']}" in attempts


def test_a_crash_before_the_pointer_leaves_the_old_partition_visible(bucket, monkeypatch, no_grace):
    # GIVEN a landed month
    land_x(bucket.url, [1, 2])
    before = bucket.pointer()

    # WHEN the next load dies after uploading its object, before the pointer
    def crash(self, *args):
        raise OSError("worker killed")

    publish = ObjectLanding._publish
    monkeypatch.setattr(ObjectLanding, "_publish", crash)
    with pytest.raises(OSError, match="worker killed"):
        land_x(bucket.url, [9])
    # THEN readers still see the old partition, and the ledger has one load only
    assert bucket.pointer() == before and bucket.visible() == [1, 2]
    assert [r["status"] for r in read_ledger(bucket.url)] == ["loaded"]
    assert len(bucket.attempts()) == 2  # one orphan
    # AND the next successful write deletes the orphan
    monkeypatch.setattr(ObjectLanding, "_publish", publish)
    land_x(bucket.url, [7])
    assert bucket.visible() == [7]
    assert len(bucket.attempts()) == 2  # new + the one it replaced


def test_a_load_written_part_by_part_that_fails_in_its_second_part_changes_nothing(
    bucket, tmp_path
):
    # GIVEN a landed month
    land_x(bucket.url, [1, 2])
    before, listed = bucket.pointer(), bucket.listed()
    # AND a redelivery landed part by part (as aws_cur lands its chunks),
    # whose second part fails half-way, after the first part was written
    delivered = tmp_path / "cur.parquet"
    delivered.write_bytes(b"a redelivery")

    def parts():
        yield pa.table({"x": pa.array([7, 8], pa.int32())})  # cast to the schema's int64
        raise SourceError("cur.parquet: column x, data row 3: expected a finite number")

    # WHEN / THEN the load fails with the part's error
    with pytest.raises(SourceError, match="data row 3"):
        land(
            bucket.url,
            source="aws_cur",
            dataset="line_items",
            partition="month=2025-01",
            files=[delivered],
            relative_to=tmp_path,
            build_table=lambda: TableParts(pa.schema([("x", pa.int64())]), parts()),
        )
    # AND readers still see the old partition: no attempt uploaded, no record
    assert bucket.pointer() == before and bucket.visible() == [1, 2]
    assert bucket.listed() == listed
    assert [r["status"] for r in read_ledger(bucket.url)] == ["loaded"]
    # AND the same delivery, whole, lands through the same writer
    record = land(
        bucket.url,
        source="aws_cur",
        dataset="line_items",
        partition="month=2025-01",
        files=[delivered],
        relative_to=tmp_path,
        build_table=lambda: TableParts(
            pa.schema([("x", pa.int64())]), [pa.table({"x": [7, 8]}), pa.table({"x": [9]})]
        ),
    )
    assert (record.status, record.rows, bucket.pointer()["rows"]) == ("loaded", 3, 3)
    assert bucket.visible() == [7, 8, 9]


def test_a_write_in_flight_beside_another_keeps_its_object(bucket):
    # GIVEN a landed month, and a second task (a backfill) that has uploaded
    # its attempt of the same month but not yet written its pointer
    land_x(bucket.url, [1])
    in_flight = f"{PART}/_attempts/{landing_module._attempt_id()}/part-0.parquet"
    bucket.put(f"prod/{in_flight}", b"PAR1 its rows")
    # WHEN the first task lands the month again
    land_x(bucket.url, [2])
    # THEN the other task's object is still there for its pointer (it is less
    # than ATTEMPT_GRACE old), beside the new attempt and the one it replaced
    assert f"prod/{in_flight}" in bucket.listed()
    assert len(bucket.attempts()) == 3


def test_an_identical_redelivery_is_recognised_by_checksum(bucket):
    # GIVEN a landed month
    first = land_x(bucket.url, [1, 2])
    objects = bucket.listed()
    # WHEN the same rows are delivered again
    again = land_x(bucket.url, [1, 2])
    # THEN nothing is written but a second ledger record, "unchanged", same rows
    assert again.status == "unchanged" and again.rows == 2 and again.checksum == first.checksum
    assert landed_checksum(bucket.url, "aws_cur", "line_items", "month=2025-01") == first.checksum
    new = sorted(set(bucket.listed()) - set(objects))
    assert len(new) == 1 and new[0].startswith("prod/_ledger/loads/")


def test_the_ledger_is_one_object_per_load_with_the_local_fields(bucket, tmp_path):
    # GIVEN three loads in the object store and the same three on a local folder
    for landing in (bucket.url, tmp_path / "landing"):
        land_x(landing, [1])
        land_x(landing, [1])
        land_x(landing, [1, 2], month="2025-02")
    # THEN the store's ledger is three objects, and reads back oldest first with
    # the same fields and values (ids and times aside) as the local ledger
    assert len(bucket.listed("prod/_ledger/loads/")) == 3
    remote, local = read_ledger(bucket.url), read_ledger(tmp_path / "landing")
    assert set(remote[0]) == {f.name for f in dataclasses.fields(LoadRecord)}

    def comparable(records):
        return [{k: v for k, v in r.items() if k not in ("load_id", "loaded_at")} for r in records]

    assert comparable(remote) == comparable(local)
    assert [r["status"] for r in remote] == ["loaded", "unchanged", "loaded"]


def test_quarantine_is_kept_behind_its_own_pointer_and_cleared_by_a_clean_load(bucket):
    # GIVEN a load with 2 bad lines
    record = land_x(bucket.url, [1], bad_lines=2)
    # THEN they are a quarantine partition in the store, counted in the ledger
    q_rel = f"_quarantine/{PART}"
    assert record.quarantined == 2 and bucket.pointer(q_rel)["rows"] == 2
    # AND an identical redelivery still counts them
    assert land_x(bucket.url, [1], bad_lines=2).quarantined == 2
    # WHEN a corrected delivery has none
    land_x(bucket.url, [1, 5])
    # THEN the quarantine partition is gone: no pointer, no attempt left
    assert bucket.listed(f"prod/{q_rel}/") == []


def local_tree(folder: Path) -> dict[str, list[dict]]:
    """Every landed Parquet file under ``folder`` as rows, by relative path."""
    return {
        p.relative_to(folder).as_posix(): pq.read_table(p).to_pylist()
        for p in sorted(folder.rglob("*.parquet"))
    }


def test_the_mirror_has_the_local_layout_and_syncs_only_what_changed(bucket, tmp_path, monkeypatch):
    # GIVEN the same loads in the object store and on a local folder: two
    # months, one with a quarantined line
    local, mirror = tmp_path / "landing", tmp_path / "build" / "landing"
    for landing in (bucket.url, local):
        land_x(landing, [1, 2], bad_lines=1)
        land_x(landing, [3], month="2025-02")
    downloads = []
    real_download = bucket.store_class.download

    def counted(self, bucket, key, path):
        downloads.append(key)
        return real_download(self, bucket, key, path)

    monkeypatch.setattr(bucket.store_class, "download", counted)
    # WHEN the build syncs for the first time
    first = sync(bucket.url, mirror)
    # THEN it copies the 3 partitions (2 months + 1 quarantine), and the mirror
    # holds what the local landing holds, the ledger included
    assert first.copied == [f"_quarantine/{PART}", PART, "aws_cur/line_items/month=2025-02"]
    assert local_tree(mirror) == local_tree(local)
    ledger = (mirror / "_ledger" / "loads.jsonl").read_text().splitlines()
    assert first.records == 2 and len(ledger) == 2
    assert len(downloads) == 3
    # WHEN it syncs again with nothing landed in between
    second = sync(bucket.url, mirror)
    # THEN nothing is downloaded
    assert (second.copied, second.kept, second.records, len(downloads)) == ([], 3, 0, 3)
    # WHEN January is replaced by a clean delivery (its quarantine cleared)
    for landing in (bucket.url, local):
        land_x(landing, [1, 2, 4])
    third = sync(bucket.url, mirror)
    # THEN only January is downloaded, its quarantine is removed, 1 new record
    assert third.copied == [PART] and third.removed == [f"_quarantine/{PART}"]
    assert (third.kept, third.records, len(downloads)) == (1, 1, 4)
    assert local_tree(mirror) == local_tree(local)
    assert not (mirror / "_quarantine").exists()
    assert len((mirror / "_ledger" / "loads.jsonl").read_text().splitlines()) == 3


def test_a_mirrored_object_that_does_not_match_its_pointer_is_refused(bucket, tmp_path):
    # GIVEN a landed month whose object was overwritten behind the pointer's back
    land_x(bucket.url, [1, 2])
    bucket.put(f"prod/{bucket.pointer()['object']}", b"PAR1 something else")
    # WHEN the build syncs THEN it refuses, naming the object, and mirrors nothing
    with pytest.raises(SourceError, match="sha256"):
        sync(bucket.url, tmp_path / "mirror")
    assert not (tmp_path / "mirror" / PART / "part-0.parquet").exists()


def test_a_mirror_path_dbt_cannot_read_safely_is_refused_before_any_download(bucket, tmp_path):
    land_x(bucket.url, [1])
    settings = Settings(sources=tmp_path, landing=bucket.url, config=tmp_path)
    with pytest.raises(BuildError, match='contains "\'"'):
        landing_for_dbt(settings, tmp_path / "it's")
    assert not (tmp_path / "it's").exists()


def test_the_build_reads_the_mirror_only_when_the_landing_is_in_an_object_store(bucket, tmp_path):
    settings = Settings(sources=tmp_path / "sources", landing=tmp_path / "landing", config=tmp_path)
    assert landing_for_dbt(settings, tmp_path / "build") is settings
    land_x(bucket.url, [1])
    remote = dataclasses.replace(settings, landing=bucket.url)
    mirrored = landing_for_dbt(remote, tmp_path / "build")
    assert mirrored.landing == tmp_path / "build" / landing_sync.MIRROR_FOLDER
    assert (mirrored.landing / PART / "part-0.parquet").is_file()


# GCS only: what its generation preconditions add.


@pytest.mark.parametrize("loses_at", ["write", "_publish"])
def test_on_gcs_a_pointer_replaced_since_it_was_read_fails_the_load_and_keeps_the_other(
    gcs_bucket, monkeypatch, loses_at
):
    # GIVEN a landed month, and a load of the same month that has read the
    # pointer (to compare checksums) and, before it writes ("write") or
    # between its upload and its pointer ("_publish"), loses the race to
    # another load of the month
    land_x(gcs_bucket.url, [1])
    step = getattr(ObjectLanding, loses_at)

    def raced(self, *args, **kwargs):
        monkeypatch.setattr(ObjectLanding, loses_at, step)
        land_x(gcs_bucket.url, [2])  # the other task: a backfill of the same month
        return step(self, *args, **kwargs)

    monkeypatch.setattr(ObjectLanding, loses_at, raced)
    # WHEN the first load publishes THEN GCS refuses its pointer (it is not the
    # generation read) and the load fails retryably, before its ledger record
    with pytest.raises(SourceUnavailable, match="changed since it was read"):
        land_x(gcs_bucket.url, [3])
    # AND the other task's partition is the one visible, its load the last recorded
    assert gcs_bucket.visible() == [2]
    assert [r["rows"] for r in read_ledger(gcs_bucket.url)] == [1, 1]
    # AND the retry lands
    assert land_x(gcs_bucket.url, [3]).status == "loaded" and gcs_bucket.visible() == [3]


def test_on_gcs_an_attempt_or_record_never_overwrites_an_object(gcs_bucket):
    # GIVEN an object already at a key (a colliding attempt id)
    store = landing_store(gcs_bucket.url).store
    gcs_bucket.put("prod/taken", b"first")
    # WHEN the landing creates an object there (precondition: generation 0)
    # THEN GCS refuses and the object keeps its bytes
    with pytest.raises(SourceUnavailable):
        store.put_bytes(BUCKET, "prod/taken", b"second", "text/plain", if_generation_match=0)
    assert gcs_bucket.get("prod/taken") == b"first"


def test_gcs_errors_are_translated_without_the_server_text(gcs_bucket):
    store = landing_store(gcs_bucket.url).store
    secret = "ya29.a0-planted-access-token"

    def refused():
        raise gx.Forbidden(f"token {secret} lacks storage.objects.create")

    def throttled():
        raise gx.TooManyRequests(f"slow down {secret}")

    with pytest.raises(CredentialsError, match="HTTP 403") as denied:
        store._call("writing gs://landing-bucket/prod/x", refused)
    with pytest.raises(SourceUnavailable, match="HTTP 429") as slowed:
        store._call("writing gs://landing-bucket/prod/x", throttled)
    assert secret not in str(denied.value) and secret not in str(slowed.value)
    assert denied.value.__cause__ is None and denied.value.__suppress_context__
