"""GCP billing export: JSON lines into the explicit nested schema; line-level errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from extractors import gcp_billing
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
REL = "gcp/finops/billing/gcp_billing_export_v1_01ABCD_234567_89EFGH/invoice_month=202501.jsonl"


def billing_row(cost: float = 1.25, **overrides) -> dict:
    """One row as ``dict(row)`` of the BigQuery client, dumped with ISO timestamps."""
    row = {
        "billing_account_id": "01ABCD-234567-89EFGH",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "A1B2-C3D4-E5F6", "description": "Nvidia Tesla A100 GPU running in Europe"},
        "usage_start_time": "2025-01-03T10:00:00+00:00",
        "usage_end_time": "2025-01-03T11:00:00+00:00",
        "project": {
            "id": "support-ml",
            "number": "123456789012",
            "name": "Support ML",
            "labels": [{"key": "team", "value": "support"}],
            "ancestry_numbers": "/880011223344/",
        },
        "labels": [{"key": "ai-system", "value": "support-bot-finetune"}],
        "system_labels": [{"key": "compute.googleapis.com/machine_spec", "value": "a2-highgpu-1g"}],
        "location": {
            "location": "europe-west4",
            "country": "NL",
            "region": "europe-west4",
            "zone": "europe-west4-a",
        },
        "resource": {"name": "vm-1", "global_name": None},
        "cost": cost,
        "currency": "EUR",
        "currency_conversion_rate": 0.92,
        "usage": {
            "amount": 3600.0,
            "unit": "seconds",
            "amount_in_pricing_units": 1.0,
            "pricing_unit": "hour",
        },
        "credits": [
            {
                "name": "Committed use discount",
                "amount": -0.25,
                "full_name": None,
                "id": "cud",
                "type": "COMMITTED_USAGE_DISCOUNT",
            }
        ],
        "invoice": {"month": "202501"},
        "cost_type": "regular",
        "export_time": "2025-01-03T14:02:11.123456+00:00",
        "cost_at_list": 1.5,
    }
    row.update(overrides)
    return row


def write_export(sources: Path, rows: list, name: str = "invoice_month=202501.jsonl") -> Path:
    path = sources / Path(REL).parent / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rows_land_in_the_nested_schema(sources, settings, org_config, landed):
    # GIVEN three rows: GPU usage, a tax row without project, a timestamp in +01:00
    tax = billing_row(cost=0.3, cost_type="tax", project=None, labels=[], credits=[], usage=None)
    shifted = billing_row(usage_start_time="2025-01-31T23:30:00+01:00")
    write_export(sources, [billing_row(), tax, shifted])
    # WHEN the month is extracted
    [record] = gcp_billing.extract(MONTH, settings, org_config)
    # THEN the rows land with the contract's schema and values
    assert (record.status, record.rows) == ("loaded", 3)
    table = landed.table("gcp_billing", "billing_export")
    assert table.schema.remove(table.schema.get_field_index("_source_file")) == gcp_billing.SCHEMA
    first = table.slice(0, 1).to_pylist()[0]
    assert first["project"] == {
        "id": "support-ml",
        "number": "123456789012",
        "name": "Support ML",
        "labels": [{"key": "team", "value": "support"}],
    }
    assert first["credits"][0]["amount"] == -0.25
    assert first["usage"]["amount_in_pricing_units"] == 1.0
    assert first["_source_file"] == REL
    assert table["project"][1].as_py() is None
    assert table["cost"].to_pylist() == [1.25, 0.3, 1.25]
    # AND timestamps are UTC instants
    assert table["usage_start_time"][2].as_py() == dt.datetime(2025, 1, 31, 22, 30, tzinfo=dt.UTC)


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    write_export(sources, [billing_row(), billing_row(cost=2.0)])
    gcp_billing.extract(MONTH, settings, org_config)
    before = landed.path("gcp_billing", "billing_export").read_bytes()
    [record] = gcp_billing.extract(MONTH, settings, org_config)
    assert (record.status, record.rows) == ("unchanged", 2)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("gcp_billing", "billing_export").read_bytes() == before


def test_malformed_json_names_file_and_line(sources, settings, org_config, landing):
    # GIVEN a truncated second line
    write_export(sources, [billing_row(), '{"billing_account_id": "01ABCD-234567-89EFGH", "cost":'])
    # WHEN / THEN
    with pytest.raises(SourceError, match=rf"{REL}, line 2: malformed JSON"):
        gcp_billing.extract(MONTH, settings, org_config)
    assert not landing.exists()


def test_missing_required_field_names_line_and_field(sources, settings, org_config):
    # GIVEN a row whose SKU has no id
    write_export(sources, [billing_row(), billing_row(), billing_row(sku={"description": "GPU"})])
    # WHEN / THEN
    with pytest.raises(SourceError, match=rf"{REL}, line 3, field sku.id: required, but missing"):
        gcp_billing.extract(MONTH, settings, org_config)


def test_wrong_type_names_line_and_field(sources, settings, org_config):
    write_export(sources, [billing_row(cost="1.25")])
    with pytest.raises(SourceError, match=r"line 1, field cost: expected double, got \"1.25\""):
        gcp_billing.extract(MONTH, settings, org_config)


def test_row_of_another_invoice_month_is_refused(sources, settings, org_config):
    write_export(sources, [billing_row(invoice={"month": "202412"})])
    with pytest.raises(SourceError, match=r"line 1, field invoice\.month: expected 202501"):
        gcp_billing.extract(MONTH, settings, org_config)


def test_fields_outside_the_schema_are_dropped_and_logged(
    sources, settings, org_config, landed, caplog
):
    # GIVEN rows with fields the contract does not land (resource, project ancestry)
    write_export(sources, [billing_row(transaction_type="GOOGLE")])
    # WHEN
    with caplog.at_level(logging.INFO, logger="extractors.gcp_billing"):
        gcp_billing.extract(MONTH, settings, org_config)
    # THEN the row lands without them and the log names them
    table = landed.table("gcp_billing", "billing_export")
    assert "resource" not in table.column_names
    assert "project.ancestry_numbers" in caplog.text
    assert "transaction_type" in caplog.text


def test_month_not_delivered(sources, settings, org_config, landing, caplog):
    write_export(sources, [billing_row()], name="invoice_month=202412.jsonl")
    with caplog.at_level(logging.INFO, logger="extractors.gcp_billing"):
        assert gcp_billing.extract(MONTH, settings, org_config) == []
    assert not landing.exists()
    assert "not delivered" in caplog.text


def test_empty_lines_are_skipped_and_empty_file_lands_empty(sources, settings, org_config, landed):
    write_export(sources, [""])
    [record] = gcp_billing.extract(MONTH, settings, org_config)
    assert record.rows == 0
    assert landed.table("gcp_billing", "billing_export").schema.field("credits").type == pa.list_(
        gcp_billing.SCHEMA.field("credits").type.value_type
    )
