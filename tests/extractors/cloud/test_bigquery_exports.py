"""GCP billing and carbon exports through the real BigQuery client against a local fake.

``google.cloud.bigquery.Client`` with anonymous credentials talks to
``FakeBigQuery`` on 127.0.0.1 (jobs.insert, jobs.get, getQueryResults with
pages); rows come back in the documented export schemas, nested records and
repeated fields in the REST encoding. The tests check what the client sent
(query text without values, named parameters, partition bounds) and what
landed.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import pytest
from cloud_fakes import LocalServer, Response
from fake_bigquery import FakeBigQuery, field
from google.cloud.bigquery import QueryJobConfig, ScalarQueryParameter, SchemaField, TableReference

from extractors import gcp_bigquery, gcp_billing, gcp_carbon
from extractors.errors import CredentialsError
from extractors.org_config import load_config

MONTH = "2025-01"
UTC = dt.UTC
ACCOUNT = "01ABCD-234567-89EFGH"
TABLE = "gcp_billing_export_v1_01ABCD_234567_89EFGH"
REL = f"gcp/finops/billing/{TABLE}/invoice_month=202501.jsonl"

KEY_VALUE = [field("key", "STRING"), field("value", "STRING")]
BILLING_SCHEMA = [
    field("billing_account_id", "STRING"),
    field("service", "RECORD", fields=[field("id", "STRING"), field("description", "STRING")]),
    field("sku", "RECORD", fields=[field("id", "STRING"), field("description", "STRING")]),
    field("usage_start_time", "TIMESTAMP"),
    field("usage_end_time", "TIMESTAMP"),
    field(
        "project",
        "RECORD",
        fields=[
            field("id", "STRING"),
            field("number", "STRING"),
            field("name", "STRING"),
            field("labels", "RECORD", "REPEATED", KEY_VALUE),
            field("ancestry_numbers", "STRING"),
        ],
    ),
    field("labels", "RECORD", "REPEATED", KEY_VALUE),
    field("system_labels", "RECORD", "REPEATED", KEY_VALUE),
    field(
        "location",
        "RECORD",
        fields=[field(n, "STRING") for n in ("location", "country", "region", "zone")],
    ),
    field(
        "tags",
        "RECORD",
        "REPEATED",
        [*KEY_VALUE, field("inherited", "BOOLEAN"), field("namespace", "STRING")],
    ),
    field("export_time", "TIMESTAMP"),
    field("cost", "FLOAT"),
    field("currency", "STRING"),
    field("currency_conversion_rate", "FLOAT"),
    field(
        "usage",
        "RECORD",
        fields=[
            field("amount", "FLOAT"),
            field("unit", "STRING"),
            field("amount_in_pricing_units", "FLOAT"),
            field("pricing_unit", "STRING"),
        ],
    ),
    field(
        "credits",
        "RECORD",
        "REPEATED",
        [
            field("name", "STRING"),
            field("amount", "FLOAT"),
            field("full_name", "STRING"),
            field("id", "STRING"),
            field("type", "STRING"),
        ],
    ),
    field(
        "invoice", "RECORD", fields=[field("month", "STRING"), field("publisher_type", "STRING")]
    ),
    field("cost_type", "STRING"),
    field("cost_at_list", "FLOAT"),
]
DETAILED_SCHEMA = [
    *BILLING_SCHEMA,
    field("resource", "RECORD", fields=[field("name", "STRING"), field("global_name", "STRING")]),
]
CARBON_SCHEMA = [
    field("usage_month", "DATE"),
    field("billing_account_id", "STRING"),
    field("project", "RECORD", fields=[field("number", "STRING"), field("id", "STRING")]),
    field("service", "RECORD", fields=[field("id", "STRING"), field("description", "STRING")]),
    field("location", "RECORD", fields=[field("location", "STRING"), field("region", "STRING")]),
    field(
        "carbon_footprint_kgCO2e",
        "RECORD",
        fields=[
            field("scope1", "FLOAT"),
            field(
                "scope2",
                "RECORD",
                fields=[field("location_based", "FLOAT"), field("market_based", "FLOAT")],
            ),
            field("scope3", "FLOAT"),
        ],
    ),
    field(
        "carbon_footprint_total_kgCO2e",
        "RECORD",
        fields=[field("location_based", "FLOAT"), field("market_based", "FLOAT")],
    ),
    field("carbon_model_version", "INTEGER"),
]


def billing_row(day: int, exported: dt.datetime, cost: float = 1.0, month: str = "202501", **over):
    start = dt.datetime(2025, 1, day, 10, tzinfo=UTC)
    row = {
        "billing_account_id": ACCOUNT,
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "A1B2-C3D4-E5F6", "description": "Nvidia Tesla A100 GPU running in Europe"},
        "usage_start_time": start,
        "usage_end_time": start + dt.timedelta(hours=1),
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
            "zone": None,
        },
        "tags": [],
        "export_time": exported,
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
        "invoice": {"month": month, "publisher_type": "GOOGLE"},
        "cost_type": "regular",
        "cost_at_list": cost * 1.1,
    }
    row.update(over)
    return row


class BillingTable:
    """The export table as BigQuery holds it; answers queries the way the SQL says."""

    def __init__(self, schema=BILLING_SCHEMA) -> None:
        self.schema = schema
        self.rows: list[dict] = []

    def answer(self, sql: str, params: dict):
        rows = [
            row
            for row in self.rows
            if row["invoice"]["month"] == params["invoice_month"]
            and row["export_time"] >= params["from_ts"]
        ]
        return self.schema, rows


@pytest.fixture
def bigquery(monkeypatch, http_server):
    """Start a FakeBigQuery for ``answer``; the extractors' client is pointed at it."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    def start(answer, page_rows: int = 2) -> tuple[FakeBigQuery, LocalServer]:
        fake = FakeBigQuery(answer, page_rows)
        server = http_server(fake)

        def make_client(project, location=None, credentials=None):
            return bq.Client(
                project=project,
                location=location,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": server.url},
            )

        monkeypatch.setattr(gcp_bigquery, "make_client", make_client)
        return fake, server

    return start


@pytest.fixture
def bq_config(config_doc, write_config):
    def load(**billing):
        config_doc["sources"]["gcp_billing"] = {
            "client": "bigquery",
            "project": "finops",
            "dataset": "billing",
            "billing_account_id": ACCOUNT,
            **billing,
        }
        config_doc["sources"]["gcp_carbon"] = {
            "client": "bigquery",
            "project": "finops",
            "dataset": "billing",
        }
        return load_config(write_config(config_doc, "bq.yml"))

    return load


def test_first_pull_sends_parameters_not_values_and_lands_every_page(
    bigquery, bq_config, settings, landed, sources
):
    # GIVEN the export table with three rows of January (one a late credit) and one of December
    table = BillingTable()
    table.rows = [
        billing_row(2, dt.datetime(2025, 1, 2, 6, tzinfo=UTC), 1.0),
        billing_row(10, dt.datetime(2025, 1, 10, 6, tzinfo=UTC), 2.0),
        billing_row(20, dt.datetime(2025, 1, 20, 6, tzinfo=UTC), -0.5, cost_type="adjustment"),
        billing_row(31, dt.datetime(2024, 12, 31, 6, tzinfo=UTC), 9.0, month="202412"),
    ]
    fake, server = bigquery(table.answer, page_rows=2)
    # WHEN January is extracted with the BigQuery client
    [record] = gcp_billing.extract(MONTH, settings, bq_config())
    # THEN one query, its values sent as typed parameters and absent from the text
    [query] = fake.queries
    sql = query["sql"]
    assert f"`finops.billing.{TABLE}`" in sql
    assert "@invoice_month" in sql and "@from_ts" in sql and "_PARTITIONTIME" in sql
    for value in ("202501", "2025-01", "2024-12-31", "'"):
        assert value not in sql
    sent = {
        p["name"]: (p["parameterType"]["type"], p["parameterValue"]["value"])
        for p in query["parameters"]
    }
    assert sent["invoice_month"] == ("STRING", "202501")
    assert sent["from_ts"][0] == "TIMESTAMP"
    assert query["params"]["from_ts"] == dt.datetime(2024, 12, 31, tzinfo=UTC)
    # AND the client ran it as a job and read the two pages of results
    calls = [(r.method, r.path.split("/")[5], "pageToken" in r.query) for r in server.requests]
    assert calls[0] == ("POST", "jobs", False)  # jobs.insert
    assert ("GET", "jobs", False) in calls  # jobs.get
    assert ("GET", "queries", True) in calls  # getQueryResults, second page
    # AND the three January rows land through the explicit schema, nested fields intact
    assert (record.status, record.rows) == ("loaded", 3)
    landed_table = landed.table("gcp_billing", "billing_export")
    assert sorted(landed_table["cost"].to_pylist()) == [-0.5, 1.0, 2.0]
    assert landed_table["credits"][0].as_py() == [
        {
            "name": "Committed use discount",
            "amount": -0.25,
            "full_name": None,
            "id": "cud",
            "type": "COMMITTED_USAGE_DISCOUNT",
        }
    ]
    assert landed_table["project"][0].as_py()["labels"] == [{"key": "team", "value": "support"}]
    assert landed_table["usage_start_time"][0].as_py().tzinfo is not None
    assert set(landed_table["_source_file"].to_pylist()) == {REL}
    assert (sources / REL).is_file()


def test_trailing_repull_replaces_the_window_and_deduplicates(
    bigquery, bq_config, settings, landed, ledger, caplog
):
    # GIVEN January landed from rows exported on the 2nd, 10th and 20th
    table = BillingTable()
    a, b, c = (
        billing_row(2, dt.datetime(2025, 1, 2, 6, tzinfo=UTC), 1.0),
        billing_row(10, dt.datetime(2025, 1, 10, 6, tzinfo=UTC), 2.0),
        billing_row(20, dt.datetime(2025, 1, 20, 6, tzinfo=UTC), 4.0),
    )
    table.rows = [a, b, c]
    fake, _ = bigquery(table.answer)
    config = bq_config(repull_days=3)
    gcp_billing.extract(MONTH, settings, config)
    # WHEN a late row arrives and BigQuery holds the row of the 20th twice (a re-exported batch)
    late = billing_row(19, dt.datetime(2025, 1, 21, 6, tzinfo=UTC), 8.0)
    table.rows += [dict(c), late]
    with caplog.at_level(logging.INFO, logger="extractors"):
        [record] = gcp_billing.extract(MONTH, settings, config)
    # THEN only the trailing window is queried: three days before the newest export held
    assert fake.queries[-1]["params"]["from_ts"] == dt.datetime(2025, 1, 17, 6, tzinfo=UTC)
    # AND rows held from before the window stay, the duplicate lands once, the late row lands
    assert (record.status, record.rows) == ("loaded", 4)
    assert sorted(landed.table("gcp_billing", "billing_export")["cost"].to_pylist()) == [
        1.0,
        2.0,
        4.0,
        8.0,
    ]
    assert "delivered twice" in caplog.text
    # AND a night with nothing new re-pulls the window and records "unchanged"
    [again] = gcp_billing.extract(MONTH, settings, config)
    assert (again.status, again.rows) == ("unchanged", 4)
    assert [r["status"] for r in ledger()] == ["loaded", "loaded", "unchanged"]


def test_detailed_table_keeps_rows_that_differ_only_by_resource(
    bigquery, bq_config, settings, landed, sources
):
    # GIVEN the detailed export: two VMs with otherwise identical rows
    table = BillingTable(DETAILED_SCHEMA)
    exported = dt.datetime(2025, 1, 5, tzinfo=UTC)
    table.rows = [
        billing_row(4, exported, resource={"name": "vm-1", "global_name": "//compute/vm-1"}),
        billing_row(4, exported, resource={"name": "vm-2", "global_name": "//compute/vm-2"}),
    ]
    fake, _ = bigquery(table.answer)
    # WHEN
    [record] = gcp_billing.extract(MONTH, settings, bq_config(table="detailed"))
    # THEN the detailed table is queried and both rows land (resource is part of the row's key)
    assert "gcp_billing_export_resource_v1_01ABCD_234567_89EFGH" in fake.queries[0]["sql"]
    assert record.rows == 2
    assert (
        sources
        / "gcp/finops/billing/gcp_billing_export_resource_v1_01ABCD_234567_89EFGH/invoice_month=202501.jsonl"
    ).is_file()


def carbon_rows(version: int, total: float) -> list[dict]:
    return [
        {
            "usage_month": "2025-01-01",
            "billing_account_id": ACCOUNT,
            "project": {"number": "123456789012", "id": project},
            "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
            "location": {"location": "europe-west4", "region": "europe-west4"},
            "carbon_footprint_kgCO2e": {
                "scope1": 0.0,
                "scope2": {"location_based": total * 0.8, "market_based": total * 0.1},
                "scope3": total * 0.2,
            },
            "carbon_footprint_total_kgCO2e": {"location_based": total, "market_based": total * 0.3},
            "carbon_model_version": version,
        }
        for project in ("support-ml", None)
    ]


def test_carbon_month_is_replaced_whole_with_its_model_version(
    bigquery, bq_config, settings, landed, ledger
):
    # GIVEN January's carbon footprint under model version 9
    held = {"rows": carbon_rows(9, 10.0)}
    fake, _ = bigquery(lambda sql, params: (CARBON_SCHEMA, held["rows"]))
    config = bq_config()
    [first] = gcp_carbon.extract(MONTH, settings, config)
    # THEN the query is bounded by the usage_month partition, the month a DATE parameter
    [query] = fake.queries
    assert "usage_month = @usage_month" in query["sql"] and "2025" not in query["sql"]
    assert query["params"] == {"usage_month": dt.date(2025, 1, 1)}
    assert first.rows == 2
    # WHEN the Data Transfer Service rewrites the month under model version 10
    held["rows"] = carbon_rows(10, 12.0)[:1]
    [second] = gcp_carbon.extract(MONTH, settings, config)
    # THEN the month is exactly the new delivery, its model version kept
    table = landed.table("gcp_carbon", "carbon_footprint")
    assert second.rows == 1
    assert table["carbon_model_version"].to_pylist() == [10]
    assert table["carbon_footprint_total_kgCO2e"][0].as_py() == {
        "location_based": 12.0,
        "market_based": pytest.approx(3.6),
    }


def test_empty_carbon_month_keeps_the_earlier_partition(
    bigquery, bq_config, settings, landed, ledger
):
    held = {"rows": carbon_rows(9, 10.0)}
    bigquery(lambda sql, params: (CARBON_SCHEMA, held["rows"]))
    config = bq_config()
    gcp_carbon.extract(MONTH, settings, config)
    before = landed.path("gcp_carbon", "carbon_footprint").read_bytes()
    # WHEN the table holds nothing for the month (being rewritten)
    held["rows"] = []
    [record] = gcp_carbon.extract(MONTH, settings, config)
    # THEN the held snapshot lands unchanged: the partition is as it was
    assert record.status == "unchanged"
    assert landed.path("gcp_carbon", "carbon_footprint").read_bytes() == before


def test_first_empty_month_is_not_delivered(bigquery, bq_config, settings, landing):
    bigquery(lambda sql, params: (BILLING_SCHEMA, []))
    assert gcp_billing.extract(MONTH, settings, bq_config()) == []
    assert not (landing / "gcp_billing").exists()


def test_refused_credentials_fail_clearly(bigquery, bq_config, settings, landing):
    fake, _ = bigquery(lambda sql, params: (BILLING_SCHEMA, []))
    fake.fail_with = Response(
        401,
        {
            "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
        },
    )
    # (a 401 makes the auth layer try to refresh the credentials, which fails)
    with pytest.raises(
        CredentialsError,
        match=r"Google credentials could not be used .* Application Default Credentials",
    ):
        gcp_billing.extract(MONTH, settings, bq_config())
    assert not landing.exists()


def test_the_fake_also_speaks_jobs_query_and_tabledata_list(bigquery):
    # The other two ways the client reads results (query_and_wait, list_rows on the
    # destination table) get the same rows, so the fake stays valid across versions.
    table = BillingTable()
    table.rows = [billing_row(d, dt.datetime(2025, 1, d, tzinfo=UTC), float(d)) for d in (3, 4, 5)]
    fake, server = bigquery(table.answer)
    client = gcp_bigquery.make_client("finops")
    config = QueryJobConfig(
        query_parameters=[
            ScalarQueryParameter("invoice_month", "STRING", "202501"),
            ScalarQueryParameter("from_ts", "TIMESTAMP", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ]
    )
    rows = list(client.query_and_wait("SELECT 1", job_config=config, page_size=2))
    assert [row["cost"] for row in rows] == [3.0, 4.0, 5.0]
    assert any(r.method == "POST" and r.path.endswith("/queries") for r in server.requests)
    [job] = fake.jobs.values()
    reference = TableReference.from_string(
        f"finops.{job['destination']['datasetId']}.{job['destination']['tableId']}"
    )
    schema = [SchemaField.from_api_repr(f) for f in BILLING_SCHEMA]
    rows = list(client.list_rows(reference, selected_fields=schema, page_size=2))
    assert [row["usage_start_time"].day for row in rows] == [3, 4, 5]
    assert any(r.path.endswith("/data") for r in server.requests)


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
