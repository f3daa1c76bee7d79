"""CodeCarbon ``emissions.csv`` files → landing ``codecarbon/runs``.

Reads every ``codecarbon/**/emissions.csv`` (the file CodeCarbon's
``EmissionsTracker`` appends one row to per run, or per flush of a long run:
measured energy, its own emissions estimate and where it ran). Versions
differ in their columns: newer ones add ``experiment_id``, ``codecarbon_version``,
``pue``, utilisation and water columns, older ones lack them. Every contract
column lands (null when the file's version did not write it), typed; other
columns land after them as text. ``timestamp`` is when the row was written
(the run's end, or the flush); a value without an offset is local time in
``sources.codecarbon.timezone``. A month's partition holds the rows written in
that month; a run repeated by flushes keeps every row (cumulative values),
and staging keeps the last per run.

A row with an unreadable timestamp or number, or without a run id, is
quarantined with its file, line and column; a file without the timestamp,
project_name, run_id, duration, emissions or energy_consumed column stops the
load. Never opens the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import zoneinfo
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "codecarbon"
DATASET = "runs"

STRING = pa.string()
DOUBLE = pa.float64()
# CodeCarbon's own column names and units: s, kg CO2e, kg/s, W, kWh, GB, degrees.
COLUMNS: dict[str, pa.DataType] = {
    "timestamp": pa.timestamp("us", tz="UTC"),
    "project_name": STRING,
    "run_id": STRING,
    "experiment_id": STRING,
    "duration": DOUBLE,
    "emissions": DOUBLE,
    "emissions_rate": DOUBLE,
    "cpu_power": DOUBLE,
    "gpu_power": DOUBLE,
    "ram_power": DOUBLE,
    "cpu_energy": DOUBLE,
    "gpu_energy": DOUBLE,
    "ram_energy": DOUBLE,
    "energy_consumed": DOUBLE,
    "country_name": STRING,
    "country_iso_code": STRING,
    "region": STRING,
    "cloud_provider": STRING,
    "cloud_region": STRING,
    "os": STRING,
    "python_version": STRING,
    "codecarbon_version": STRING,
    "cpu_count": DOUBLE,
    "cpu_model": STRING,
    "gpu_count": DOUBLE,
    "gpu_model": STRING,
    "longitude": DOUBLE,
    "latitude": DOUBLE,
    "ram_total_size": DOUBLE,
    "tracking_mode": STRING,
    "on_cloud": STRING,
    "pue": DOUBLE,
}
# In every CodeCarbon version's file; without them a file is not an emissions.csv.
REQUIRED_COLUMNS = (
    "timestamp",
    "project_name",
    "run_id",
    "duration",
    "emissions",
    "energy_consumed",
)
# Must have a value on every row.
REQUIRED_VALUES = ("timestamp", "run_id", "duration", "emissions", "energy_consumed")


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _timestamp(text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise _Bad("timestamp", f"expected an ISO 8601 time, got {text!r}") from None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(dt.UTC)


def _double(text: str, field: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise _Bad(field, f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _Bad(field, f"expected a finite number, got {text!r}")
    return value


def _line(values: list[str]) -> str:
    """A row as one CSV line again, for the quarantine."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()


def _row(raw: dict[str, str], zone: zoneinfo.ZoneInfo, rel: str) -> dict:
    for name in REQUIRED_VALUES:
        if not raw.get(name, "").strip():
            raise _Bad(name, "expected a value, got nothing")
    row: dict = {}
    for name, kind in COLUMNS.items():
        text = raw.get(name)
        if text is None:
            row[name] = None
        elif name == "timestamp":
            row[name] = _timestamp(text, zone)
        elif kind == DOUBLE:
            row[name] = _double(text, name)
        else:
            row[name] = text if text != "" else None
    for name in REQUIRED_VALUES[2:]:
        if row[name] < 0:
            raise _Bad(name, f"expected a number >= 0, got {raw[name]!r}")
    row.update({name: value for name, value in raw.items() if name not in COLUMNS})
    row["_source_file"] = rel
    return row


def read_emissions(
    path: Path,
    rel: str,
    zone: zoneinfo.ZoneInfo,
    month_range: tuple[dt.datetime, dt.datetime],
    quarantine: Quarantine,
) -> tuple[list[str], list[dict]]:
    """(columns beyond the contract, rows written in the month) of one emissions.csv."""
    start, end = month_range
    rows = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise SourceError(f"{rel}, line 1: expected CodeCarbon's header, got nothing")
            missing = [name for name in REQUIRED_COLUMNS if name not in header]
            if missing:
                raise SourceError(
                    f"{rel}, line 1: header lacks column(s) {', '.join(missing)} "
                    "(expected a CodeCarbon emissions.csv)"
                )
            extra = [name for name in header if name not in COLUMNS]
            for values in reader:
                line = reader.line_num
                if not values:
                    continue
                try:
                    if len(values) != len(header):
                        raise _Bad("", f"expected {len(header)} columns, got {len(values)}")
                    raw = dict(zip(header, values, strict=True))
                    # Rows of other months are theirs to land, or to quarantine.
                    if not start <= _timestamp(raw["timestamp"], zone) < end:
                        continue
                    rows.append(_row(raw, zone, rel))
                except _Bad as bad:
                    quarantine.add(
                        rel,
                        bad.reason,
                        line_number=line,
                        field=bad.field or None,
                        raw=_line(values),
                    )
    except UnicodeDecodeError as exc:
        raise SourceError(f"{rel}: not UTF-8 ({exc.reason})") from None
    except csv.Error as exc:
        raise SourceError(f"{rel}: malformed CSV: {exc}") from None
    return extra, rows


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``codecarbon/runs`` for ``month`` from every emissions.csv."""
    partition = month_partition(month)
    codecarbon = config.sources.codecarbon
    if codecarbon is None:
        log.info("%s %s: not configured (no sources.codecarbon); skipped", SOURCE, month)
        return []
    files = sorted(p for p in (settings.sources / SOURCE).glob("**/emissions.csv") if p.is_file())
    if not files:
        log.info("%s %s: not delivered (no %s/**/emissions.csv)", SOURCE, month, SOURCE)
        return []
    zone = zoneinfo.ZoneInfo(codecarbon.timezone)
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    month_range = (start, (start + dt.timedelta(days=32)).replace(day=1))
    quarantine = Quarantine(SOURCE, DATASET, partition)

    def build_table() -> pa.Table:
        extras: list[str] = []
        rows: list[dict] = []
        for path in files:
            rel = path.relative_to(settings.sources).as_posix()
            extra, file_rows = read_emissions(path, rel, zone, month_range, quarantine)
            extras += [name for name in extra if name not in extras]
            rows += file_rows
        if extras:
            log.info(
                "%s: column(s) beyond the contract kept as text: %s", SOURCE, ", ".join(extras)
            )
        schema = pa.schema(
            [*COLUMNS.items(), *((name, STRING) for name in extras), ("_source_file", STRING)]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=files,
        relative_to=settings.sources,
        build_table=build_table,
        quarantine=quarantine,
    )
    return [record]
