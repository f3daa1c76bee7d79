"""S3 that throttles or refuses the credentials: a local HTTP server speaking S3's errors.

Real boto3 with botocore's standard retry mode against 127.0.0.1: throttling
is retried a bounded number of times and then fails clearly; expired or
missing credentials fail at once with a message that names the problem and
never the secret. In every case the partition landed before is intact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
from pathlib import Path

import pyarrow as pa
import pytest
from botocore.retries import standard
from cloud_fakes import (
    CUR_SCHEMA,
    FAKE_SECRET,
    FAKE_SESSION_TOKEN,
    Response,
    cur_row,
    parquet_bytes,
)

from extractors import aws_cur
from extractors.errors import CredentialsError, SourceError, SourceUnavailable
from extractors.org_config import load_config

MONTH = "2025-01"


def s3_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message><RequestId>R1</RequestId></Error>"
    ).encode()
    return Response(status, body, {"Content-Type": "application/xml"})


@pytest.fixture
def landed_before(sources, settings, org_config, landed):
    """A month landed from the local layout; returns its bytes."""
    root = sources / "aws/billing/cur2/cur-a"
    chunk = root / f"data/BILLING_PERIOD={MONTH}/cur-a-00001.snappy.parquet"
    chunk.parent.mkdir(parents=True)
    chunk.write_bytes(parquet_bytes(pa.Table.from_pylist([cur_row(0)], schema=CUR_SCHEMA)))
    manifest = root / f"metadata/BILLING_PERIOD={MONTH}/cur-a-Manifest.json"
    manifest.parent.mkdir(parents=True)
    key = chunk.relative_to(sources / "aws/billing").as_posix()
    manifest.write_text(json.dumps({"dataFiles": [f"s3://billing/{key}"]}))
    aws_cur.extract(MONTH, settings, org_config)
    return landed.path("aws_cur", "line_items").read_bytes()


@pytest.fixture
def s3_endpoint_config(config_doc, write_config):
    def load(url: str, max_attempts: int = 3):
        config_doc["sources"]["aws_cur"] = {
            "storage": "s3",
            "region": "us-east-1",
            "endpoint_url": url,
            "max_attempts": max_attempts,
            "bucket": "billing",
            "prefix": "cur2",
            "exports": ["cur-a"],
        }
        return load_config(write_config(config_doc, "s3.yml"))

    return load


@pytest.fixture
def botocore_waits(monkeypatch):
    """botocore's backoff delays, recorded and skipped (the retries still happen)."""
    waits: list[float] = []

    def no_wait(self, context):
        waits.append(context.attempt_number)
        return 0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", no_wait)
    return waits


def test_throttling_is_retried_with_bounded_attempts_then_fails_clearly(
    aws_env,
    http_server,
    botocore_waits,
    s3_endpoint_config,
    settings,
    landed,
    landed_before,
    ledger,
):
    # GIVEN S3 answering every request with 503 SlowDown
    server = http_server(
        lambda request: s3_error(503, "SlowDown", "Please reduce your request rate.")
    )
    config = s3_endpoint_config(server.url, max_attempts=3)
    # WHEN the month is extracted
    started = dt.datetime.now()
    with pytest.raises(SourceUnavailable) as error:
        aws_cur.extract(MONTH, settings, config)
    # THEN three attempts with backoff between them, then a clear, retryable failure
    assert len(server.requests) == 3
    assert botocore_waits == [1, 2]
    message = str(error.value)
    assert "SlowDown" in message and "3 attempts" in message and "try again later" in message
    assert not isinstance(error.value, SourceError)  # the DAG's own retries apply
    assert dt.datetime.now() - started < dt.timedelta(seconds=10)
    # AND the month landed before is intact
    assert landed.path("aws_cur", "line_items").read_bytes() == landed_before
    assert len(ledger()) == 1


def test_expired_credentials_fail_clearly_without_the_secret(
    aws_env, http_server, s3_endpoint_config, settings, landed, landed_before, caplog
):
    # GIVEN S3 refusing the session token as expired
    server = http_server(
        lambda request: s3_error(400, "ExpiredToken", "The provided token has expired.")
    )
    config = s3_endpoint_config(server.url)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="extractors")
    # WHEN the month is extracted
    with pytest.raises(CredentialsError) as error:
        aws_cur.extract(MONTH, settings, config)
    # THEN the message names the problem, once (no retries for a refused credential)
    assert "ExpiredToken" in str(error.value) and "refresh" in str(error.value)
    assert len(server.requests) == 1
    assert server.requests[0].headers["x-amz-security-token"] == FAKE_SESSION_TOKEN
    # AND neither the secret key nor the session token is in the error, its traceback or the logs
    shown = "".join(traceback.format_exception(error.value)) + repr(error.value) + caplog.text
    assert FAKE_SECRET not in shown
    assert FAKE_SESSION_TOKEN not in shown
    assert landed.path("aws_cur", "line_items").read_bytes() == landed_before


def test_missing_credentials_are_named(
    aws_env, monkeypatch, http_server, s3_endpoint_config, settings, landed, landed_before
):
    # GIVEN no credentials anywhere in the default chain
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    server = http_server(lambda request: s3_error(500, "InternalError", "unexpected"))
    # WHEN / THEN a clear error before any request
    with pytest.raises(CredentialsError, match="AWS credentials not found"):
        aws_cur.extract(MONTH, settings, s3_endpoint_config(server.url))
    assert server.requests == []
    assert landed.path("aws_cur", "line_items").read_bytes() == landed_before


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
