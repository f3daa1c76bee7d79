"""CodeCarbon emissions.csv: new and old versions' columns, local timestamps, bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import codecarbon
from extractors.errors import SourceError
from extractors.org_config import load_config
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
# CodeCarbon 2.x/3.x: experiment_id, codecarbon_version, pue, and the utilisation
# and water columns (beyond the contract) are written.
NEW = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,"
    "cpu_utilization_percent,ram_utilization_percent,ram_used_gb,cpu_power,gpu_power,ram_power,"
    "cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,"
    "region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,"
    "gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue,wue\n"
    "2025-01-15T10:00:00,helio-lm,3f1c2b9e-0000-4000-8000-000000000001,"
    "5b0fa12a-3dd7-45bb-9766-cc326314d9f1,3600.5,1.2345,0.000342,35.0,40.1,25.3,42.5,1200.75,"
    "20.0,0.0425,1.2,0.02,1.2625,0.0,France,FRA,ile-de-france,,,"
    "Linux-6.5.0-x86_64-with-glibc2.35,3.11.7,3.0.1,64,AMD EPYC 7763 64-Core Processor,4.0,"
    "4 x NVIDIA A100-SXM4-80GB,2.35,48.85,503.5,machine,N,1.2,0.0\n"
    "2025-02-01T00:30:00+00:00,helio-lm,3f1c2b9e-0000-4000-8000-000000000002,"
    "5b0fa12a-3dd7-45bb-9766-cc326314d9f1,60,0.01,0.0001,1,1,1,1,1,1,0.001,0.001,0.001,0.003,0,"
    "France,FRA,ile-de-france,,,Linux,3.11.7,3.0.1,64,AMD EPYC,4.0,A100,2.35,48.85,503.5,"
    "machine,N,1.2,0.0\n"
)
# CodeCarbon 1.x: no experiment_id, codecarbon_version or pue; the second row
# has a broken energy value, the third is in December.
OLD = (
    "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,"
    "region,cloud_provider,cloud_region,os,python_version,cpu_count,cpu_model,gpu_count,"
    "gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud\n"
    "2025-01-20T08:00:00,support-bot,7e57d004-2b97-0e7a-b45f-5387367791cd,120.0,0.0021,"
    "1.75e-05,42.5,300.0,12.0,0.0014,0.01,0.0004,0.0118,United States,USA,virginia,gcp,"
    "us-east1,Linux,3.8.10,8,Intel Xeon,1,Tesla T4,,,31.4,machine,Y\n"
    "2025-01-21T08:00:00,support-bot,7e57d004-2b97-0e7a-b45f-5387367791ce,120.0,0.0021,"
    "1.75e-05,42.5,300.0,12.0,0.0014,0.01,0.0004,n/a,United States,USA,virginia,gcp,"
    "us-east1,Linux,3.8.10,8,Intel Xeon,1,Tesla T4,,,31.4,machine,Y\n"
    "2024-12-20T08:00:00,support-bot,7e57d004-2b97-0e7a-b45f-5387367791cf,120.0,0.0021,"
    "1.75e-05,42.5,300.0,12.0,0.0014,0.01,0.0004,0.0118,United States,USA,virginia,gcp,"
    "us-east1,Linux,3.8.10,8,Intel Xeon,1,Tesla T4,,,31.4,machine,Y\n"
)


def write(sources: Path, relative: str, text: str) -> None:
    path = sources / "codecarbon" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def cc_settings(config_doc, write_config, sources, landing):
    config_doc["sources"]["codecarbon"] = {"timezone": "Europe/Paris"}
    config = load_config(write_config(config_doc))
    return Settings(sources=sources, landing=landing, config=config.path), config


def test_new_and_old_versions_land_in_one_schema(sources, cc_settings, landed, landing):
    # GIVEN an emissions.csv of a recent CodeCarbon and one of a 1.x
    write(sources, "lm/emissions.csv", NEW)
    write(sources, "bots/support/emissions.csv", OLD)
    settings, config = cc_settings
    # WHEN January is extracted
    [record] = codecarbon.extract(MONTH, settings, config)
    # THEN January's rows of both land; February's and December's wait for their months
    assert (record.source, record.dataset, record.rows, record.quarantined) == (
        "codecarbon",
        "runs",
        2,
        1,
    )
    table = landed.table("codecarbon", "runs")
    assert table.column_names[: len(codecarbon.COLUMNS)] == list(codecarbon.COLUMNS)
    assert table.column_names[len(codecarbon.COLUMNS) :] == [
        "cpu_utilization_percent",
        "ram_utilization_percent",
        "ram_used_gb",
        "water_consumed",
        "wue",
        "_source_file",
    ]
    assert table.schema.field("energy_consumed").type == pa.float64()
    old, new = sorted(table.to_pylist(), key=lambda r: r["project_name"])[::-1]
    # Local (Paris) 10:00 is 09:00 UTC
    assert new["timestamp"] == dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC)
    assert (new["energy_consumed"], new["gpu_energy"], new["gpu_count"], new["pue"]) == (
        1.2625,
        1.2,
        4.0,
        1.2,
    )
    assert (new["codecarbon_version"], new["experiment_id"], new["cloud_provider"]) == (
        "3.0.1",
        "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",
        None,
    )
    assert new["cpu_utilization_percent"] == "35.0"
    # the old version's missing columns are null, its empty numbers too
    assert (old["experiment_id"], old["codecarbon_version"], old["pue"]) == (None, None, None)
    assert (old["longitude"], old["energy_consumed"], old["on_cloud"]) == (None, 0.0118, "Y")
    assert old["_source_file"] == "codecarbon/bots/support/emissions.csv"
    [bad] = pq.read_table(landing / "_quarantine/codecarbon/runs/month=2025-01").to_pylist()
    assert (bad["file"], bad["line_number"], bad["field"], bad["reason"]) == (
        "codecarbon/bots/support/emissions.csv",
        3,
        "energy_consumed",
        "expected a number, got 'n/a'",
    )


def test_february_gets_its_own_row(sources, cc_settings, landed):
    write(sources, "lm/emissions.csv", NEW)
    settings, config = cc_settings
    [record] = codecarbon.extract("2025-02", settings, config)
    assert record.rows == 1
    [row] = landed.table("codecarbon", "runs", "2025-02").to_pylist()
    assert row["timestamp"] == dt.datetime(2025, 2, 1, 0, 30, tzinfo=dt.UTC)


def test_a_file_that_is_not_an_emissions_csv_stops_the_load(sources, cc_settings, landing):
    write(sources, "x/emissions.csv", "timestamp,project_name,duration\n2025-01-01T00:00:00,p,1\n")
    settings, config = cc_settings
    with pytest.raises(SourceError, match=r"header lacks column\(s\) run_id, emissions"):
        codecarbon.extract(MONTH, settings, config)
    assert not landing.exists()


def test_not_delivered(cc_settings, landing):
    settings, config = cc_settings
    assert codecarbon.extract(MONTH, settings, config) == []
