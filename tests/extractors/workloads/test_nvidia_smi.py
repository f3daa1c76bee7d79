"""nvidia-smi CSV logs: units or not, [N/A], local time, hourly energy by sample and hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extractors import nvidia_smi
from extractors.errors import SourceError
from extractors.org_config import load_config
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
# `nvidia-smi --query-gpu=timestamp,name,uuid,power.draw,utilization.gpu --format=csv -l 60`
# on host1, whose clock is Europe/Berlin (UTC+1 in January).
WITH_UNITS = """timestamp, name, uuid, power.draw [W], utilization.gpu [%]
2025/01/15 10:59:00.000, NVIDIA A100-SXM4-80GB, GPU-aaa, 100.00 W, 50 %
2025/01/15 11:00:00.000, NVIDIA A100-SXM4-80GB, GPU-aaa, 200.00 W, 100 %
2025/01/15 11:01:00.000, NVIDIA A100-SXM4-80GB, GPU-aaa, [N/A], [N/A]
2025/01/15 11:30:00.000, NVIDIA A100-SXM4-80GB, GPU-aaa, 60.00 W, 0 %
"""
# The same query with --format=csv,nounits on host2 (UTC), restarted once, one bad line.
NO_UNITS = """timestamp, name, uuid, power.draw [W], utilization.gpu [%]
2025/01/20 00:00:00.000, NVIDIA H100 80GB HBM3, GPU-bbb, 300.00, 80
2025/01/20 00:10:00.000, NVIDIA H100 80GB HBM3, GPU-bbb, 100.00, 20
timestamp, name, uuid, power.draw [W], utilization.gpu [%]
2025/01/20 00:11:00.000, NVIDIA H100 80GB HBM3, GPU-bbb, 100.00, 20
2025/01/20 00:12:00.000, NVIDIA H100 80GB HBM3, GPU-bbb, lots, 20
2025/01/20 00:13:00, NVIDIA H100 80GB HBM3, GPU-bbb, [Not Supported], 20
"""


def write(sources: Path, relative: str, text: str) -> None:
    path = sources / "nvidia_smi" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def smi_settings(config_doc, write_config, sources, landing):
    config_doc["sources"]["nvidia_smi"] = {
        "host_timezones": {"host1": "Europe/Berlin"},
        "max_gap_seconds": 300,
    }
    config = load_config(write_config(config_doc))
    return Settings(sources=sources, landing=landing, config=config.path), config


def test_logs_with_and_without_units_land_hourly(sources, smi_settings, landed, landing):
    """Hand-computed (power held until the next sample, at most 300 s):

    host1 (Berlin, so 10:59 local = 09:59 UTC):
      09:59 100 W held 60 s -> hour 09: 6,000,000 mJ, covered 60, 1 sample, power 100, util 50
      10:00 200 W held 60 s -> hour 10: 12,000,000 mJ, covered 60
      10:01 [N/A] (a sample, no power), 10:30 60 W (last: nothing to hold until)
      hour 10: samples 3, power (200+60)/2 = 130, util (100+0)/2 = 50
    host2 (UTC), hour 00:
      00:00 300 W held min(600, 300) = 300 s -> 90,000,000 mJ
      00:10 100 W held 60 s -> 6,000,000 mJ; 00:11 100 W held 120 s to 00:13 -> 12,000,000 mJ
      (the 00:12 line is quarantined; 00:13 is [Not Supported])
      energy 108,000,000 mJ, covered 480, samples 4, power (300+100+100)/3, util 35
    """
    write(sources, "host1/2025-01-15.csv", WITH_UNITS)
    write(sources, "host2/gpu.csv", NO_UNITS)
    settings, config = smi_settings
    [record] = nvidia_smi.extract(MONTH, settings, config)
    assert (record.source, record.dataset, record.rows, record.quarantined) == (
        "nvidia_smi",
        "samples",
        3,
        1,
    )
    table = landed.table("nvidia_smi", "samples")
    assert table.schema == nvidia_smi.SCHEMA
    got = [
        (
            r["hour"],
            r["hostname"],
            r["uuid"],
            r["energy_mj"],
            r["seconds_covered"],
            r["samples"],
            r["avg_power_w"],
            r["avg_util_pct"],
        )
        for r in table.to_pylist()
    ]
    utc = dt.UTC
    assert got == [
        (dt.datetime(2025, 1, 15, 9, tzinfo=utc), "host1", "GPU-aaa", 6e6, 60.0, 1, 100.0, 50.0),
        (dt.datetime(2025, 1, 15, 10, tzinfo=utc), "host1", "GPU-aaa", 12e6, 60.0, 3, 130.0, 50.0),
        (
            dt.datetime(2025, 1, 20, 0, tzinfo=utc),
            "host2",
            "GPU-bbb",
            108e6,
            480.0,
            4,
            pytest.approx(500 / 3),
            35.0,
        ),
    ]
    assert table["gpu_name"].to_pylist()[0] == "NVIDIA A100-SXM4-80GB"
    assert table["_source_file"].to_pylist() == [
        "nvidia_smi/host1/2025-01-15.csv",
        "nvidia_smi/host1/2025-01-15.csv",
        "nvidia_smi/host2/gpu.csv",
    ]
    [bad] = pq.read_table(landing / "_quarantine/nvidia_smi/samples/month=2025-01").to_pylist()
    assert (bad["file"], bad["line_number"], bad["field"]) == (
        "nvidia_smi/host2/gpu.csv",
        6,
        "power.draw",
    )
    assert bad["reason"] == "expected a number in W, got 'lots'"
    assert bad["raw"].startswith("2025/01/20 00:12:00.000")


def test_files_dated_far_from_the_month_are_not_read(sources, smi_settings, landed):
    # GIVEN a log from November that is not even readable
    write(sources, "host1/2025-01-15.csv", WITH_UNITS)
    write(sources, "host1/2024-11-02.csv", "garbage\n")
    settings, config = smi_settings
    # WHEN January is extracted THEN November's file is neither read nor checksummed
    [record] = nvidia_smi.extract(MONTH, settings, config)
    assert record.files == ["nvidia_smi/host1/2025-01-15.csv"]


def test_samples_across_the_month_end_stay_in_their_month(sources, smi_settings, landed):
    """host2 (UTC): 2025-01-31 23:59:00 300 W, next sample 2025-02-01 00:01:00.

    January holds the last minute: 300 W × 60 s = 18,000,000 mJ in hour 23;
    February's sample and the minute after midnight are not January's.
    """
    write(
        sources,
        "host2/2025-01-31.csv",
        "timestamp, name, uuid, power.draw [W], utilization.gpu [%]\n"
        "2025/01/31 23:59:00.000, H100, GPU-bbb, 300.00 W, 90 %\n"
        "2025/02/01 00:01:00.000, H100, GPU-bbb, 300.00 W, 90 %\n",
    )
    settings, config = smi_settings
    nvidia_smi.extract(MONTH, settings, config)
    [row] = landed.table("nvidia_smi", "samples").to_pylist()
    assert (row["hour"].day, row["hour"].hour, row["energy_mj"], row["samples"]) == (
        31,
        23,
        18e6,
        1,
    )


def test_a_log_without_power_draw_stops_the_load(sources, smi_settings, landing):
    write(sources, "host1/2025-01-15.csv", "timestamp, name, uuid\n2025/01/15 10:00:00, A, GPU-a\n")
    settings, config = smi_settings
    with pytest.raises(SourceError, match=r"host1/2025-01-15\.csv, line 1: header lacks.*power"):
        nvidia_smi.extract(MONTH, settings, config)
    assert not landing.exists()


def test_not_delivered(smi_settings, landing):
    settings, config = smi_settings
    assert nvidia_smi.extract(MONTH, settings, config) == []
    assert not landing.exists()
