"""Inference traffic → landing ``inference/requests``.

Reads ``inference/requests_YYYY-MM.csv``: hourly request counts per service,
header ``timestamp,service,requests,tokens`` (UTC ISO timestamps; ``tokens``
may be empty when the service does not count them). Columns beyond those four
land as text. When ``sources.inference.prometheus`` is configured, the same
dataset is read from Prometheus counters instead (``inference_prometheus``).

Must never land a row it had to guess at: a row with a negative or fractional
count, an unreadable timestamp, an hour outside the file's month or the wrong
number of columns is quarantined with its file, line and column, and the rest
lands. A missing header column, broken CSV quoting or a file that is not UTF-8
still stops the load. Never opens the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land, month_partition
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
            f"{where}{': ' if where else ''}expected an ISO 8601 UTC timestamp like "
            f"2025-01-01T00:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None:  # the contract's timestamps are UTC
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _count(text: str, where: str, required: bool) -> int | None:
    if text == "" and not required:
        return None
    if not COUNT.fullmatch(text):
        raise SourceError(
            f"{where}{': ' if where else ''}expected a whole number >= 0, got {text!r}"
        )
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


class _BadValue(Exception):
    """One value of one row that cannot land; the row goes to quarantine."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _raw(values: list[str]) -> str:
    """A row as one CSV line again, for the quarantine."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()


def read_requests(
    path: Path, rel: str, month: str, quarantine: Quarantine | None = None
) -> pa.Table:
    """The file's rows; bad rows go to ``quarantine`` (without one, the first raises)."""
    try:
        return _read_requests(path, rel, month, quarantine)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{rel}: not UTF-8 ({exc.reason})") from None


def _row(raw: dict[str, str], extra: list[str], start, end, month: str, rel: str) -> dict:
    def value(field: str, convert):
        try:
            return convert()
        except SourceError as exc:
            raise _BadValue(field, str(exc)) from None

    timestamp = value("timestamp", lambda: _timestamp(raw["timestamp"], ""))
    if not start <= timestamp < end:
        raise _BadValue("timestamp", f"{raw['timestamp']} is outside the file's month {month}")
    if not raw["service"].strip():
        raise _BadValue("service", "expected a service name, got nothing")
    row = {name: raw[name] for name in extra}
    row.update(
        timestamp=timestamp,
        service=raw["service"],
        requests=value("requests", lambda: _count(raw["requests"], "", required=True)),
        tokens=value("tokens", lambda: _count(raw["tokens"], "", required=False)),
        _source_file=rel,
    )
    return row


def _read_requests(path: Path, rel: str, month: str, quarantine: Quarantine | None) -> pa.Table:
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
            try:
                if len(values) != len(header):
                    raise _BadValue("", f"expected {len(header)} columns, got {len(values)}")
                raw = dict(zip(header, values, strict=True))
                rows.append(_row(raw, extra, start, end, month, rel))
            except _BadValue as bad:
                if quarantine is None:
                    column = f", column {bad.field}" if bad.field else ""
                    raise SourceError(f"{rel}, line {line}{column}: {bad.reason}") from None
                quarantine.add(
                    rel, bad.reason, line_number=line, field=bad.field or None, raw=_raw(values)
                )
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
    if config.sources.inference.prometheus is not None:
        from extractors import inference_prometheus

        return inference_prometheus.extract(month, settings, config)
    quarantine = Quarantine(SOURCE, DATASET, partition)
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
        build_table=lambda: read_requests(path, rel, month, quarantine),
        quarantine=quarantine,
    )
    return [record]
