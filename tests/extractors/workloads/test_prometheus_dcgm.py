"""DCGM exporter metrics from Prometheus: hourly per-GPU energy, power and utilisation."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import prometheus_dcgm
from extractors.errors import ConfigError, SourceUnavailable
from extractors.org_config import load_config
from extractors.remote import ATTEMPTS
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
POWER, ENERGY, UTIL = (
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_GPU_UTIL",
)
# The old exporter's label (Hostname) on one GPU, the new one (hostname) on the other.
GPU_A = {
    "Hostname": "node1",
    "UUID": "GPU-aaa",
    "gpu": "0",
    "modelName": "NVIDIA A100-SXM4-80GB",
    "pod": "train-0",
    "namespace": "ml",
    "container": "trainer",
    "instance": "node1:9400",
    "job": "dcgm",
}
GPU_B = {
    "hostname": "node2",
    "UUID": "GPU-bbb",
    "gpu": "1",
    "modelName": "NVIDIA H100 80GB HBM3",
    "hpc_job": "4101",
    "instance": "node2:9400",
    "job": "dcgm",
}


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text + ":00+00:00").timestamp()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + ":00+00:00")


def load_fleet(prometheus) -> None:
    """Two GPUs, sampled every 30 minutes (step_seconds: 1800).

    GPU A (label Hostname) on 2025-01-10; its counter resets between 01:00 and 01:30:
        time   energy (mJ)    power  util
        00:00  5,000,000,000   200    90
        00:30  5,360,000,000   220   100
        01:00  5,720,000,000   180    50
        01:30    100,000,000   200    70   <- reset: the increase is 100,000,000
        02:00    460,000,000   100     0
    hour 00: energy 360e6 + 360e6 = 720e6 mJ, covered 3600 s, power (200+220)/2 = 210,
             util 95, samples 2
    hour 01: energy 100e6 + 360e6 = 460e6 mJ, covered 3600 s, power 190, util 60, samples 2
    hour 02: no interval starts with a successor: energy null, covered 0, power 100, util 0

    GPU B (label hostname) across a query window (midnight) and the month end:
        2025-01-11 23:30  1,000,000,000  100  10
        2025-01-12 00:00  1,180,000,000  100  20
        2025-01-12 00:30  1,360,000,000  100  30
        2025-01-31 23:30  2,000,000,000   50   5   <- 19 days after: a gap, not spread
        2025-02-01 00:00  2,090,000,000   60   6   <- February: closes Jan's last interval
    2025-01-11 23: energy 180e6, covered 1800, power 100, util 10, samples 1
    2025-01-12 00: energy 180e6 (00:00-00:30; the 00:30 sample ends the data), covered 1800,
                   power 100, util (20+30)/2 = 25, samples 2
    2025-01-31 23: energy 90e6, covered 1800, power 50, util 5, samples 1 (Feb's sample not)
    """
    a_times = ["2025-01-10T00:00", "2025-01-10T00:30", "2025-01-10T01:00", "2025-01-10T01:30"]
    a_times.append("2025-01-10T02:00")
    a_energy = [5_000_000_000, 5_360_000_000, 5_720_000_000, 100_000_000, 460_000_000]
    prometheus.add(ENERGY, GPU_A, [(at(t), v) for t, v in zip(a_times, a_energy, strict=True)])
    prometheus.add(
        POWER, GPU_A, [(at(t), v) for t, v in zip(a_times, [200, 220, 180, 200, 100], strict=True)]
    )
    prometheus.add(
        UTIL, GPU_A, [(at(t), v) for t, v in zip(a_times, [90, 100, 50, 70, 0], strict=True)]
    )
    b_times = [
        "2025-01-11T23:30",
        "2025-01-12T00:00",
        "2025-01-12T00:30",
        "2025-01-31T23:30",
        "2025-02-01T00:00",
    ]
    b_energy = [1_000_000_000, 1_180_000_000, 1_360_000_000, 2_000_000_000, 2_090_000_000]
    prometheus.add(ENERGY, GPU_B, [(at(t), v) for t, v in zip(b_times, b_energy, strict=True)])
    prometheus.add(
        POWER, GPU_B, [(at(t), v) for t, v in zip(b_times, [100, 100, 100, 50, 60], strict=True)]
    )
    prometheus.add(
        UTIL, GPU_B, [(at(t), v) for t, v in zip(b_times, [10, 20, 30, 5, 6], strict=True)]
    )


EXPECTED = [
    # hour, uuid, hostname, energy_mj, seconds_covered, avg_power_w, avg_util_pct, samples
    ("2025-01-10T00:00", "GPU-aaa", "node1", 720e6, 3600.0, 210.0, 95.0, 2),
    ("2025-01-10T01:00", "GPU-aaa", "node1", 460e6, 3600.0, 190.0, 60.0, 2),
    ("2025-01-10T02:00", "GPU-aaa", "node1", None, 0.0, 100.0, 0.0, 1),
    ("2025-01-11T23:00", "GPU-bbb", "node2", 180e6, 1800.0, 100.0, 10.0, 1),
    ("2025-01-12T00:00", "GPU-bbb", "node2", 180e6, 1800.0, 100.0, 25.0, 2),
    ("2025-01-31T23:00", "GPU-bbb", "node2", 90e6, 1800.0, 50.0, 5.0, 1),
]


@pytest.fixture
def dcgm_settings(config_doc, write_config, sources, landing, json_server):
    def make(**options) -> tuple[Settings, object]:
        config_doc["sources"]["dcgm"] = {"url": json_server.url, "step_seconds": 1800, **options}
        config = load_config(write_config(config_doc))
        return Settings(sources=sources, landing=landing, config=config.path), config

    return make


def summary(table: pa.Table) -> list[tuple]:
    return [
        (
            row["hour"].strftime("%Y-%m-%dT%H:%M"),
            row["uuid"],
            row["hostname"],
            row["energy_mj"],
            row["seconds_covered"],
            row["avg_power_w"],
            row["avg_util_pct"],
            row["samples"],
        )
        for row in table.to_pylist()
    ]


def test_hourly_energy_with_a_counter_reset_and_both_hostname_labels(
    prometheus, dcgm_settings, landed, json_server
):
    # GIVEN a month of two GPUs in Prometheus (values in load_fleet's docstring)
    load_fleet(prometheus)
    settings, config = dcgm_settings()
    # WHEN the month is extracted
    [record] = prometheus_dcgm.extract(MONTH, settings, config)
    # THEN one row per GPU-hour with the hand-computed values
    assert (record.source, record.dataset, record.status, record.rows) == (
        "dcgm",
        "gpu_hours",
        "loaded",
        6,
    )
    table = landed.table("dcgm", "gpu_hours")
    assert table.schema == prometheus_dcgm.SCHEMA
    assert summary(table) == EXPECTED
    first = table.to_pylist()[0]
    assert (first["gpu"], first["model_name"], first["pod"], first["namespace"]) == (
        "0",
        "NVIDIA A100-SXM4-80GB",
        "train-0",
        "ml",
    )
    assert (first["container"], first["hpc_job"], first["step_seconds"]) == ("trainer", None, 1800)
    assert table.to_pylist()[3]["hpc_job"] == "4101"
    assert first["_source_file"] == f"{json_server.url}/api/v1/query_range"
    # AND it asked one day per query, each metric, with the configured step
    ranges = [r for r in json_server.requests if r.path == "/api/v1/query_range"]
    assert len(ranges) == 31 * 3
    assert {r.query["step"][0] for r in ranges} == {"1800"}
    assert {float(r.query["end"][0]) - float(r.query["start"][0]) for r in ranges} == {86400.0}


def test_chunking_by_a_label_gives_the_same_rows(prometheus, dcgm_settings, landed, json_server):
    # GIVEN the same fleet, queried one Hostname at a time
    load_fleet(prometheus)
    settings, config = dcgm_settings(chunk_by="Hostname")
    prometheus_dcgm.extract(MONTH, settings, config)
    # THEN the rows are the same; GPU B (no Hostname label) came with {Hostname=""}
    assert summary(landed.table("dcgm", "gpu_hours")) == EXPECTED
    queries = {r.query["query"][0] for r in json_server.requests if "query" in r.query}
    assert f'{POWER}{{Hostname="node1"}}' in queries and f'{POWER}{{Hostname=""}}' in queries


def test_a_pod_change_keeps_every_millijoule(prometheus, dcgm_settings, landed):
    """GPU A runs pod p1, then p2 from 00:30 (a new series in Prometheus).

    Counter 0 at 00:00 (p1), 100e6 at 00:30 (p2), 250e6 at 01:00 (p2).
    [00:00, 00:30) +100e6 goes to p1 (the interval's first sample), [00:30, 01:00) +150e6 to p2.
    """
    labels = {k: v for k, v in GPU_A.items() if k != "pod"}
    prometheus.add(ENERGY, {**labels, "pod": "p1"}, [(at("2025-01-05T00:00"), 0)])
    prometheus.add(
        ENERGY,
        {**labels, "pod": "p2"},
        [(at("2025-01-05T00:30"), 100e6), (at("2025-01-05T01:00"), 250e6)],
    )
    settings, config = dcgm_settings()
    prometheus_dcgm.extract(MONTH, settings, config)
    rows = landed.table("dcgm", "gpu_hours").to_pylist()
    assert [(r["pod"], r["energy_mj"], r["seconds_covered"]) for r in rows] == [
        ("p1", 100e6, 1800.0),
        ("p2", 150e6, 1800.0),
    ]


def test_a_series_without_uuid_is_quarantined_once(prometheus, dcgm_settings, landing):
    load_fleet(prometheus)
    prometheus.add(POWER, {"Hostname": "node9", "gpu": "0"}, [(at("2025-01-03T00:00"), 90)])
    settings, config = dcgm_settings()
    [record] = prometheus_dcgm.extract(MONTH, settings, config)
    assert (record.rows, record.quarantined) == (6, 1)
    [bad] = pq.read_table(landing / "_quarantine/dcgm/gpu_hours/month=2025-01").to_pylist()
    assert (bad["field"], bad["line_number"]) == ("UUID", None)
    assert "without a UUID label" in bad["reason"] and '"Hostname": "node9"' in bad["raw"]


def test_rerun_with_the_same_answers_is_unchanged(prometheus, dcgm_settings, landed, ledger):
    load_fleet(prometheus)
    settings, config = dcgm_settings()
    prometheus_dcgm.extract(MONTH, settings, config)
    before = landed.path("dcgm", "gpu_hours").read_bytes()
    [record] = prometheus_dcgm.extract(MONTH, settings, config)
    assert (record.status, record.rows) == ("unchanged", 6)
    assert landed.path("dcgm", "gpu_hours").read_bytes() == before
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]


def test_prometheus_down_fails_after_retries_and_leaves_the_landed_month(
    prometheus, dcgm_settings, landed, ledger, json_server, no_backoff, caplog, monkeypatch
):
    # GIVEN a landed month, read with a bearer token
    monkeypatch.setenv("DCGM_TEST_TOKEN", "s3cret-token")
    load_fleet(prometheus)
    settings, config = dcgm_settings(token_env="DCGM_TEST_TOKEN")
    prometheus_dcgm.extract(MONTH, settings, config)
    before = landed.path("dcgm", "gpu_hours").read_bytes()
    asked = len(json_server.requests)
    # WHEN Prometheus answers 503 from now on
    prometheus.failures = [503] * 1000
    with caplog.at_level(logging.WARNING), pytest.raises(SourceUnavailable) as error:
        prometheus_dcgm.extract(MONTH, settings, config)
    # THEN it tried a bounded number of times, then failed naming the source
    assert len(json_server.requests) - asked == ATTEMPTS
    assert "sources.dcgm: GET" in str(error.value) and "HTTP 503" in str(error.value)
    # AND the landed month and the ledger are as they were; the token was sent, never shown
    assert landed.path("dcgm", "gpu_hours").read_bytes() == before
    assert len(ledger()) == 1
    assert json_server.requests[0].headers["Authorization"] == "Bearer s3cret-token"
    assert "s3cret-token" not in caplog.text + str(error.value)


def test_a_short_outage_is_ridden_through(prometheus, dcgm_settings, landed, no_backoff):
    load_fleet(prometheus)
    prometheus.failures = [503, 502]
    settings, config = dcgm_settings()
    [record] = prometheus_dcgm.extract(MONTH, settings, config)
    assert record.rows == 6


def test_nothing_listening_is_unavailable(dcgm_settings, config_doc, write_config, no_backoff):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings, _ = dcgm_settings()
    config_doc["sources"]["dcgm"]["url"] = f"http://127.0.0.1:{port}"
    config = load_config(write_config(config_doc))
    with pytest.raises(SourceUnavailable, match="ConnectionError"):
        prometheus_dcgm.extract(MONTH, settings, config)


def test_missing_token_variable_is_a_config_error(dcgm_settings, monkeypatch, landing):
    monkeypatch.delenv("DCGM_ABSENT_TOKEN", raising=False)
    settings, config = dcgm_settings(token_env="DCGM_ABSENT_TOKEN")
    with pytest.raises(ConfigError, match=r"sources\.dcgm\.token_env: environment variable"):
        prometheus_dcgm.extract(MONTH, settings, config)
    assert not landing.exists()


def test_not_configured_is_skipped(settings, org_config, landing):
    assert prometheus_dcgm.extract(MONTH, settings, org_config) == []
    assert not landing.exists()


@pytest.mark.parametrize(("step", "hours"), [(60, 24), (8, 24), (5, 15), (1, 3), (3600, 24)])
def test_windows_stay_under_prometheus_point_limit(step, hours):
    start, end = prometheus_dcgm.month_bounds("2025-02")
    windows = prometheus_dcgm.windows(start, end, step)
    assert windows[0] == (start, start + hours * 3600)
    assert windows[-1][1] == end
    assert all((b - a) / step + 1 <= prometheus_dcgm.MAX_POINTS for a, b in windows)
