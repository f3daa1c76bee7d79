"""Tests of the demo-organisation generator: reproducible bytes, real formats.

The generator feeds the demo, the end-to-end test and CI, so these tests pin
what the extractors rely on: the same bytes on every run, the layout of the
data contract, manifests that point at real chunks, and the awkward cases the
pipeline must handle (Tax and Credit rows, untagged spend, jobs crossing a
month end, two carbon model versions, unpublished months, idle nights, Azure
delivered as FOCUS cost files and an emissions export in tonnes).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.demo.generate import generate

CUR = Path("aws/helio-billing/cur2/helio-cur2")
CARBON = Path("aws/helio-billing/carbon/helio-carbon/data")
GCP = Path("gcp/helio-finops/billing")
GCP_BILLING = GCP / "gcp_billing_export_v1_01ABCD_234567_89EFGH"
SACCT_HEADER = (
    "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|"
    "ConsumedEnergyRaw|NodeList"
)

# The CUR columns the data contract promises to dbt, with their types.
CONTRACT_CUR_COLUMNS = {
    "bill_billing_period_start_date": pa.timestamp("ms"),
    "bill_payer_account_id": pa.string(),
    "identity_time_interval": pa.string(),
    "line_item_usage_start_date": pa.timestamp("ms"),
    "line_item_usage_end_date": pa.timestamp("ms"),
    "line_item_usage_account_id": pa.string(),
    "line_item_line_item_type": pa.string(),
    "line_item_product_code": pa.string(),
    "line_item_usage_type": pa.string(),
    "line_item_operation": pa.string(),
    "line_item_usage_amount": pa.float64(),
    "pricing_unit": pa.string(),
    "line_item_unblended_cost": pa.float64(),
    "line_item_currency_code": pa.string(),
    "line_item_resource_id": pa.string(),
    "product_instance_type": pa.string(),
    "product_region_code": pa.string(),
    "resource_tags": pa.map_(pa.string(), pa.string()),
}


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """GIVEN the full default demo (12 months of 2025) generated once."""
    out = tmp_path_factory.mktemp("demo") / "sources"
    generate(out)
    return out


def read_cur(demo: Path) -> pa.Table:
    files = sorted((demo / CUR / "data").rglob("*.snappy.parquet"))
    return pa.concat_tables(pq.read_table(path) for path in files)


def test_two_runs_give_byte_identical_trees(demo, tmp_path):
    # WHEN the demo is generated again into another folder
    again = tmp_path / "sources"
    generate(again)
    # THEN every file has the same bytes
    first, second = tree_digest(demo), tree_digest(again)
    assert first == second
    assert len(first) > 100


def test_rerun_replaces_the_generated_folders(tmp_path):
    # GIVEN a generated tree with a stale chunk left in it
    out = tmp_path / "sources"
    generate(out, months=2)
    before = tree_digest(out)
    stale = out / CUR / "data" / "BILLING_PERIOD=2025-01" / "helio-cur2-00009.snappy.parquet"
    stale.write_bytes(b"stale")
    # WHEN it is generated again
    generate(out, months=2)
    # THEN the stale file is gone and the tree is exactly as before
    assert tree_digest(out) == before


def test_a_different_seed_changes_the_data(tmp_path):
    generate(tmp_path / "a", months=1, seed=1)
    generate(tmp_path / "b", months=1, seed=2)
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "b")


def test_every_manifest_lists_existing_chunks_with_their_columns(demo):
    manifests = sorted((demo / CUR / "metadata").rglob("helio-cur2-Manifest.json"))
    assert len(manifests) == 12
    chunk_counts = set()
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        assert manifest["executionId"]
        period = manifest_path.parent.name
        assert period.startswith("BILLING_PERIOD=")
        chunk_counts.add(len(manifest["dataFiles"]))
        for uri in manifest["dataFiles"]:
            assert uri.startswith(f"s3://helio-billing/cur2/helio-cur2/data/{period}/")
            local = demo / "aws" / uri.removeprefix("s3://")
            assert local.is_file(), uri
            names = pq.read_schema(local).names
            assert [column["name"] for column in manifest["columns"]] == names
    # Some months arrive as two chunks, so readers must follow dataFiles.
    assert chunk_counts == {1, 2}


def test_cur_has_the_contract_columns_and_the_awkward_rows(demo):
    table = read_cur(demo)
    for name, kind in CONTRACT_CUR_COLUMNS.items():
        assert table.schema.field(name).type == kind, name
    for name in (
        "bill_bill_type",
        "line_item_line_item_description",
        "line_item_unblended_rate",
        "product_product_family",
        "product_servicecode",
        "product",
        "tags",
        "cost_category",
    ):
        assert name in table.schema.names
    assert table.schema.field("discount").type == pa.map_(pa.string(), pa.float64())

    rows = table.select(
        [
            "line_item_line_item_type",
            "resource_tags",
            "line_item_unblended_cost",
            "line_item_usage_amount",
            "product_instance_type",
            "line_item_usage_account_id",
        ]
    ).to_pylist()
    systems = {dict(row["resource_tags"]).get("user_ai-system") for row in rows}
    assert {"llm-chat-api", "helio-lm-pretrain", None} <= systems
    # An untagged GPU instance in the ML account: spend that must stay unattributed.
    assert any(
        row["product_instance_type"] == "g5.xlarge"
        and not row["resource_tags"]
        and row["line_item_usage_account_id"] == "222222222222"
        for row in rows
    )
    taxes = [row for row in rows if row["line_item_line_item_type"] == "Tax"]
    credits = [row for row in rows if row["line_item_line_item_type"] == "Credit"]
    assert len(taxes) == 24  # one per account per month
    assert credits and all(row["line_item_unblended_cost"] < 0 for row in credits)
    assert all(row["line_item_usage_amount"] == 0 for row in taxes + credits)


def test_cur_line_items_are_daily_within_their_period(demo):
    table = read_cur(demo).select(
        [
            "bill_billing_period_start_date",
            "line_item_usage_start_date",
            "line_item_usage_end_date",
            "line_item_line_item_type",
        ]
    )
    for row in table.to_pylist():
        assert row["line_item_usage_start_date"] >= row["bill_billing_period_start_date"]
        if row["line_item_line_item_type"] == "Usage":
            span = row["line_item_usage_end_date"] - row["line_item_usage_start_date"]
            assert span.days == 1 and span.seconds == 0


def test_sacct_files_parse(demo):
    files = sorted((demo / "slurm" / "hpc1").glob("sacct_2025-*.txt"))
    assert len(files) == 12
    for path in files:
        lines = path.read_text().splitlines()
        assert lines[0] == SACCT_HEADER
        width = len(lines[0].split("|"))
        assert len(lines) > 10
        for number, line in enumerate(lines[1:], start=2):
            assert not line.endswith("|"), f"{path.name}:{number}"
            assert len(line.split("|")) == width, f"{path.name}:{number}"


def sacct_rows(demo: Path, month: str) -> list[dict[str, str]]:
    lines = (demo / "slurm" / "hpc1" / f"sacct_{month}.txt").read_text().splitlines()
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"), strict=True)) for line in lines[1:]]


def test_a_job_crossing_a_month_end_is_in_both_months(demo):
    crossing = [
        (month, row)
        for month in (f"2025-{m:02d}" for m in range(1, 12))
        for row in sacct_rows(demo, month)
        if row["End"] != "Unknown" and row["End"][:7] > row["Start"][:7] == month
    ]
    assert crossing
    for month, row in crossing:
        following = f"2025-{int(month[5:]) + 1:02d}"
        assert row in sacct_rows(demo, following)


def test_sacct_covers_the_job_id_forms_and_states(demo):
    rows = [row for m in range(1, 13) for row in sacct_rows(demo, f"2025-{m:02d}")]
    ids = {row["JobID"] for row in rows}
    assert any("_" in job_id for job_id in ids)
    assert any("+" in job_id for job_id in ids)
    states = {row["State"] for row in rows}
    assert {"COMPLETED", "FAILED", "NODE_FAIL", "TIMEOUT", "RUNNING", "CANCELLED by 1234"} <= states
    running = [row for row in rows if row["State"] == "RUNNING"]
    assert all(row["End"] == "Unknown" for row in running)
    pretrain = [row for row in rows if row["JobName"].startswith("helio-lm-pretrain-")]
    assert any(int(row["ConsumedEnergyRaw"]) > 0 for row in pretrain)
    assert any(int(row["ConsumedEnergyRaw"]) == 0 for row in pretrain)
    assert any(row["Account"] == "teaching" and "gres/gpu=1" in row["AllocTRES"] for row in rows)


def test_carbon_export_versions_and_publication_lag(demo):
    def versions(month: str) -> set[str]:
        return {
            path.parent.parent.name.removeprefix("model_version=")
            for path in (demo / CARBON).glob(f"model_version=*/usage_period={month}/*.parquet")
        }

    assert versions("2025-01") == {"v2.0.0", "v3.0.0"}
    assert versions("2025-04") == {"v3.0.0"}
    assert versions("2025-10") == {"v3.0.0"}
    assert versions("2025-11") == set()
    assert versions("2025-12") == set()

    v3 = pq.read_table(next((demo / CARBON).glob("model_version=v3.0.0/usage_period=2025-01/*")))
    v2 = pq.read_table(next((demo / CARBON).glob("model_version=v2.0.0/usage_period=2025-01/*")))
    assert "total_scope_3_lbm_emissions_value" in v3.schema.names
    assert "total_scope_1_emissions_value" not in v2.schema.names
    assert set(v3.column("total_lbm_emissions_unit").to_pylist()) == {"MTCO2e"}
    assert None in v3.column("region_code").to_pylist()  # a global service
    ec2 = [
        row
        for row in v3.to_pylist()
        if (row["usage_account_id"], row["product_code"], row["region_code"])
        == ("222222222222", "AmazonEC2", "us-east-1")
    ]
    # Two p5.48xlarge running all month: a few tonnes.
    assert 2 < ec2[0]["total_lbm_emissions_value"] < 10
    assert (
        v2.column("total_lbm_emissions_value").to_pylist()
        != v3.column("total_lbm_emissions_value").to_pylist()
    )


def test_gcp_exports_are_json_lines_of_bigquery_rows(demo):
    rows = [
        json.loads(line)
        for line in (demo / GCP_BILLING / "invoice_month=202501.jsonl").read_text().splitlines()
    ]
    gpu = [row for row in rows if row["sku"]["description"].startswith("Nvidia Tesla A100")]
    assert gpu
    assert gpu[0]["labels"] == [{"key": "ai-system", "value": "support-bot-finetune"}]
    assert gpu[0]["usage"]["unit"] == "seconds"
    assert gpu[0]["usage_start_time"].endswith("+00:00")
    assert {row["cost_type"] for row in rows} == {"regular", "tax"}
    assert any(
        credit["type"] == "SUSTAINED_USAGE_DISCOUNT" for row in rows for credit in row["credits"]
    )
    assert any(row["project"]["id"] == "helio-web" for row in rows)

    footprint = sorted((demo / GCP / "carbon_footprint").glob("*.jsonl"))
    assert [path.name for path in footprint] == [
        f"usage_month=2025-{m:02d}.jsonl" for m in range(1, 12)
    ]
    carbon = json.loads(footprint[0].read_text().splitlines()[0])
    assert carbon["carbon_model_version"] == 12
    assert carbon["usage_month"] == "2025-01-01"
    assert carbon["carbon_footprint_total_kgCO2e"]["location_based"] > 0


def test_mlflow_pages_and_links_to_slurm_and_gcp(demo):
    job_ids = {row["JobID"] for m in range(1, 13) for row in sacct_rows(demo, f"2025-{m:02d}")}
    for month in range(1, 13):
        pages = json.loads((demo / "mlflow" / f"runs_2025-{month:02d}.json").read_text())
        assert all(page.get("next_page_token") for page in pages[:-1])
        assert "next_page_token" not in pages[-1]
        runs = [run for page in pages for run in page["runs"]]
        assert len(pages) == (2 if len(runs) > 5 else 1)
        for run in runs:
            tags = {tag["key"]: tag["value"] for tag in run["data"]["tags"]}
            if run["info"]["experiment_id"] == "1":
                assert tags["mlflow.experimentName"] == "helio-lm-pretrain"
                assert tags["slurm_job_id"] in job_ids
            else:
                assert tags["mlflow.experimentName"] == "support-bot-ft"
                assert tags["gcp_instance"].startswith("ft-a2-")
    statuses = {
        run["info"]["status"]
        for month in range(1, 13)
        for page in json.loads((demo / "mlflow" / f"runs_2025-{month:02d}.json").read_text())
        for run in page["runs"]
    }
    assert {"FINISHED", "FAILED", "KILLED"} <= statuses


def test_inference_is_idle_at_night(demo):
    lines = (demo / "inference" / "requests_2025-03.csv").read_text().splitlines()
    assert lines[0] == "timestamp,service,requests,tokens"
    chat = [line.split(",") for line in lines[1:] if ",llm-chat-api," in line]
    assert len(chat) == 31 * 24
    peak = max(int(fields[2]) for fields in chat)
    night = [int(fields[2]) for fields in chat if fields[0][11:13] in {"01", "02", "03"}]
    assert max(night) < 0.01 * peak
    search = [line.split(",") for line in lines[1:] if ",internal-search," in line]
    assert search and all(fields[3] == "" for fields in search)


def read_azure_focus(demo: Path, month: str) -> list[dict]:
    path = demo / "focus" / "azure" / f"BILLING_PERIOD={month}" / "part_0_0001.csv.gz"
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))


def test_azure_focus_export_per_billing_period(demo):
    folders = sorted((demo / "focus" / "azure").iterdir())
    assert [f.name for f in folders] == [f"BILLING_PERIOD=2025-{m:02d}" for m in range(1, 13)]
    assert sorted(p.name for p in folders[0].iterdir()) == ["manifest.json", "part_0_0001.csv.gz"]
    rows = read_azure_focus(demo, "2025-01")
    assert {row["ProviderName"] for row in rows} == {"Microsoft"}
    assert {row["SubAccountId"] for row in rows} == {
        "/subscriptions/4f7c2a10-9b3e-4d5a-8c61-2e0f1b7a9d35"
    }
    assert {row["BillingPeriodStart"] for row in rows} == {"2025-01-01T00:00:00Z"}
    served = [row for row in rows if "doc-embed-api" in row["Tags"]]
    vms = [row for row in served if row["ServiceName"] == "Virtual Machines"]
    # two A100 VMs around the clock: 2 x 31 days x 24 h = 1,488 h at $3.673 = $5,465.424
    assert sum(float(row["ConsumedQuantity"]) for row in vms) == pytest.approx(1488)
    assert sum(float(row["BilledCost"]) for row in vms) == pytest.approx(5465.424)
    assert {row["SkuMeter"] for row in vms} == {"NC24ads A100 v4"}
    # the experiments VM carries no ai-system tag: it must land in `unattributed`
    assert any(row["ResourceName"] == "exp-t4-1" and "ai-system" not in row["Tags"] for row in rows)


def test_azure_emissions_export_in_tonnes_with_the_last_month_unpublished(demo):
    [path] = (demo / "azure" / "emissions_export").iterdir()
    assert path.name == "EnrollmentEmission_20250101_20251101.csv"
    rows = list(csv.DictReader(path.open()))
    assert {row["dateKey"] for row in rows} == {f"2025{m:02d}01" for m in range(1, 12)}
    january = {
        (row["azureServiceName"], row["scope"]): float(row["totalEmissions"])
        for row in rows
        if row["dateKey"] == "20250101"
    }
    # storage: 2,048 GB-months x 0.003 kWh x PUE 1.17 x 0.30 kg/kWh = 2.156544 kg = 0.002157 t
    assert january[("Storage", "Scope 2")] == 0.002157
    # VMs: (A100 hours x 0.45 kW + T4 hours x 0.12 kW) x 1.17 x 0.30 / 1000 t
    focus = read_azure_focus(demo, "2025-01")
    t4_hours = sum(float(r["ConsumedQuantity"]) for r in focus if r["ResourceName"] == "exp-t4-1")
    expected = (1488 * 0.45 + t4_hours * 0.12) * 1.17 * 0.30 / 1000
    assert january[("Virtual Machines", "Scope 2")] == pytest.approx(expected, abs=5e-7)
    # Scope 3 is 0.42 of Scope 2 and Scope 1 0.004, per service
    assert january[("Virtual Machines", "Scope 3")] == pytest.approx(0.42 * expected, abs=5e-7)
    assert january[("Virtual Machines", "Scope 1")] == pytest.approx(0.004 * expected, abs=5e-7)


def test_rejects_a_bad_start_month(tmp_path):
    with pytest.raises(ValueError, match="YYYY-MM"):
        generate(tmp_path, start_month="2025/01")
