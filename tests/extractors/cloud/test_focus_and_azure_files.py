"""FOCUS files from any provider (the FinOps Foundation sample included) and the
Azure Emissions Impact Dashboard export: file sources with real-world quirks."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import logging
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import azure_emissions_export, focus_files
from extractors.errors import SourceError
from extractors.org_config import load_config

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "focus-1.0" / "focus_sample.csv"
UTC = dt.UTC


@pytest.fixture
def focus_config(config_doc, write_config):
    def load(*providers: str):
        if providers:
            config_doc["sources"]["focus"] = {"providers": list(providers)}
        config_doc["sources"]["azure_emissions_export"] = {}
        return load_config(write_config(config_doc, "focus.yml"))

    return load


def sample_rows() -> list[dict]:
    with SAMPLE.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_focus_1_0_sample_loads_with_its_quirks(
    sources, settings, focus_config, landed, caplog
):
    # GIVEN the FinOps Foundation's sample (AWS, Microsoft and Oracle rows of September 2024)
    folder = sources / "focus" / "finops-sample"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    config = focus_config("finops-sample")
    rows = sample_rows()
    september = [r for r in rows if r["BillingPeriodStart"].startswith("2024-09")]
    # WHEN September and October are extracted
    with caplog.at_level(logging.INFO, logger="extractors"):
        [sep] = focus_files.extract("2024-09", settings, config)
        [oct_] = focus_files.extract("2024-10", settings, config)
    # THEN every row lands in its billing period: 999 + 1 of the 1,000
    assert len(rows) == 1000
    assert (sep.rows, oct_.rows) == (len(september), 1000 - len(september)) == (999, 1)
    table = landed.table("focus", "cost_line_items", "2024-09")
    # AND "NULL" and "" are null, never the text
    assert "NULL" not in table["ChargeClass"].to_pylist()
    assert table["ChargeClass"].null_count == 999
    assert table["AvailabilityZone"].null_count == sum(
        r["AvailabilityZone"] in ("NULL", "") for r in september
    )
    assert table["BillingAccountName"].null_count == sum(
        r["BillingAccountName"] in ("NULL", "") for r in september
    )
    # AND "2024-09-01 00:00:00" is read as UTC
    assert table.schema.field("BillingPeriodStart").type == pa.timestamp("us", tz="UTC")
    assert set(table["BillingPeriodStart"].to_pylist()) == {dt.datetime(2024, 9, 1, tzinfo=UTC)}
    # AND values keep their case as delivered; the bad AvailabilityZone is kept, not guessed at
    assert {"Usage-Based", "Usage-based"} <= set(table["ChargeFrequency"].to_pylist())
    assert "us-east-1" in table["AvailabilityZone"].to_pylist()
    # AND costs are exact, credits and negative corrections included; nothing dropped
    expected = sum(float(r["BilledCost"]) for r in september)
    assert sum(table["BilledCost"].to_pylist()) == pytest.approx(expected)
    assert min(v for v in table["ContractedCost"].to_pylist() if v is not None) < 0
    assert "Credit" in table["ChargeCategory"].to_pylist()
    # AND the non-FOCUS Id column is kept and logged; tags are a map; the provider folder is named
    assert "Id" in table.column_names and "Id" in caplog.text
    assert set(table["provider_source"].to_pylist()) == {"finops-sample"}
    assert set(table["ProviderName"].to_pylist()) == {"AWS", "Microsoft", "Oracle"}
    tags = [t for t in table["Tags"].to_pylist() if t]
    assert ("environment", "dev") in tags[0] or ("environment", "prod") in tags[0]


def test_focus_1_3_names_are_landed_under_the_1_2_names(sources, settings, focus_config, landed):
    # GIVEN a FOCUS 1.3 file (ServiceProviderName, HostProviderName) with an x_ extension
    folder = sources / "focus" / "gcp" / "BILLING_PERIOD=2025-01"
    folder.mkdir(parents=True)
    header = [
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "ServiceProviderName",
        "HostProviderName",
        "ServiceName",
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "x_Credits",
    ]
    values = [
        "2025-01-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
        "2025-01-03T00:00:00Z",
        "2025-01-04T00:00:00Z",
        "Usage",
        "Google Cloud",
        "Google Cloud",
        "Vertex AI",
        "12.5",
        "11.0",
        "EUR",
        "[]",
    ]
    text = ",".join(header) + "\n" + ",".join(values) + "\n"
    (folder / "part-0001.csv.gz").write_bytes(gzip.compress(text.encode()))
    (folder / "manifest.json").write_text("{}")  # an exporter's manifest, not data
    # WHEN
    [record] = focus_files.extract("2025-01", settings, focus_config("gcp"))
    # THEN
    table = landed.table("focus", "cost_line_items")
    assert record.rows == 1
    assert table["ProviderName"].to_pylist() == ["Google Cloud"]
    assert table["HostProviderName"].to_pylist() == ["Google Cloud"]
    assert table["x_Credits"].to_pylist() == ["[]"]
    assert table["ChargePeriodStart"][0].as_py() == dt.datetime(2025, 1, 3, tzinfo=UTC)


def test_focus_row_of_another_period_in_a_period_folder_is_named(
    sources, settings, focus_config, landing
):
    folder = sources / "focus" / "oci" / "BILLING_PERIOD=2025-01"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "BillingPeriodStart": pa.array(
                [dt.datetime(2025, 1, 1), dt.datetime(2024, 12, 1)], pa.timestamp("s")
            ),
            "BillingPeriodEnd": pa.array([dt.datetime(2025, 2, 1)] * 2, pa.timestamp("s")),
            "ChargePeriodStart": pa.array([dt.datetime(2025, 1, 1)] * 2, pa.timestamp("s")),
            "ChargePeriodEnd": pa.array([dt.datetime(2025, 1, 2)] * 2, pa.timestamp("s")),
            "ChargeCategory": ["Usage", "Usage"],
            "ProviderName": ["Oracle", "Oracle"],
            "ServiceName": ["Compute", "Compute"],
            "BilledCost": [1.0, 2.0],
            "EffectiveCost": [1.0, 2.0],
            "BillingCurrency": ["USD", "USD"],
        }
    )
    pq.write_table(table, folder / "focus.parquet")
    with pytest.raises(
        SourceError, match=r"focus\.parquet: data row 2: BillingPeriodStart in 2024-12"
    ):
        focus_files.extract("2025-01", settings, focus_config("oci"))
    assert not landing.exists()


def test_focus_required_column_missing_is_named(sources, settings, focus_config):
    folder = sources / "focus" / "azure"
    folder.mkdir(parents=True)
    (folder / "export.csv").write_text(
        "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
        "ProviderName,ServiceName,EffectiveCost,BillingCurrency\n"
        "2025-01-01,2025-02-01,2025-01-01,2025-01-02,Usage,Microsoft,VMs,1,USD\n"
    )
    with pytest.raises(SourceError, match=r"export\.csv: required column BilledCost is missing"):
        focus_files.extract("2025-01", settings, focus_config("azure"))


def test_focus_month_without_rows_is_not_delivered(sources, settings, focus_config, landing):
    folder = sources / "focus" / "finops-sample"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    assert focus_files.extract("2025-01", settings, focus_config("finops-sample")) == []
    assert not landing.exists()


# --- Emissions Impact Dashboard / Cloud for Sustainability export ------------------------

EID_HEADER = (
    "dateKey,enrollmentId,subscriptionId,subscriptionName,azureServiceName,subService,"
    "azureRegionName,scope,scopeId,totalEmissions"
)


def write_eid(
    sources: Path, lines: list[str], name: str = "EnrollmentEmission.csv", header=EID_HEADER
):
    folder = sources / "azure" / "emissions_export"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(header + "\n" + "\n".join(lines) + "\n")


def test_emissions_export_lands_the_month_in_tonnes(
    sources, settings, focus_config, landed, caplog
):
    # GIVEN a history export with two months, three scopes
    write_eid(
        sources,
        [
            "20250101,E1,sub-1,ML,Virtual Machines,NCv3,West Europe,Scope 1,1,0.0",
            "20250101,E1,sub-1,ML,Virtual Machines,NCv3,West Europe,Scope 2,2,1.25",
            "20250101,E1,sub-1,ML,Virtual Machines,NCv3,West Europe,Scope 3,3,0.5E-1",
            "20241201,E1,sub-1,ML,Virtual Machines,NCv3,West Europe,Scope 2,2,9.0",
        ],
    )
    # WHEN January is extracted
    with caplog.at_level(logging.INFO, logger="extractors"):
        [record] = azure_emissions_export.extract("2025-01", settings, focus_config())
    # THEN its three rows land, mtCO2e as delivered, the month typed
    table = landed.table("azure_carbon", "emissions_export")
    assert (record.source, record.dataset, record.rows) == ("azure_carbon", "emissions_export", 3)
    assert table["totalEmissions"].to_pylist() == [0.0, 1.25, 0.05]
    assert table["scopeId"].to_pylist() == [1, 2, 3]
    assert set(table["usage_month"].to_pylist()) == {dt.date(2025, 1, 1)}
    assert set(table["dateKey"].to_pylist()) == {"20250101"}


def test_emissions_export_quirks_and_errors(sources, settings, focus_config, landed, caplog):
    # An unknown new column is kept and logged
    write_eid(
        sources,
        ["20250101,E1,sub-1,ML,Storage,Blob,North Europe,Scope 3,3,0.2,extra"],
        header=EID_HEADER + ",newColumn",
    )
    with caplog.at_level(logging.INFO, logger="extractors"):
        azure_emissions_export.extract("2025-01", settings, focus_config())
    assert landed.table("azure_carbon", "emissions_export")["newColumn"].to_pylist() == ["extra"]
    assert "newColumn" in caplog.text
    # A month no row covers is not delivered
    assert azure_emissions_export.extract("2025-03", settings, focus_config()) == []
    # A required column missing is named
    write_eid(
        sources,
        ["20250101,E1,sub-1,ML,Storage,Blob,North Europe,Scope 3,3"],
        header=EID_HEADER.rsplit(",", 1)[0],
    )
    with pytest.raises(SourceError, match="required column totalEmissions is missing"):
        azure_emissions_export.extract("2025-01", settings, focus_config())
    # A dateKey that is not yyyymm01 is named
    write_eid(sources, ["2025-01,E1,sub-1,ML,Storage,Blob,North Europe,Scope 3,3,0.2"])
    with pytest.raises(SourceError, match=r"dateKey: expected yyyymm01, got '2025-01'"):
        azure_emissions_export.extract("2025-01", settings, focus_config())


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
