"""OpenCost allocations (Kubernetes GPU-hours and cost) → landing ``opencost/allocations``.

Asks the OpenCost API (``sources.opencost.url``) once per month:
``GET /allocation?window=<month start>,<month end>&aggregate=namespace,pod
&step=1d&accumulate=false&includeIdle=true&shareIdle=false``, which answers
``{"code": 200, "data": [{"<namespace>/<pod>": {allocation}, ...}, ...]}``, one
set per day. Each allocation becomes one row: its set's window, name, the
cluster / node / namespace / pod and labels it carries, and its GPU, CPU and
RAM usage and cost. ``__idle__`` (capacity nobody requested) and
``__unallocated__`` rows are kept as delivered: idle GPUs still draw power,
and staging decides who carries them. ``gpuHours`` counts requested GPUs,
not their utilisation.

Must never land a month it could not read whole: an outage is retried, then
fails with nothing written. An allocation with a value that is not a number,
or a window outside the month, is quarantined. Never opens the warehouse and
never logs the bearer token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land_table, month_partition
from extractors.org_config import OrgConfig
from extractors.remote import JsonClient, secret_from_env
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "opencost"
DATASET = "allocations"
ALLOCATION = "/allocation"
CONFIG_KEY = "sources.opencost"

STRING = pa.string()
DOUBLE = pa.float64()
TIMESTAMP = pa.timestamp("us", tz="UTC")
KEY_VALUES = pa.list_(pa.struct([("key", STRING), ("value", STRING)]))
# Landed column <- OpenCost's field, for the numbers.
MEASURES = {
    "gpu_count": "gpuCount",
    "gpu_hours": "gpuHours",
    "gpu_cost": "gpuCost",
    "cpu_core_hours": "cpuCoreHours",
    "ram_byte_hours": "ramByteHours",
    "total_cost": "totalCost",
}
SCHEMA = pa.schema(
    [
        ("window_start", TIMESTAMP),
        ("window_end", TIMESTAMP),
        ("name", STRING),  # namespace/pod, or __idle__ / __unallocated__
        ("cluster", STRING),
        ("node", STRING),
        ("namespace", STRING),
        ("pod", STRING),
        *((name, DOUBLE) for name in MEASURES),
        ("labels", KEY_VALUES),
        ("_source_file", STRING),
    ]
)


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _rfc3339(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise _Bad(field, f"expected an RFC 3339 time, got {value!r}")
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(field, f"expected an RFC 3339 time, got {value!r}") from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(field, f"expected a number, got {value!r}")
    return float(value)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def allocation_row(
    name: str, allocation: Any, start: dt.datetime, end: dt.datetime, source_file: str
) -> dict:
    """One allocation as a landed row; ``_Bad`` names the field that cannot land."""
    if not isinstance(allocation, dict):
        raise _Bad("", "expected an allocation object")
    window = allocation.get("window") or {}
    if not isinstance(window, dict):
        raise _Bad("window", "expected window to be an object with start and end")
    window_start = _rfc3339(window.get("start", allocation.get("start")), "window.start")
    window_end = _rfc3339(window.get("end", allocation.get("end")), "window.end")
    if not (start <= window_start < end and window_start < window_end <= end):
        raise _Bad(
            "window",
            f"window {window_start:%Y-%m-%dT%H:%MZ}..{window_end:%Y-%m-%dT%H:%MZ} "
            "is not inside the month",
        )
    properties = allocation.get("properties") or {}
    if not isinstance(properties, dict):
        raise _Bad("properties", "expected properties to be an object")
    labels = properties.get("labels") or {}
    if not isinstance(labels, dict):
        raise _Bad("properties.labels", "expected labels to be an object")
    row = {
        "window_start": window_start,
        "window_end": window_end,
        "name": str(allocation.get("name") or name),
        "cluster": _text(properties.get("cluster")),
        "node": _text(properties.get("node")),
        "namespace": _text(properties.get("namespace")),
        "pod": _text(properties.get("pod")),
        "labels": [{"key": str(k), "value": _text(v)} for k, v in sorted(labels.items())],
        "_source_file": source_file,
    }
    for column, field in MEASURES.items():
        row[column] = _number(allocation.get(field), field)
    return row


def parse_allocations(
    payload: Any, month: str, source_file: str, quarantine: Quarantine
) -> pa.Table:
    """The rows of an ``/allocation`` answer; bad allocations go to ``quarantine``."""
    if not isinstance(payload, dict) or payload.get("code") != 200:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise SourceError(f"{CONFIG_KEY}: {source_file} answered {message or payload!r}")
    sets = payload.get("data")
    if not isinstance(sets, list):
        raise SourceError(f"{CONFIG_KEY}: {source_file}: expected data to be a list of sets")
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    rows = []
    for allocations in sets:
        if allocations is None:
            continue  # a step OpenCost has no data for
        if not isinstance(allocations, dict):
            raise SourceError(f"{CONFIG_KEY}: {source_file}: expected each set to be an object")
        for name, allocation in sorted(allocations.items()):
            try:
                rows.append(allocation_row(name, allocation, start, end, source_file))
            except _Bad as bad:
                quarantine.add(
                    source_file,
                    f"allocation {name}: {bad.reason}",
                    field=bad.field or None,
                    raw=json.dumps(allocation, sort_keys=True, default=str),
                )
    rows.sort(key=lambda r: (r["window_start"], r["name"]))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def allocation_params(month: str) -> dict[str, str]:
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return {
        "window": f"{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ}",
        "aggregate": "namespace,pod",
        "step": "1d",
        "accumulate": "false",
        "includeIdle": "true",
        "shareIdle": "false",
    }


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``opencost/allocations`` for ``month``."""
    partition = month_partition(month)
    opencost = config.sources.opencost
    if opencost is None:
        log.info("%s %s: not configured (no sources.opencost); skipped", SOURCE, month)
        return []
    token = secret_from_env(opencost.token_env, f"{CONFIG_KEY}.token_env")
    quarantine = Quarantine(SOURCE, DATASET, partition)
    with JsonClient(
        opencost.url, CONFIG_KEY, timeout=opencost.timeout_seconds, token=token
    ) as client:
        payload = client.get(ALLOCATION, allocation_params(month))
        source_file = client.url(ALLOCATION)
    table = parse_allocations(payload, month, source_file, quarantine)
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
