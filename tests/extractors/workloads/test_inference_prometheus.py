"""Inference traffic from Prometheus counters: the CSV path's schema, hour by hour."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq

from extractors import inference_prometheus, inference_requests
from extractors.org_config import load_config
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
REQUESTS = "sum by (service) (increase(vllm:request_success_total[1h]))"
TOKENS = "sum by (service) (increase(vllm:generation_tokens_total[1h]))"


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text + ":00+00:00").timestamp()


def test_hourly_increases_land_like_the_csv(
    prometheus, json_server, config_doc, write_config, sources, landing, landed
):
    """The value at 01:00 is the increase over [00:00, 01:00): the 00:00 hour.

    chat-api: 1199.6 requests (rounded to 1200) and 350,000.4 tokens in hour 00,
              900 requests and no token series point in hour 01 (tokens null).
    search-rerank: 15 requests at 2025-01-31 23:00 (the point at 2025-02-01 00:00).
    A series without the service label is quarantined.
    """
    prometheus.expressions[REQUESTS] = [
        (
            {"service": "chat-api"},
            [(at("2025-01-01T01:00"), 1199.6), (at("2025-01-01T02:00"), 900)],
        ),
        ({"service": "search-rerank"}, [(at("2025-02-01T00:00"), 15)]),
        ({}, [(at("2025-01-01T01:00"), 3)]),
    ]
    prometheus.expressions[TOKENS] = [
        ({"service": "chat-api"}, [(at("2025-01-01T01:00"), 350000.4)]),
    ]
    config_doc["sources"]["inference"] = {
        "prometheus": {
            "url": json_server.url,
            "requests_metric": "vllm:request_success_total",
            "tokens_metric": "vllm:generation_tokens_total",
            "service_label": "service",
        }
    }
    config = load_config(write_config(config_doc))
    settings = Settings(sources=sources, landing=landing, config=config.path)
    # WHEN the inference source runs (the same entry point as the CSV)
    [record] = inference_requests.extract(MONTH, settings, config)
    # THEN it asked for hourly increases over the month's hours
    [first, _] = [r for r in json_server.requests if r.path == "/api/v1/query_range"]
    assert first.query["query"] == [REQUESTS]
    assert (first.query["start"], first.query["end"], first.query["step"]) == (
        [str(int(at("2025-01-01T01:00")))],
        [str(int(at("2025-02-01T00:00")))],
        ["3600"],
    )
    # AND the rows have the CSV path's schema and hours
    assert (record.source, record.dataset, record.rows, record.quarantined) == (
        "inference",
        "requests",
        3,
        1,
    )
    table = landed.table("inference", "requests")
    assert table.schema == inference_prometheus.SCHEMA
    assert [
        (r["timestamp"], r["service"], r["requests"], r["tokens"]) for r in table.to_pylist()
    ] == [
        (dt.datetime(2025, 1, 1, 0, tzinfo=dt.UTC), "chat-api", 1200, 350000),
        (dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC), "chat-api", 900, None),
        (dt.datetime(2025, 1, 31, 23, tzinfo=dt.UTC), "search-rerank", 15, None),
    ]
    [bad] = pq.read_table(landing / "_quarantine/inference/requests/month=2025-01").to_pylist()
    assert (bad["field"], bad["raw"]) == ("service", "{}")
