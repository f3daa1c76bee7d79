"""Benchmark: landing on S3 (moto) or GCS (gcp-storage-emulator), in process,
and the build's mirror sync.

Generates the demo organisation's sources for ``--months`` months, lands them
with the extractors' command line once to ``s3://<bucket>/landing`` (or
``gs://``, ``--store gs``) and once to a local folder, then times the mirror
sync: the first (copies everything), a second with nothing landed in between
(copies nothing), and one after a single partition was replaced (copies only
it). Checks that the mirror holds the local folder's bytes, the replaced
partition aside.

    python bench/landing_object_store_sync.py [--months 12] [--store s3|gs]

Prints its figures. A benchmark, not a test: both stores answer from memory
on this machine, so the times measure this code's requests, not the cloud's
latency.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUCKET = "ai-carbon-bench"


def differing(left: Path, right: Path) -> list[str]:
    """Parquet files of ``left`` missing from ``right`` or with other bytes."""
    return [
        path.relative_to(left).as_posix()
        for path in sorted(left.rglob("*.parquet"))
        if not (right / path.relative_to(left)).is_file()
        or not filecmp.cmp(path, right / path.relative_to(left), shallow=False)
    ]


@contextlib.contextmanager
def s3_bucket():
    """An S3 bucket in moto; yields a function listing its keys."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKEFAKE",
        AWS_SECRET_ACCESS_KEY="fake-not-a-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)

        def keys() -> list[str]:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

        yield keys


@contextlib.contextmanager
def gcs_bucket():
    """A GCS bucket in gcp-storage-emulator on a free local port; yields a key lister."""
    import socket

    from gcp_storage_emulator.server import create_server
    from google.cloud import storage

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    try:
        client = storage.Client(project="bench")
        yield lambda: [blob.name for blob in client.list_blobs(BUCKET)]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--store", choices=("s3", "gs"), default="s3")
    args = parser.parse_args()
    url = f"{args.store}://{BUCKET}/landing"
    import pyarrow.parquet as pq

    from extractors.__main__ import main as extract
    from extractors.demo.generate import generate
    from extractors.landing import land_table
    from transform.landing_sync import sync

    work = Path(tempfile.mkdtemp(prefix="ai-carbon-bench-s3-"))
    try:
        generate(work / "sources", start_month="2025-01", months=args.months)
        last = f"2025-{args.months:02d}" if args.months <= 12 else None
        os.environ["AI_CARBON_SOURCES"] = str(work / "sources")
        os.environ["AI_CARBON_CONFIG"] = str(ROOT / "config" / "org.example.yml")
        with s3_bucket() if args.store == "s3" else gcs_bucket() as bucket_keys:
            for landing in (url, str(work / "landing")):
                os.environ["AI_CARBON_LANDING"] = landing
                started = time.perf_counter()
                try:
                    extract(["all", "--from-month", "2025-01", "--to-month", last or "2025-12"])
                except SystemExit as exit_:
                    if exit_.code:
                        raise
                seconds = time.perf_counter() - started
                print(f"extract to {landing}: {seconds:.1f} s", file=sys.stderr)
            keys = bucket_keys()
            pointers = sum(key.endswith("/_current.json") for key in keys)
            print(f"in {url}: {len(keys)} objects, {pointers} partitions", file=sys.stderr)
            mirror = work / "mirror"
            for label in ("first sync", "second sync"):
                started = time.perf_counter()
                result = sync(url, mirror)
                print(f"{label}: {time.perf_counter() - started:.2f} s, {result.describe()}")
            differs = differing(work / "landing", mirror)
            print(f"mirror differs from the local landing in: {differs}")
            replaced = "slurm/jobs/month=2025-01"
            table = pq.read_table(mirror / replaced / "part-0.parquet")
            land_table(
                url,
                source="slurm",
                dataset="jobs",
                partition="month=2025-01",
                inputs=["bench"],
                table=table.slice(1),
            )
            started = time.perf_counter()
            result = sync(url, mirror)
            print(f"after replacing {replaced}: {time.perf_counter() - started:.2f} s, ", end="")
            print(result.describe())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
