"""nvidia-smi CSV logs → landing ``nvidia_smi/samples`` (hourly per GPU).

Reads ``nvidia_smi/<host>/*.csv``, each written by
``nvidia-smi --query-gpu=timestamp,name,uuid,power.draw,utilization.gpu
--format=csv[,nounits] -l <seconds>``: a header with units in brackets
(``power.draw [W]``), values with units (``62.87 W``, ``0 %``) unless
``nounits``, ``[N/A]`` (or ``[Not Supported]``) where the GPU cannot tell, and
the host's local time as ``YYYY/MM/DD HH:MM:SS.mmm``, turned into UTC with
``sources.nvidia_smi.timezone`` (or the host's entry in ``host_timezones``).
A header repeated mid-file (the logger restarted) is skipped.

Files whose name starts with a date (``2025-01-15.csv``, ``2025-01.csv``) are
read for the months near that date; files without one are read every month.

Lands, like ``dcgm/gpu_hours``, one row per hour, host and GPU (``uuid``):
``samples``, ``avg_power_w``, ``avg_util_pct`` over the hour's samples, and
``energy_mj``: each sample's power held until the next sample of the GPU, for
at most ``max_gap_seconds`` (a longer silence is not guessed at), summed over
the part of the hour it covers (``seconds_covered``).

A line that cannot land (wrong number of columns, a bad timestamp or number,
a power draw no GPU reaches, no uuid) is quarantined with its file, line and
column; a file without the
timestamp, uuid or power.draw column stops the load. Never opens the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land, month_partition
from extractors.org_config import MAX_GPU_POWER_W, NvidiaSmiSource, OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "nvidia_smi"
DATASET = "samples"
HOUR = 3600
REQUIRED = ("timestamp", "uuid", "power.draw")
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")
# A date at the start of a file name: the day (or month) the file logs.
NAMED_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
# How far a dated file may reach into a neighbouring month (time zone + max gap).
FILE_SLACK = dt.timedelta(days=2)
UNIT = re.compile(r"\s*\[([^\]]*)\]$")  # "power.draw [W]" -> W

STRING = pa.string()
DOUBLE = pa.float64()
SCHEMA = pa.schema(
    [
        ("hour", pa.timestamp("us", tz="UTC")),
        ("hostname", STRING),  # the host folder
        ("uuid", STRING),
        ("gpu_name", STRING),
        ("energy_mj", DOUBLE),  # null when no held power covers the hour
        ("seconds_covered", DOUBLE),
        ("avg_power_w", DOUBLE),
        ("avg_util_pct", DOUBLE),
        ("samples", pa.int64()),
        ("_source_file", STRING),  # the file of the hour's first sample
    ]
)


@dataclass(frozen=True)
class Sample:
    time: float  # Unix seconds, UTC
    uuid: str
    name: str | None
    power_w: float | None
    util_pct: float | None
    file: str


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _number(text: str, unit: str, field: str) -> float | None:
    """``62.87 W`` / ``62.87`` -> 62.87; ``[N/A]`` and other bracketed words -> None."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        return None
    if unit and value.endswith(unit):
        value = value[: -len(unit)].strip()
    try:
        number = float(value)
    except ValueError:
        raise _Bad(field, f"expected a number in {unit or 'no unit'}, got {text!r}") from None
    if not math.isfinite(number) or number < 0:
        raise _Bad(field, f"expected a number >= 0, got {text!r}")
    return number


def _power(text: str, unit: str) -> float | None:
    watts = _number(text, unit, "power.draw")
    if watts is not None and watts > MAX_GPU_POWER_W:
        raise _Bad("power.draw", f"{text!r} is more than a GPU draws ({MAX_GPU_POWER_W:g} W)")
    return watts


def _time(text: str, zone: zoneinfo.ZoneInfo) -> float:
    for pattern in TIME_FORMATS:
        try:
            local = dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).timestamp()
    raise _Bad("timestamp", f"expected YYYY/MM/DD HH:MM:SS.mmm, got {text!r}")


def read_log(path: Path, rel: str, zone: zoneinfo.ZoneInfo, quarantine: Quarantine) -> list[Sample]:
    """The samples of one nvidia-smi CSV file; bad lines go to ``quarantine``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{rel}: not UTF-8 ({exc.reason})") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise SourceError(f"{rel}, line 1: expected a header like timestamp, uuid, power.draw [W]")
    header_raw = next(csv.reader([lines[0]], skipinitialspace=True))
    names = [UNIT.sub("", name.strip()) for name in header_raw]
    units = {
        name: (found.group(1) if (found := UNIT.search(raw.strip())) else "")
        for name, raw in zip(names, header_raw, strict=True)
    }
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SourceError(
            f"{rel}, line 1: header lacks column(s) {', '.join(missing)} (expected nvidia-smi "
            "--query-gpu=timestamp,name,uuid,power.draw,utilization.gpu --format=csv)"
        )
    samples = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        values = next(csv.reader([line], skipinitialspace=True))
        if [value.strip() for value in values] == [raw.strip() for raw in header_raw]:
            continue  # the logger restarted and wrote its header again
        try:
            if len(values) != len(names):
                raise _Bad("", f"expected {len(names)} columns, got {len(values)}")
            row = dict(zip(names, (value.strip() for value in values), strict=True))
            if not row["uuid"]:
                raise _Bad("uuid", "expected a GPU uuid, got nothing")
            samples.append(
                Sample(
                    time=_time(row["timestamp"], zone),
                    uuid=row["uuid"],
                    name=row.get("name") or None,
                    power_w=_power(row["power.draw"], units["power.draw"]),
                    util_pct=(
                        _number(row["utilization.gpu"], units["utilization.gpu"], "utilization.gpu")
                        if "utilization.gpu" in row
                        else None
                    ),
                    file=rel,
                )
            )
        except _Bad as bad:
            quarantine.add(rel, bad.reason, line_number=number, field=bad.field or None, raw=line)
    return samples


def hourly(
    samples_by_gpu: dict[tuple[str, str], list[Sample]],
    start: float,
    end: float,
    max_gap: float,
) -> list[dict]:
    """Hourly rows of the month [start, end) from each (host, uuid)'s samples."""
    cells: dict[tuple[float, str, str], dict] = {}

    def cell(hour: float, host: str, sample: Sample) -> dict:
        key = (hour, host, sample.uuid)
        if key not in cells:
            cells[key] = {
                "hour": dt.datetime.fromtimestamp(hour, dt.UTC),
                "hostname": host,
                "uuid": sample.uuid,
                "gpu_name": sample.name,
                "energy": 0.0,
                "covered": 0.0,
                "power": [],
                "util": [],
                "samples": 0,
                "_source_file": sample.file,
            }
        return cells[key]

    for (host, _), samples in sorted(samples_by_gpu.items()):
        ordered = sorted(samples, key=lambda s: s.time)
        for index, sample in enumerate(ordered):
            if start <= sample.time < end:
                here = cell(sample.time // HOUR * HOUR, host, sample)
                here["samples"] += 1
                if sample.power_w is not None:
                    here["power"].append(sample.power_w)
                if sample.util_pct is not None:
                    here["util"].append(sample.util_pct)
            if sample.power_w is None or index + 1 == len(ordered):
                continue
            # Sample and hold: this power until the next sample, at most max_gap.
            held_until = min(ordered[index + 1].time, sample.time + max_gap)
            hour = sample.time // HOUR * HOUR
            while hour < held_until:
                low, high = max(sample.time, hour, start), min(held_until, hour + HOUR, end)
                if high > low:
                    here = cell(hour, host, sample)
                    here["energy"] += sample.power_w * (high - low) * 1000.0
                    here["covered"] += high - low
                hour += HOUR
    rows = []
    for key in sorted(cells):
        c = cells[key]
        rows.append(
            {
                "hour": c["hour"],
                "hostname": c["hostname"],
                "uuid": c["uuid"],
                "gpu_name": c["gpu_name"],
                "energy_mj": c["energy"] if c["covered"] else None,
                "seconds_covered": c["covered"],
                "avg_power_w": sum(c["power"]) / len(c["power"]) if c["power"] else None,
                "avg_util_pct": sum(c["util"]) / len(c["util"]) if c["util"] else None,
                "samples": c["samples"],
                "_source_file": c["_source_file"],
            }
        )
    return rows


def _month_range(month: str) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def in_reach(name: str, month: str) -> bool:
    """Whether a log file may hold samples of ``month``, judging by a date in its name."""
    found = NAMED_DATE.match(name)
    if not found:
        return True
    year, mon, day = found.groups()
    try:
        first = dt.datetime(int(year), int(mon), int(day or 1), tzinfo=dt.UTC)
    except ValueError:
        return True  # not a date after all
    last = (first + dt.timedelta(days=1)) if day else (first + dt.timedelta(days=32)).replace(day=1)
    start, end = _month_range(month)
    return first < end + FILE_SLACK and last > start - FILE_SLACK


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``nvidia_smi/samples`` for ``month`` from every host's logs."""
    partition = month_partition(month)
    smi: NvidiaSmiSource | None = config.sources.nvidia_smi
    if smi is None:
        log.info("%s %s: not configured (no sources.nvidia_smi); skipped", SOURCE, month)
        return []
    root = settings.sources / SOURCE
    files = sorted(
        path for path in root.glob("*/*.csv") if path.is_file() and in_reach(path.name, month)
    )
    if not files:
        log.info("%s %s: not delivered (no %s/<host>/*.csv for the month)", SOURCE, month, SOURCE)
        return []
    quarantine = Quarantine(SOURCE, DATASET, partition)

    def build_table() -> pa.Table:
        start, end = _month_range(month)
        rows: list[dict] = []
        # One host's samples in memory at a time: rows are hourly, samples are not.
        for host in sorted({path.parent.name for path in files}):
            zone = zoneinfo.ZoneInfo(smi.host_timezones.get(host, smi.timezone))
            by_gpu: dict[tuple[str, str], list[Sample]] = {}
            for path in (path for path in files if path.parent.name == host):
                rel = path.relative_to(settings.sources).as_posix()
                for sample in read_log(path, rel, zone, quarantine):
                    by_gpu.setdefault((host, sample.uuid), []).append(sample)
            rows += hourly(by_gpu, start.timestamp(), end.timestamp(), smi.max_gap_seconds)
        return pa.Table.from_pylist(rows, schema=SCHEMA)

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
