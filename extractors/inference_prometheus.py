"""Inference traffic from Prometheus counters → landing ``inference/requests``.

Used by ``inference_requests.extract`` when ``sources.inference.prometheus``
is configured, instead of the dropped CSV. Asks for
``sum by (<service_label>) (increase(<requests_metric>[1h]))`` (and the same
for ``tokens_metric`` when set) with a one-hour step: the value at time T is
the hour [T-1h, T), landed with ``timestamp`` T-1h, like the CSV's hourly rows.
``increase()`` extrapolates, so counts are rounded to whole requests.

Lands exactly the CSV path's schema (``timestamp``, ``service``, ``requests``,
``tokens``, ``_source_file``), so staging reads one dataset either way. A
series without the service label is quarantined; an outage fails after
retries with nothing written. Never opens the warehouse, never logs the token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math

import pyarrow as pa

from extractors.errors import SourceError
from extractors.inference_requests import COLUMNS, DATASET, SOURCE
from extractors.landing import LoadRecord, Quarantine, land_table, month_partition
from extractors.org_config import InferencePrometheus, OrgConfig
from extractors.remote import JsonClient, secret_from_env
from extractors.settings import Settings

log = logging.getLogger(__name__)

QUERY_RANGE = "/api/v1/query_range"
HOUR = 3600
SCHEMA = pa.schema([*COLUMNS.items(), ("_source_file", pa.string())])
CONFIG_KEY = "sources.inference.prometheus"


def hourly_query(metric: str, label: str) -> str:
    return f"sum by ({label}) (increase({metric}[1h]))"


def _hourly_counts(
    client: JsonClient,
    metric: str,
    prom: InferencePrometheus,
    month: str,
    quarantine: Quarantine,
) -> dict[tuple[dt.datetime, str], int]:
    """(hour start, service) -> count of ``metric`` over the month's hours."""
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    query = hourly_query(metric, prom.service_label)
    payload = client.get(
        QUERY_RANGE,
        {
            "query": query,
            # The first point closes the month's first hour, the last its last.
            "start": int(start.timestamp()) + HOUR,
            "end": int(end.timestamp()),
            "step": HOUR,
        },
    )
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise SourceError(f"{CONFIG_KEY}: {query}: Prometheus answered {payload!r}")
    result = (payload.get("data") or {}).get("result")
    if not isinstance(result, list):
        raise SourceError(f"{CONFIG_KEY}: {query}: expected data.result to be a list")
    counts: dict[tuple[dt.datetime, str], int] = {}
    where = client.url(QUERY_RANGE)
    for series in result:
        labels = series.get("metric") or {}
        service = labels.get(prom.service_label)
        if not service:
            quarantine.add(
                where,
                f"series of {metric} without the {prom.service_label} label",
                field=prom.service_label,
                raw=json.dumps(labels, sort_keys=True),
            )
            continue
        for stamp, text in series.get("values") or []:
            try:
                value = float(text)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or value < 0:
                quarantine.add(
                    where,
                    f"{metric} increase for {service} at {stamp} is not a count >= 0",
                    field=metric,
                    raw=json.dumps([stamp, text]),
                )
                continue
            hour = dt.datetime.fromtimestamp(float(stamp) - HOUR, dt.UTC)
            counts[(hour, service)] = round(value)
    return counts


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``inference/requests`` for ``month`` from Prometheus counters."""
    partition = month_partition(month)
    inference = config.sources.inference
    assert inference is not None and inference.prometheus is not None
    prom = inference.prometheus
    token = secret_from_env(prom.token_env, f"{CONFIG_KEY}.token_env")
    quarantine = Quarantine(SOURCE, DATASET, partition)
    with JsonClient(prom.url, CONFIG_KEY, timeout=prom.timeout_seconds, token=token) as client:
        requests = _hourly_counts(client, prom.requests_metric, prom, month, quarantine)
        tokens = {}
        if prom.tokens_metric is not None:
            tokens = _hourly_counts(client, prom.tokens_metric, prom, month, quarantine)
        source_file = client.url(QUERY_RANGE)
    orphans = set(tokens) - set(requests)
    if orphans:
        log.warning(
            "%s %s: %d hour(s) have tokens but no requests; their tokens are not landed",
            SOURCE,
            month,
            len(orphans),
        )
    rows = [
        {
            "timestamp": hour,
            "service": service,
            "requests": count,
            "tokens": tokens.get((hour, service)),
            "_source_file": source_file,
        }
        for (hour, service), count in sorted(requests.items())
    ]
    record = land_table(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        inputs=[source_file],
        table=pa.Table.from_pylist(rows, schema=SCHEMA),
        quarantine=quarantine,
    )
    return [record]
