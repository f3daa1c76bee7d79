"""Inference traffic → landing ``inference/requests``.

Reads ``inference/requests_YYYY-MM.csv``: hourly request counts per service,
header ``timestamp,service,requests,tokens`` (UTC ISO timestamps; ``tokens``
may be empty when the service does not count them). Columns beyond those four
land as text.

Must never land a row it had to guess at: a negative or fractional count, an
unreadable timestamp or an hour outside the file's month stops the load with
its file, line and column. Never opens the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "inference"
DATASET = "requests"

COLUMNS: dict[str, pa.DataType] = {
    "timestamp": pa.timestamp("us", tz="UTC"),
    "service": pa.string(),
    "requests": pa.int64(),
    "tokens": pa.int64(),  # null when not counted
}
COUNT = re.compile(r"\d+")


def _month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    year, mon = divmod(start.month, 12)
    return start, start.replace(year=start.year + year, month=mon + 1)


def _timestamp(text: str, where: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SourceError(
            f"{where}: expected an ISO 8601 UTC timestamp like 2025-01-01T00:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None:  # the contract's timestamps are UTC
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _count(text: str, where: str, required: bool) -> int | None:
    if text == "" and not required:
        return None
    if not COUNT.fullmatch(text):
        raise SourceError(f"{where}: expected a whole number >= 0, got {text!r}")
    return int(text)


def _records(reader, rel: str):
    """The reader's records, a CSV syntax error named by its line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceError(f"{rel}, line {reader.line_num}: malformed CSV: {exc}") from None


def read_requests(path: Path, rel: str, month: str) -> pa.Table:
    try:
        return _read_requests(path, rel, month)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{rel}: not UTF-8 ({exc.reason})") from None


def _read_requests(path: Path, rel: str, month: str) -> pa.Table:
    start, end = _month_bounds(month)
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise SourceError(f"{rel}, line 1: expected the header {','.join(COLUMNS)}")
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise SourceError(
                f"{rel}, line 1: header lacks column(s) {', '.join(missing)} "
                f"(expected {','.join(COLUMNS)})"
            )
        extra = [name for name in header if name not in COLUMNS]
        if extra:
            log.info("%s: column(s) beyond the contract kept as text: %s", rel, ", ".join(extra))
        for values in _records(reader, rel):
            line = reader.line_num
            if not values:
                continue
            if len(values) != len(header):
                raise SourceError(
                    f"{rel}, line {line}: expected {len(header)} columns, got {len(values)}"
                )
            raw = dict(zip(header, values, strict=True))
            where = f"{rel}, line {line}, column"
            timestamp = _timestamp(raw["timestamp"], f"{where} timestamp")
            if not start <= timestamp < end:
                raise SourceError(
                    f"{where} timestamp: {raw['timestamp']} is outside the file's month {month}"
                )
            if not raw["service"].strip():
                raise SourceError(f"{where} service: expected a service name, got nothing")
            row = {name: raw[name] for name in extra}
            row.update(
                timestamp=timestamp,
                service=raw["service"],
                requests=_count(raw["requests"], f"{where} requests", required=True),
                tokens=_count(raw["tokens"], f"{where} tokens", required=False),
                _source_file=rel,
            )
            rows.append(row)
    schema = pa.schema(
        [
            *COLUMNS.items(),
            *((name, pa.string()) for name in extra),
            ("_source_file", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``inference/requests`` for ``month``."""
    partition = month_partition(month)
    if config.sources.inference is None:
        log.info("%s %s: not configured (no sources.inference); skipped", SOURCE, month)
        return []
    path = settings.sources / "inference" / f"requests_{month}.csv"
    rel = path.relative_to(settings.sources).as_posix()
    if not path.is_file():
        log.info("%s %s: not delivered (no %s)", SOURCE, month, rel)
        return []
    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path],
        relative_to=settings.sources,
        build_table=lambda: read_requests(path, rel, month),
    )
    return [record]
