"""Each cloud source's freshness declaration, checked by the real ``dbt source freshness``.

GIVEN a landing folder where some sources were landed just now (or carry
recent timestamps of their own) and others stopped arriving: the AWS carbon
export refreshed 120 days ago, AWS's FOCUS export last delivered 10 days ago,
the GCP billing export's newest row exported 3 days ago,
WHEN ``dbt source freshness`` runs against a DuckDB file,
THEN ``sources.json`` says pass for the fresh ones, warn for GCP billing
(warn after 2 days, error after 4) and error for the AWS carbon export (error
after 100 days) and the FOCUS export (error after 4 days, judged by the load
ledger). A declaration that is removed, points at the wrong column or the
wrong ledger rows, or whose thresholds are loosened, changes a status here.

The data is dated from the clock (freshness compares with now), never 2025:
the demo's dates are always late, so ``make test`` never ran this before.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import replace

import pyarrow as pa
import pytest

from extractors.landing import LoadRecord, append_ledger, land_table, month_partition
from helpers import BIN, ROOT

PROJECT = ROOT / "dbt_project"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# The month before this one: its end (the first of this month) is at most 31 days ago.
LAST_MONTH = (NOW.replace(day=1) - dt.timedelta(days=1)).replace(day=1).date()
TS = pa.timestamp("us", tz="UTC")

EXPECTED = {
    # judged by the load ledger: landed just now
    "source.ai_carbon.aws_cur.line_items": "pass",
    "source.ai_carbon.focus.cost_line_items": "pass",
    # judged by the end of their newest month (pass up to 46 and 50 days)
    "source.ai_carbon.gcp_carbon.carbon_footprint": "pass",
    "source.ai_carbon.azure_carbon.emissions": "pass",
    "source.ai_carbon.azure_carbon.emissions_export": "pass",
    # export_time 3 days ago: warn after 2 days, error after 4
    "source.ai_carbon.gcp_billing.billing_export": "warn",
    # last_refresh_timestamp 120 days ago: error after 100 days
    "source.ai_carbon.aws_carbon.emissions": "error",
    # last delivery in the ledger 10 days ago: error after 4 days
    "source.ai_carbon.aws_focus.cost_line_items": "error",
}


def land(landing, source: str, dataset: str, month: dt.date, columns: dict) -> LoadRecord:
    """Land a one-row partition through the extractors' own landing (ledger: now)."""
    table = pa.table(
        {name: pa.array([value], type=type_) for name, (value, type_) in columns.items()}
    )
    return land_table(
        landing,
        source=source,
        dataset=dataset,
        partition=month_partition(f"{month:%Y-%m}"),
        inputs=["test"],
        table=table,
    )


@pytest.fixture(scope="module")
def freshness(tmp_path_factory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("freshness")
    landing = work / "landing"
    this_month = NOW.date().replace(day=1)
    # fresh: landed now (the ledger says so)
    land(
        landing,
        "aws_cur",
        "line_items",
        this_month,
        {"line_item_unblended_cost": (1.0, pa.float64())},
    )
    land(landing, "focus", "cost_line_items", this_month, {"BilledCost": (1.0, pa.float64())})
    # fresh by their own month
    for source, dataset in (
        ("gcp_carbon", "carbon_footprint"),
        ("azure_carbon", "emissions"),
        ("azure_carbon", "emissions_export"),
    ):
        land(landing, source, dataset, LAST_MONTH, {"usage_month": (LAST_MONTH, pa.date32())})
    # late by their own timestamps
    land(
        landing,
        "gcp_billing",
        "billing_export",
        this_month,
        {"export_time": (NOW - dt.timedelta(days=3), TS)},
    )
    land(
        landing,
        "aws_carbon",
        "emissions",
        LAST_MONTH,
        {"last_refresh_timestamp": (NOW - dt.timedelta(days=120), TS)},
    )
    # late by the ledger: FOCUS from AWS last delivered 10 days ago
    delivered = land(
        landing, "aws_focus", "cost_line_items", this_month, {"BilledCost": (1.0, pa.float64())}
    )
    ledger = landing / "_ledger" / "loads.jsonl"
    ledger.write_text(
        "".join(
            line + "\n"
            for line in ledger.read_text().splitlines()
            if json.loads(line)["source"] != "aws_focus"
        )
    )
    old = (NOW - dt.timedelta(days=10)).isoformat()
    append_ledger(landing, replace(delivered, loaded_at=old))
    output = work / "sources.json"
    result = subprocess.run(
        [
            str(BIN / "dbt"),
            "source",
            "freshness",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--select",
            *(f"source:{name.split('.')[2]}.{name.split('.')[3]}" for name in EXPECTED),
            "--output",
            str(output),
        ],
        cwd=PROJECT,
        env={
            **os.environ,
            "AI_CARBON_LANDING": str(landing),
            "AI_CARBON_WAREHOUSE": str(work / "ai_carbon.duckdb"),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # dbt exits 1 when a source errors, which two do on purpose
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    assert output.is_file(), result.stdout[-3000:]
    results = json.loads(output.read_text())["results"]
    return {r["unique_id"]: r for r in results}


def test_late_sources_warn_or_error_and_fresh_ones_pass(freshness):
    statuses = {unique_id: result["status"] for unique_id, result in freshness.items()}
    assert statuses == EXPECTED


def test_the_ages_are_those_landed(freshness):
    # max_loaded_at is what each declaration reads: the ledger's time, or the source's own
    def age_days(unique_id: str) -> float:
        return freshness[unique_id]["max_loaded_at_time_ago_in_s"] / 86400

    assert age_days("source.ai_carbon.aws_carbon.emissions") == pytest.approx(120, abs=0.1)
    assert age_days("source.ai_carbon.aws_focus.cost_line_items") == pytest.approx(10, abs=0.1)
    assert age_days("source.ai_carbon.gcp_billing.billing_export") == pytest.approx(3, abs=0.1)
    assert age_days("source.ai_carbon.aws_cur.line_items") < 0.1
    # usage month + 1 month = the first of this month
    first_of_month = NOW.replace(day=1, hour=0, minute=0, second=0)
    assert age_days("source.ai_carbon.gcp_carbon.carbon_footprint") == pytest.approx(
        (NOW - first_of_month).total_seconds() / 86400, abs=0.1
    )
