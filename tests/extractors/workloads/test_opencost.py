"""OpenCost allocation API: per-pod GPU-hours by day, idle capacity kept."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from extractors import opencost
from extractors.errors import SourceError
from extractors.org_config import load_config
from extractors.remote import SourceUnavailable
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"


def allocation(name, day, properties, gpus, gpu_hours, gpu_cost, total, **extra):
    """An allocation as OpenCost returns it (abridged to the fields that matter here)."""
    start, end = f"2025-01-{day:02d}T00:00:00Z", f"2025-01-{day + 1:02d}T00:00:00Z"
    return {
        "name": name,
        "properties": properties,
        "window": {"start": start, "end": end},
        "start": start,
        "end": end,
        "minutes": 1440.0,
        "cpuCores": 8.0,
        "cpuCoreHours": 192.0,
        "cpuCost": 5.76,
        "gpuCount": gpus,
        "gpuHours": gpu_hours,
        "gpuCost": gpu_cost,
        "ramBytes": 68719476736.0,
        "ramByteHours": 1649267441664.0,
        "ramCost": 1.2,
        "pvCost": 0.0,
        "networkCost": 0.0,
        "sharedCost": 0.0,
        "externalCost": 0.0,
        "totalCost": total,
        "totalEfficiency": 0.42,
        **extra,
    }


TRAINER = {
    "cluster": "k8s-prod",
    "node": "gpu-node-1",
    "container": "trainer",
    "controller": "lm-train",
    "controllerKind": "job",
    "namespace": "ml",
    "pod": "lm-train-0",
    "labels": {"app": "lm-train", "ai-system": "helio-lm-pretrain"},
}
PAYLOAD = {
    "code": 200,
    "data": [
        {
            "ml/lm-train-0": allocation("ml/lm-train-0", 1, TRAINER, 8.0, 192.0, 589.44, 596.4),
            "__idle__": allocation(
                "__idle__", 1, {"cluster": "k8s-prod"}, 8.0, 192.0, 589.44, 650.0
            ),
            "__unallocated__": allocation(
                "__unallocated__", 1, {"cluster": "k8s-prod", "node": "gpu-node-2"}, 0, 0, 0, 3.1
            ),
        },
        None,  # a day OpenCost has no data for
        {
            "ml/lm-train-0": allocation("ml/lm-train-0", 3, TRAINER, 8.0, 96.0, 294.72, 300.0),
            "ml/broken-0": allocation("ml/broken-0", 3, TRAINER, 1.0, "lots", 1.0, 1.0),
        },
    ],
}


@pytest.fixture
def opencost_settings(config_doc, write_config, sources, landing, json_server):
    config_doc["sources"]["opencost"] = {"url": json_server.url + "/"}
    config = load_config(write_config(config_doc))
    return Settings(sources=sources, landing=landing, config=config.path), config


def test_allocations_land_per_day_with_idle_kept(json_server, opencost_settings, landed, landing):
    # GIVEN OpenCost with a training pod, idle and unallocated capacity
    json_server.answer = lambda request: (200, PAYLOAD)
    settings, config = opencost_settings
    # WHEN the month is extracted
    [record] = opencost.extract(MONTH, settings, config)
    # THEN it asked for the month by day, per namespace and pod, idle included and not shared
    [request] = json_server.requests
    assert request.path == "/allocation"
    assert {key: values[0] for key, values in request.query.items()} == {
        "window": "2025-01-01T00:00:00Z,2025-02-01T00:00:00Z",
        "aggregate": "namespace,pod",
        "step": "1d",
        "accumulate": "false",
        "includeIdle": "true",
        "shareIdle": "false",
    }
    # AND every allocation lands, __idle__ and __unallocated__ among them
    assert (record.rows, record.quarantined) == (4, 1)
    table = landed.table("opencost", "allocations")
    assert table.schema == opencost.SCHEMA
    rows = table.to_pylist()
    assert [(r["window_start"].day, r["name"]) for r in rows] == [
        (1, "__idle__"),
        (1, "__unallocated__"),
        (1, "ml/lm-train-0"),
        (3, "ml/lm-train-0"),
    ]
    idle, _, trainer, _ = rows
    assert (idle["cluster"], idle["namespace"], idle["pod"], idle["gpu_hours"]) == (
        "k8s-prod",
        None,
        None,
        192.0,
    )
    assert trainer == {
        "window_start": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "window_end": dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        "name": "ml/lm-train-0",
        "cluster": "k8s-prod",
        "node": "gpu-node-1",
        "namespace": "ml",
        "pod": "lm-train-0",
        "gpu_count": 8.0,
        "gpu_hours": 192.0,
        "gpu_cost": 589.44,
        "cpu_core_hours": 192.0,
        "ram_byte_hours": 1649267441664.0,
        "total_cost": 596.4,
        "labels": [
            {"key": "ai-system", "value": "helio-lm-pretrain"},
            {"key": "app", "value": "lm-train"},
        ],
        "_source_file": f"{json_server.url}/allocation",
    }
    # AND the allocation with a non-number waits in quarantine, named
    [bad] = pq.read_table(landing / "_quarantine/opencost/allocations/month=2025-01").to_pylist()
    assert (bad["field"], bad["reason"]) == (
        "gpuHours",
        "allocation ml/broken-0: expected a number, got 'lots'",
    )


def test_window_outside_the_month_is_quarantined(json_server, opencost_settings, landed):
    stray = allocation("ml/x", 1, TRAINER, 1.0, 24.0, 1.0, 1.0)
    stray["window"] = {"start": "2024-12-31T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    json_server.answer = lambda request: (200, {"code": 200, "data": [{"ml/x": stray}]})
    settings, config = opencost_settings
    [record] = opencost.extract(MONTH, settings, config)
    assert (record.rows, record.quarantined) == (0, 1)


def test_an_error_answer_is_a_source_error(json_server, opencost_settings, landing):
    json_server.answer = lambda request: (200, {"code": 400, "message": "bad window"})
    settings, config = opencost_settings
    with pytest.raises(SourceError, match="bad window"):
        opencost.extract(MONTH, settings, config)
    assert not landing.exists()


def test_outage_fails_after_retries_and_keeps_the_landed_month(
    json_server, opencost_settings, landed, no_backoff
):
    json_server.answer = lambda request: (200, PAYLOAD)
    settings, config = opencost_settings
    opencost.extract(MONTH, settings, config)
    before = landed.path("opencost", "allocations").read_bytes()
    json_server.answer = lambda request: (502, {"message": "bad gateway"})
    with pytest.raises(SourceUnavailable, match="HTTP 502"):
        opencost.extract(MONTH, settings, config)
    assert landed.path("opencost", "allocations").read_bytes() == before
