"""GCP carbon footprint export: nested kgCO2e records, dates, line-level errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from extractors import gcp_carbon
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
REL = "gcp/finops/billing/carbon_footprint/usage_month=2025-01.jsonl"


def footprint_row(project: str | None = "support-ml", scope2_lb: float = 12.5, **overrides) -> dict:
    row = {
        "usage_month": "2025-01-01",
        "billing_account_id": "01ABCD-234567-89EFGH",
        "project": {"id": project, "number": "123456789012" if project else None},
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "location": {"location": "europe-west4", "region": "europe-west4"},
        "carbon_model_version": 12,
        "carbon_footprint_kgCO2e": {
            "scope1": 0.1,
            "scope2": {"location_based": scope2_lb, "market_based": 3.0},
            "scope3": 2.4,
        },
        "carbon_footprint_total_kgCO2e": {
            "location_based": 0.1 + scope2_lb + 2.4,
            "market_based": 0.1 + 3.0 + 2.4,
        },
    }
    row.update(overrides)
    return row


def write_export(sources: Path, rows: list, month: str = MONTH) -> Path:
    path = sources / "gcp/finops/billing/carbon_footprint" / f"usage_month={month}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    )
    return path


def test_rows_land_as_nested_kilograms(sources, settings, org_config, landed):
    # GIVEN a project row and a row outside any project (project.id null)
    write_export(sources, [footprint_row(), footprint_row(project=None, scope2_lb=1.0)])
    # WHEN
    [record] = gcp_carbon.extract(MONTH, settings, org_config)
    # THEN
    assert (record.status, record.rows) == ("loaded", 2)
    table = landed.table("gcp_carbon", "carbon_footprint")
    assert table.schema.remove(table.schema.get_field_index("_source_file")) == gcp_carbon.SCHEMA
    rows = table.to_pylist()
    assert rows[0]["usage_month"] == dt.date(2025, 1, 1)
    assert rows[0]["carbon_footprint_kgCO2e"]["scope2"] == {
        "location_based": 12.5,
        "market_based": 3.0,
    }
    assert rows[0]["carbon_footprint_total_kgCO2e"]["location_based"] == pytest.approx(15.0)
    assert rows[1]["project"] == {"id": None, "number": None}
    assert rows[1]["carbon_model_version"] == 12
    assert rows[1]["_source_file"] == REL


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    write_export(sources, [footprint_row()])
    gcp_carbon.extract(MONTH, settings, org_config)
    before = landed.path("gcp_carbon", "carbon_footprint").read_bytes()
    [record] = gcp_carbon.extract(MONTH, settings, org_config)
    assert (record.status, record.rows) == ("unchanged", 1)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("gcp_carbon", "carbon_footprint").read_bytes() == before


def test_rewritten_month_replaces_the_partition(sources, settings, org_config, landed):
    # GIVEN a landed month, then Google rewrites it under a new model version
    write_export(sources, [footprint_row(), footprint_row(project="other")])
    gcp_carbon.extract(MONTH, settings, org_config)
    write_export(sources, [footprint_row(carbon_model_version=13)])
    # WHEN
    [record] = gcp_carbon.extract(MONTH, settings, org_config)
    # THEN only the rewrite is there
    assert (record.status, record.rows) == ("loaded", 1)
    assert landed.table("gcp_carbon", "carbon_footprint")["carbon_model_version"].to_pylist() == [
        13
    ]


def test_missing_required_field_names_line_and_field(sources, settings, org_config, landing):
    row = footprint_row()
    del row["carbon_footprint_total_kgCO2e"]["market_based"]
    write_export(sources, [footprint_row(), row])
    with pytest.raises(
        SourceError,
        match=rf"{REL}, line 2, field carbon_footprint_total_kgCO2e.market_based: required",
    ):
        gcp_carbon.extract(MONTH, settings, org_config)
    assert not landing.exists()


def test_malformed_json_names_line(sources, settings, org_config):
    write_export(sources, ["{'usage_month': '2025-01-01'}"])
    with pytest.raises(SourceError, match=rf"{REL}, line 1: malformed JSON"):
        gcp_carbon.extract(MONTH, settings, org_config)


def test_bad_date_names_field(sources, settings, org_config):
    write_export(sources, [footprint_row(usage_month="January 2025")])
    with pytest.raises(SourceError, match="line 1, field usage_month: expected a date YYYY-MM-DD"):
        gcp_carbon.extract(MONTH, settings, org_config)


def test_row_of_another_month_is_refused(sources, settings, org_config):
    write_export(sources, [footprint_row(usage_month="2024-12-01")])
    with pytest.raises(SourceError, match="line 1, field usage_month: expected 2025-01-01"):
        gcp_carbon.extract(MONTH, settings, org_config)


def test_month_not_published_yet(sources, settings, org_config, landing):
    write_export(sources, [footprint_row(usage_month="2024-12-01")], month="2024-12")
    assert gcp_carbon.extract(MONTH, settings, org_config) == []
    assert not landing.exists()
