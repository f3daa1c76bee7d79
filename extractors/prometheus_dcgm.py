"""NVIDIA DCGM exporter metrics in Prometheus → landing ``dcgm/gpu_hours``.

Asks Prometheus (``sources.dcgm.url``, ``GET /api/v1/query_range``) for the
month's ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ since the driver loaded,
a counter), ``DCGM_FI_DEV_POWER_USAGE`` (W) and ``DCGM_FI_DEV_GPU_UTIL`` (%),
at ``step_seconds`` resolution, at most one day per query (fewer hours when a
small step would pass Prometheus' 11,000 points per series), optionally split
by the values of one label (``chunk_by``, e.g. ``Hostname``) so one query
holds one host's series. Each answer is folded into hourly per-device
aggregates at once and dropped, so what is kept grows with devices × hours,
not with samples (a month of a 1,000-GPU fleet is about 750,000 small cells),
and the peak is one answer on top: every series of one day, or with
``chunk_by`` one host's (at a 60 s step, 1,440 samples per series).

Per hour and GPU (``UUID``) and label set (hostname from ``Hostname`` or
``hostname``, gpu, modelName, pod, namespace, container, hpc_job):

* ``energy_mj``: the counter's increase over the intervals between
  consecutive samples of the device, each interval's increase shared among
  the hours it spans by time. A decrease is a reset (driver reload, reboot):
  the new value is the increase since zero. Intervals go to the labels of
  their first sample, so a GPU that changes pod keeps every millijoule. An
  interval longer than ten steps (at least ten minutes) is a gap in the
  data, not guessed at: its increase is left out and the hours it spans are
  not covered, as ``seconds_covered`` shows.
* ``seconds_covered``: how much of the hour those intervals cover.
* ``avg_power_w``, ``avg_util_pct``, ``samples`` (power samples in the hour).

Must never land a month it could not read whole: a Prometheus outage is
retried, then fails with nothing written (``remote``). Series without a
``UUID`` label are quarantined, one row per label set. Never opens the
warehouse and never logs the bearer token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land_table, month_partition
from extractors.org_config import DcgmSource, OrgConfig
from extractors.remote import JsonClient, secret_from_env
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "dcgm"
DATASET = "gpu_hours"

ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
POWER = "DCGM_FI_DEV_POWER_USAGE"
UTIL = "DCGM_FI_DEV_GPU_UTIL"
METRICS = (ENERGY, POWER, UTIL)
QUERY_RANGE = "/api/v1/query_range"
# Prometheus refuses a range query returning more points than this per series.
MAX_POINTS = 11_000
HOUR = 3600

# Landed column <- the exporter's label(s), first present wins. dcgm-exporter
# renamed Hostname to hostname; both are read.
LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hostname", ("Hostname", "hostname")),
    ("gpu", ("gpu",)),
    ("model_name", ("modelName",)),
    ("pod", ("pod",)),
    ("namespace", ("namespace",)),
    ("container", ("container",)),
    ("hpc_job", ("hpc_job",)),
)

STRING = pa.string()
DOUBLE = pa.float64()
SCHEMA = pa.schema(
    [
        ("hour", pa.timestamp("us", tz="UTC")),  # start of the hour
        ("uuid", STRING),
        *((name, STRING) for name, _ in LABELS),
        ("energy_mj", DOUBLE),  # null when no counter interval touches the hour
        ("seconds_covered", DOUBLE),  # of the hour, by counter intervals
        ("avg_power_w", DOUBLE),
        ("avg_util_pct", DOUBLE),
        ("samples", pa.int64()),  # power samples in the hour
        ("step_seconds", pa.int64()),  # the query step, to turn samples into seconds
        ("_source_file", STRING),
    ]
)

# A cell's running sums, by position.
ENERGY_MJ, COVERED, POWER_SUM, POWER_N, UTIL_SUM, UTIL_N = range(6)


def month_bounds(month: str) -> tuple[int, int]:
    """The month as [start, end) in Unix seconds (UTC)."""
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return int(start.timestamp()), int(end.timestamp())


def windows(start: int, end: int, step: int) -> list[tuple[int, int]]:
    """[start, end) cut into whole-hour query windows of at most a day.

    A window may hold at most MAX_POINTS samples per series, so a step under
    8 seconds shortens it (to three hours at a 1-second step).
    """
    hours = max(1, min(24, (MAX_POINTS - 1) * step // HOUR))
    size = hours * HOUR
    return [(t, min(t + size, end)) for t in range(start, end, size)]


def max_gap(step: int) -> int:
    """The longest counter interval taken as measured: ten steps, at least ten minutes."""
    return max(10 * step, 600)


def _labels(metric: dict[str, str]) -> tuple[str | None, ...]:
    return tuple(
        next((metric[name] for name in names if metric.get(name)), None) for _, names in LABELS
    )


class HourlyAggregates:
    """Hour × device × label-set cells, fed one query answer at a time.

    Only cells and each device's last energy sample are kept between
    answers; answers must come in time order (window by window).
    """

    def __init__(self, start: int, end: int, max_gap: float) -> None:
        self.start = start
        self.end = end
        self.max_gap = max_gap
        self.cells: dict[tuple, list[float]] = {}
        # uuid -> (time, counter value, labels) of the device's latest energy sample
        self.last_energy: dict[str, tuple[float, float, tuple]] = {}

    def _cell(self, hour: int, uuid: str, labels: tuple) -> list[float]:
        key = (hour, uuid, *labels)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0.0, 0.0, 0.0, 0, 0.0, 0]
        return cell

    def add_gauge(
        self, kind: str, uuid: str, labels: tuple, values: Iterable, window: tuple[int, int]
    ) -> None:
        """Power or utilisation samples of one series; [window) keeps each sample once."""
        total, count = (POWER_SUM, POWER_N) if kind == POWER else (UTIL_SUM, UTIL_N)
        first, last = window
        for stamp, text in values:
            stamp, value = float(stamp), float(text)
            if not first <= stamp < last or not math.isfinite(value):
                continue
            cell = self._cell(int(stamp // HOUR) * HOUR, uuid, labels)
            cell[total] += value
            cell[count] += 1

    def add_energy(self, uuid: str, points: list[tuple[float, float, tuple]]) -> None:
        """Energy counter samples of one device (any of its series), folded in time order."""
        previous = self.last_energy.get(uuid)
        for point in sorted(points, key=lambda p: p[0]):
            if not math.isfinite(point[1]):
                continue
            if previous is None:
                previous = point
                continue
            if point[0] <= previous[0]:
                continue  # the window's first sample is the last one's end
            if point[0] - previous[0] <= self.max_gap:
                increase = point[1] - previous[1] if point[1] >= previous[1] else point[1]
                self._spread(previous[0], point[0], increase, uuid, previous[2])
            previous = point
        if previous is not None:
            self.last_energy[uuid] = previous

    def _spread(self, t0: float, t1: float, increase: float, uuid: str, labels: tuple) -> None:
        """Share an interval's increase among the hours (of the month) it spans."""
        hour = int(t0 // HOUR) * HOUR
        while hour < t1:
            low, high = max(t0, hour, self.start), min(t1, hour + HOUR, self.end)
            if high > low:
                cell = self._cell(hour, uuid, labels)
                cell[ENERGY_MJ] += increase * (high - low) / (t1 - t0)
                cell[COVERED] += high - low
            hour += HOUR

    def table(self, step: int, source_file: str) -> pa.Table:
        columns: dict[str, list] = {field.name: [] for field in SCHEMA}
        for key in sorted(self.cells, key=lambda k: tuple("" if v is None else v for v in k)):
            cell = self.cells[key]
            hour, uuid, *labels = key
            columns["hour"].append(dt.datetime.fromtimestamp(hour, dt.UTC))
            columns["uuid"].append(uuid)
            for (name, _), value in zip(LABELS, labels, strict=True):
                columns[name].append(value)
            covered = cell[COVERED]
            columns["energy_mj"].append(cell[ENERGY_MJ] if covered else None)
            columns["seconds_covered"].append(covered)
            columns["avg_power_w"].append(
                cell[POWER_SUM] / cell[POWER_N] if cell[POWER_N] else None
            )
            columns["avg_util_pct"].append(cell[UTIL_SUM] / cell[UTIL_N] if cell[UTIL_N] else None)
            columns["samples"].append(int(cell[POWER_N]))
            columns["step_seconds"].append(step)
            columns["_source_file"].append(source_file)
        return pa.Table.from_pydict(columns, schema=SCHEMA)


def _matrix(payload, what: str) -> list[dict]:
    """The series of a query_range answer; SourceError if it is not one."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else None
        raise SourceError(f"{what}: Prometheus answered without success: {error or payload!r}")
    data = payload.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise SourceError(f"{what}: expected data.resultType 'matrix'")
    result = data.get("result")
    if not isinstance(result, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("metric"), dict)
        and isinstance(s.get("values"), list)
        for s in result
    ):
        raise SourceError(f"{what}: expected data.result to be a list of {{metric, values}}")
    return result


def _selectors(client: JsonClient, label: str | None, first: int, last: int) -> list[str]:
    """``{label="value"}`` per value of the chunking label in the window, and ``{label=""}``."""
    if label is None:
        return [""]
    payload = client.get(
        f"/api/v1/label/{label}/values",
        [*(("match[]", metric) for metric in METRICS), ("start", first), ("end", last)],
    )
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise SourceError(f"sources.dcgm: label values of {label} are not a list: {payload!r}")
    # The last selector catches series without the label (e.g. hostname vs Hostname).
    values = [*sorted(str(value) for value in payload["data"]), ""]
    return ["{" + f"{label}={json.dumps(value)}" + "}" for value in values]


def fetch_month(
    client: JsonClient, dcgm: DcgmSource, month: str, quarantine: Quarantine
) -> HourlyAggregates:
    """Every window of the month, folded into hourly aggregates as it arrives."""
    start, end = month_bounds(month)
    aggregates = HourlyAggregates(start, end, max_gap(dcgm.step_seconds))
    source_file = client.url(QUERY_RANGE)
    # label set (as JSON) -> metric, for series that name no GPU
    quarantined: dict[str, str] = {}
    for first, last in windows(start, end, dcgm.step_seconds):
        for selector in _selectors(client, dcgm.chunk_by, first, last):
            for metric in METRICS:
                query = metric + selector
                payload = client.get(
                    QUERY_RANGE,
                    {"query": query, "start": first, "end": last, "step": dcgm.step_seconds},
                )
                what = f"sources.dcgm: {query} from {first} to {last}"
                series = _matrix(payload, what)
                energy: dict[str, list] = defaultdict(list)
                try:
                    _fold(series, metric, aggregates, energy, (first, last), quarantined)
                except (ValueError, TypeError, IndexError) as exc:
                    raise SourceError(f'{what}: a sample is not [time, "value"]: {exc}') from None
                for uuid, points in energy.items():
                    aggregates.add_energy(uuid, points)
                del payload, series, energy  # the window's samples go now
        log.debug("%s %s: folded %s..%s", SOURCE, month, first, last)
    for raw, metric in quarantined.items():
        quarantine.add(
            source_file,
            f"series of {metric} without a UUID label: not a GPU the month can be attributed to",
            field="UUID",
            raw=raw,
        )
    return aggregates


def _fold(
    series: list[dict],
    metric: str,
    aggregates: HourlyAggregates,
    energy: dict[str, list],
    window: tuple[int, int],
    quarantined: dict[str, str],
) -> None:
    """One answer's series into the aggregates (gauges) or ``energy`` (per device)."""
    for one in series:
        labels = one["metric"]
        uuid = labels.get("UUID")
        if not uuid:
            quarantined.setdefault(json.dumps(labels, sort_keys=True), metric)
            continue
        key = _labels(labels)
        if metric == ENERGY:
            energy[uuid] += [(float(t), float(v), key) for t, v in one["values"]]
        else:
            aggregates.add_gauge(metric, uuid, key, one["values"], window)


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``dcgm/gpu_hours`` for ``month`` from Prometheus."""
    partition = month_partition(month)
    dcgm = config.sources.dcgm
    if dcgm is None:
        log.info("%s %s: not configured (no sources.dcgm); skipped", SOURCE, month)
        return []
    token = secret_from_env(dcgm.token_env, "sources.dcgm.token_env")
    quarantine = Quarantine(SOURCE, DATASET, partition)
    with JsonClient(dcgm.url, "sources.dcgm", timeout=dcgm.timeout_seconds, token=token) as client:
        aggregates = fetch_month(client, dcgm, month, quarantine)
        source_file = client.url(QUERY_RANGE)
    table = aggregates.table(dcgm.step_seconds, source_file)
    record = land_table(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        inputs=[source_file],
        table=table,
        quarantine=quarantine,
    )
    return [record]
