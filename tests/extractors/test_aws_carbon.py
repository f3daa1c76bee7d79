"""AWS carbon emissions export: model versions, optional scopes, units, idempotency."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import aws_carbon
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
EXPORT_ROOT = Path("aws/billing/carbon/carbon/data")


def totals_row(account: str = "222222222222", lbm: float = 0.5, **overrides) -> dict:
    """A row as the export delivered it before the per-scope columns existed."""
    row = {
        "last_refresh_timestamp": dt.datetime(2025, 4, 21, 6, 0),
        "location": "US East (N. Virginia)",
        "payer_account_id": "111111111111",
        "usage_account_id": account,
        "product_code": "AmazonEC2",
        "region_code": "us-east-1",
        "usage_period_start": dt.datetime(2025, 1, 1),
        "usage_period_end": dt.datetime(2025, 2, 1),
        "total_lbm_emissions_value": lbm,
        "total_lbm_emissions_unit": "MTCO2e",
        "total_mbm_emissions_value": lbm / 2,
        "total_mbm_emissions_unit": "MTCO2e",
    }
    row.update(overrides)
    return row


def scoped_row(**overrides) -> dict:
    """A row of a late-2025 delivery: model_version column and the five scope pairs."""
    row = {"model_version": "v3.0.0", **totals_row()}
    for prefix, value in zip(aws_carbon.SCOPE_PREFIXES, (0.01, 0.4, 0.2, 0.09, 0.05), strict=True):
        row[f"{prefix}_value"] = value
        row[f"{prefix}_unit"] = "MTCO2e"
    row.update(overrides)
    return row


def carbon_dir(sources: Path, version: str, month: str = MONTH) -> Path:
    path = sources / EXPORT_ROOT / f"model_version={version}" / f"usage_period={month}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_parquet(sources: Path, version: str, rows: list[dict], month: str = MONTH) -> Path:
    path = carbon_dir(sources, version, month) / "carbon-00001.snappy.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_csv(sources: Path, version: str, rows: list[dict], month: str = MONTH) -> Path:
    path = carbon_dir(sources, version, month) / "carbon-00001.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, dt.datetime) else v
                for k, v in row.items()
            }
        )
    path.write_text(buffer.getvalue())
    return path


def test_both_model_versions_land_with_scopes_null_where_absent(
    sources, settings, org_config, landed
):
    # GIVEN the month in two model versions: v2 Parquet with totals only and no
    # model_version column; v3 CSV with the per-scope columns
    write_parquet(
        sources, "v2.0.0", [totals_row("222222222222", 0.5), totals_row("333333333333", 0.25)]
    )
    write_csv(sources, "v3.0.0", [scoped_row(total_lbm_emissions_value=0.6)])
    # WHEN the month is extracted
    [record] = aws_carbon.extract(MONTH, settings, org_config)
    # THEN all three rows land, each with its model version
    assert (record.status, record.rows) == ("loaded", 3)
    table = landed.table("aws_carbon", "emissions").sort_by("model_version")
    assert table["model_version"].to_pylist() == ["v2.0.0", "v2.0.0", "v3.0.0"]
    assert table["total_lbm_emissions_value"].to_pylist() == [0.5, 0.25, 0.6]
    # AND the scope pairs are typed, null for the totals-only delivery
    assert table.schema.field("total_scope_2_lbm_emissions_value").type == pa.float64()
    assert table.schema.field("total_scope_2_lbm_emissions_unit").type == pa.string()
    assert table["total_scope_2_lbm_emissions_value"].to_pylist() == [None, None, 0.4]
    assert table["usage_period_start"][2].as_py() == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert table["_source_file"].to_pylist()[2] == (
        "aws/billing/carbon/carbon/data/model_version=v3.0.0/usage_period=2025-01/carbon-00001.csv"
    )


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    # GIVEN a landed month
    write_parquet(sources, "v3.0.0", [scoped_row()])
    aws_carbon.extract(MONTH, settings, org_config)
    before = landed.path("aws_carbon", "emissions").read_bytes()
    # WHEN extracted again
    [record] = aws_carbon.extract(MONTH, settings, org_config)
    # THEN
    assert (record.status, record.rows) == ("unchanged", 1)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("aws_carbon", "emissions").read_bytes() == before


def test_unknown_unit_names_file_column_and_value(sources, settings, org_config, landing):
    # GIVEN a delivery in kilograms
    write_parquet(sources, "v3.0.0", [scoped_row(total_mbm_emissions_unit="kgCO2e")])
    # WHEN / THEN
    with pytest.raises(SourceError) as error:
        aws_carbon.extract(MONTH, settings, org_config)
    message = str(error.value)
    assert "model_version=v3.0.0/usage_period=2025-01/carbon-00001.snappy.parquet" in message
    assert "column total_mbm_emissions_unit" in message
    assert "'kgCO2e'" in message
    assert not landing.exists()


def test_missing_required_column_names_column_and_file(sources, settings, org_config):
    # GIVEN a file without usage_account_id
    row = scoped_row()
    del row["usage_account_id"]
    write_parquet(sources, "v3.0.0", [row])
    # WHEN / THEN
    with pytest.raises(
        SourceError,
        match=r"carbon-00001\.snappy\.parquet: required column usage_account_id is missing",
    ):
        aws_carbon.extract(MONTH, settings, org_config)


def test_extra_column_is_kept(sources, settings, org_config, landed, caplog):
    # GIVEN a delivery with a column the contract does not know
    write_parquet(sources, "v3.0.0", [scoped_row(total_scope_4_emissions_value=1.0)])
    # WHEN
    with caplog.at_level(logging.INFO, logger="extractors.aws_cur"):
        aws_carbon.extract(MONTH, settings, org_config)
    # THEN it lands as delivered and is logged
    assert landed.table("aws_carbon", "emissions")["total_scope_4_emissions_value"].to_pylist() == [
        1.0
    ]
    assert "total_scope_4_emissions_value" in caplog.text


def test_month_not_published_yet(sources, settings, org_config, landing, caplog):
    # GIVEN only the previous month is published
    write_parquet(sources, "v3.0.0", [scoped_row()], month="2024-12")
    # WHEN
    with caplog.at_level(logging.INFO, logger="extractors.aws_carbon"):
        records = aws_carbon.extract(MONTH, settings, org_config)
    # THEN
    assert records == []
    assert not landing.exists()
    assert "not delivered" in caplog.text


def test_new_model_version_relands_the_month(sources, settings, org_config, landed):
    # GIVEN a landed month, then AWS adds a second model version for it
    write_parquet(sources, "v2.0.0", [totals_row()])
    aws_carbon.extract(MONTH, settings, org_config)
    write_parquet(sources, "v3.0.0", [scoped_row()])
    # WHEN
    [record] = aws_carbon.extract(MONTH, settings, org_config)
    # THEN both versions are in the partition
    assert (record.status, record.rows) == ("loaded", 2)
    assert set(landed.table("aws_carbon", "emissions")["model_version"].to_pylist()) == {
        "v2.0.0",
        "v3.0.0",
    }


def test_null_model_version_is_taken_from_the_folder(sources, settings, org_config, landed):
    write_parquet(sources, "v3.0.0", [scoped_row(model_version=None), scoped_row()])
    aws_carbon.extract(MONTH, settings, org_config)
    assert landed.table("aws_carbon", "emissions")["model_version"].to_pylist() == ["v3.0.0"] * 2
