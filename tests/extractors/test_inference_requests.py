"""Inference traffic extractor: hourly CSV with strict counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import inference_requests
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
REL = "inference/requests_2025-01.csv"
CSV = (
    "timestamp,service,requests,tokens\n"
    "2025-01-01T00:00:00Z,chat-api,1200,350000\n"
    "2025-01-01T01:00:00+00:00,chat-api,900,\n"
    "2025-01-31T23:00:00Z,search-rerank,15,\n"
)


def write_csv(sources: Path, text: str, month: str = MONTH) -> Path:
    path = sources / "inference" / f"requests_{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_rows_land_typed_with_empty_tokens_null(sources, settings, org_config, landed):
    # GIVEN three hours of traffic, two without token counts
    write_csv(sources, CSV)
    # WHEN
    [record] = inference_requests.extract(MONTH, settings, org_config)
    # THEN
    assert (record.source, record.dataset, record.status, record.rows) == (
        "inference",
        "requests",
        "loaded",
        3,
    )
    table = landed.table("inference", "requests")
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("requests").type == pa.int64()
    assert table["requests"].to_pylist() == [1200, 900, 15]
    assert table["tokens"].to_pylist() == [350000, None, None]
    assert table["timestamp"][2].as_py() == dt.datetime(2025, 1, 31, 23, tzinfo=dt.UTC)
    assert set(table["_source_file"].to_pylist()) == {REL}


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    write_csv(sources, CSV)
    inference_requests.extract(MONTH, settings, org_config)
    before = landed.path("inference", "requests").read_bytes()
    [record] = inference_requests.extract(MONTH, settings, org_config)
    assert (record.status, record.rows) == ("unchanged", 3)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("inference", "requests").read_bytes() == before


@pytest.mark.parametrize(
    ("line", "column", "expected"),
    [
        ("2025-01-02T00:00:00Z,chat-api,-5,", "requests", "expected a whole number >= 0, got '-5'"),
        (
            "2025-01-02T00:00:00Z,chat-api,1.5,",
            "requests",
            "expected a whole number >= 0, got '1.5'",
        ),
        ("2025-01-02T00:00:00Z,chat-api,,", "requests", "expected a whole number >= 0, got ''"),
        (
            "2025-01-02T00:00:00Z,chat-api,3,many",
            "tokens",
            "expected a whole number >= 0, got 'many'",
        ),
        ("yesterday,chat-api,3,", "timestamp", "expected an ISO 8601 UTC timestamp"),
        (
            "2025-02-01T00:00:00Z,chat-api,3,",
            "timestamp",
            "2025-02-01T00:00:00Z is outside the file's month 2025-01",
        ),
        ("2025-01-02T00:00:00Z,,3,", "service", "expected a service name"),
    ],
)
def test_bad_value_is_quarantined_with_file_line_and_column(
    sources, settings, org_config, landed, landing, line, column, expected
):
    # GIVEN a bad value on line 5
    write_csv(sources, CSV + line + "\n")
    # WHEN the month is extracted
    [record] = inference_requests.extract(MONTH, settings, org_config)
    # THEN the three good rows land and line 5 waits in quarantine, counted
    assert (record.rows, record.quarantined) == (3, 1)
    assert landed.table("inference", "requests").num_rows == 3
    [bad] = pq.read_table(landing / "_quarantine/inference/requests/month=2025-01").to_pylist()
    assert (bad["file"], bad["line_number"], bad["field"], bad["raw"]) == (REL, 5, column, line)
    assert expected in bad["reason"]


def test_missing_column_in_header_is_refused(sources, settings, org_config):
    write_csv(sources, "timestamp,service,tokens\n2025-01-01T00:00:00Z,chat-api,3\n")
    with pytest.raises(SourceError, match=rf"{REL}, line 1: header lacks column\(s\) requests"):
        inference_requests.extract(MONTH, settings, org_config)


def test_row_with_wrong_column_count_is_quarantined(sources, settings, org_config, landing):
    write_csv(sources, CSV + "2025-01-02T00:00:00Z,chat-api,3\n")
    [record] = inference_requests.extract(MONTH, settings, org_config)
    assert (record.rows, record.quarantined) == (3, 1)
    [bad] = pq.read_table(landing / "_quarantine/inference/requests/month=2025-01").to_pylist()
    assert (bad["line_number"], bad["field"], bad["reason"]) == (
        5,
        None,
        "expected 4 columns, got 3",
    )


def test_clean_rerun_removes_the_quarantine(sources, settings, org_config, landing, ledger):
    # GIVEN a month landed with one bad row
    path = write_csv(sources, CSV + "2025-01-02T00:00:00Z,chat-api,-1,\n")
    inference_requests.extract(MONTH, settings, org_config)
    assert (landing / "_quarantine/inference/requests/month=2025-01").exists()
    # WHEN the source is redelivered fixed
    path.write_text(CSV)
    [record] = inference_requests.extract(MONTH, settings, org_config)
    # THEN the quarantine partition is gone and the ledger says so
    assert (record.rows, record.quarantined) == (3, 0)
    assert not (landing / "_quarantine").exists() or not any(
        (landing / "_quarantine").rglob("*.parquet")
    )
    assert [r["quarantined"] for r in ledger()] == [1, 0]


def test_extra_column_is_kept_as_text(sources, settings, org_config, landed):
    text = "timestamp,service,requests,tokens,region\n2025-01-01T00:00:00Z,chat-api,3,,eu-west-1\n"
    write_csv(sources, text)
    inference_requests.extract(MONTH, settings, org_config)
    assert landed.table("inference", "requests")["region"].to_pylist() == ["eu-west-1"]


def test_month_not_delivered(settings, org_config, landing):
    assert inference_requests.extract(MONTH, settings, org_config) == []
    assert not landing.exists()
