"""The nightly DAG on two months of the demo organisation, through Airflow.

GIVEN the demo generator's sources for 2025-01..2025-02,
WHEN the nightly DAG runs, then runs again on the same inputs, then runs once
more after a CUR chunk was corrupted,
THEN the first run publishes a warehouse in which nothing was lost (every
dollar of the CUR, GCP and Azure FOCUS bills and every Slurm GPU-hour is in
the facts, the untagged part in `unattributed`), Azure's own emissions are
allocated to its systems by cost, the second run changes no figure and no
landed byte, and the third fails at the extract naming the file while the
landing folder stays exactly as it was and the warehouse, rebuilt from it by
the rest of the pipeline, keeps every figure.
"""

import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from extractors.demo.generate import generate
from helpers import BIN, ROOT, run

pytestmark = pytest.mark.e2e

CONF = json.dumps({"from_month": "2025-01", "to_month": "2025-02"})


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def figures(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select system_id, emission_category, method, tier, "
            "round(sum(energy_kwh), 6), round(sum(kg_co2e), 6), round(sum(cost), 6) "
            "from fct_emissions group by all order by all"
        ).fetchall()


@pytest.fixture(scope="module")
def demo(airflow_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    generate(work / "sources", start_month="2025-01", months=2)
    env = {
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_LANDING": str(work / "landing"),
        "AI_CARBON_WAREHOUSE": str(work / "warehouse" / "ai_carbon.duckdb"),
        "AI_CARBON_CONFIG": str(ROOT / "config" / "org.example.yml"),
    }
    command = [str(BIN / "airflow"), "dags", "test", "ai_carbon_nightly"]
    run([*command, "2025-03-01", "-c", CONF], env)
    return work, env, command


def test_every_dollar_of_the_bills_reaches_the_facts(demo):
    work, _, _ = demo
    cur = pq.read_table(work / "landing" / "aws_cur" / "line_items").column(
        "line_item_unblended_cost"
    )
    gcp = pq.read_table(work / "landing" / "gcp_billing" / "billing_export").column("cost")
    azure = pq.read_table(work / "landing" / "focus" / "cost_line_items").column("BilledCost")
    with duckdb.connect(str(work / "warehouse" / "ai_carbon.duckdb"), read_only=True) as con:
        [(facts_cost,)] = con.execute(
            "select sum(cost) from fct_emissions "
            "where method = 'location' and source in ('aws_cur', 'gcp_billing', 'focus')"
        ).fetchall()
    billed = sum(cur.to_pylist()) + sum(gcp.to_pylist()) + sum(azure.to_pylist())
    assert facts_cost == pytest.approx(billed, rel=1e-9)


def test_untagged_spend_lands_in_unattributed_and_every_system_appears(demo):
    work, _, _ = demo
    with duckdb.connect(str(work / "warehouse" / "ai_carbon.duckdb"), read_only=True) as con:
        systems = {
            r[0] for r in con.execute("select system_id from reporting.inventory").fetchall()
        }
        [(unattributed_kg,)] = con.execute(
            "select sum(kg_co2e) from fct_emissions "
            "where system_id = 'unattributed' and method = 'location'"
        ).fetchall()
    assert {
        "llm-chat-api",
        "helio-lm-pretrain",
        "support-bot-finetune",
        "doc-embed-api",
        "unattributed",
    } <= systems
    assert unattributed_kg > 0


def test_azures_own_emissions_are_allocated_to_its_systems_by_cost(demo):
    work, _, _ = demo
    with duckdb.connect(str(work / "warehouse" / "ai_carbon.duckdb"), read_only=True) as con:
        allocated = dict(
            con.execute(
                "select system_id, sum(kg_co2e) from fct_emissions "
                "where source = 'focus' and method = 'location' and tier = 'provider_reported' "
                "and month = date '2025-01-01' group by system_id"
            ).fetchall()
        )
        [(status, provider_kg)] = con.execute(
            "select status, provider_location_kg from fct_cloud_carbon_reconciliation "
            "where provider = 'azure' and month = date '2025-01-01'"
        ).fetchall()
        [(february,)] = con.execute(
            "select distinct tier from fct_emissions "
            "where source = 'focus' and month = date '2025-02-01'"
        ).fetchall()
    # The export's January rows (mtCO2e), VMs + storage, scopes 1-3:
    # 0.000964 + 0.241053 + 0.101242 + 0.000009 + 0.002157 + 0.000906 = 0.346331 t = 346.331 kg
    assert status == "provider_reported"
    assert provider_kg == pytest.approx(346.331, abs=1e-9)
    # Shared by January's billed cost in the subscription x West Europe cell:
    # doc-embed-api  2 VMs x 744 h x $3.673 + 2,048 GB-months x $0.0184 = $5,503.1072
    #                (the generator rounds each day's storage row: $5,503.107197 billed)
    # unattributed   the untagged T4 VM, 143 h x $0.526 = $75.218
    # 346.331 x 5503.107197 / 5578.325197 = 341.661 kg; 346.331 x 75.218 / 5578.325197 = 4.670 kg
    assert allocated["doc-embed-api"] == pytest.approx(346.331 * 5503.107197 / 5578.325197)
    assert allocated["unattributed"] == pytest.approx(346.331 * 75.218 / 5578.325197)
    assert sum(allocated.values()) == pytest.approx(346.331)
    # February is not published yet (the dashboard's lag): estimated bottom-up
    assert february == "estimated"


def test_the_summary_prints_maturity_and_inference_intensity(demo):
    # WHEN the summary `make demo` ends with is printed for the demo's year
    _, env, _ = demo
    out = run([str(BIN / "python"), "-m", "transform.summary", "--year", "2025"], env).stdout
    # THEN it shows the organisation's maturity level and each system's
    assert "Maturity (reporting.maturity, levels 1-5)" in out
    [organisation] = [line for line in out.splitlines() if line.startswith("the organisation")]
    assert organisation.split()[2].startswith("L")
    # AND the chat API's intensity: all its kgCO2e of the two months (idle and embodied
    # included) x 1e6 / its requests, the same figure from the facts
    with duckdb.connect(env["AI_CARBON_WAREHOUSE"], read_only=True) as con:
        [(kg, requests)] = con.execute(
            "select (select sum(kg_co2e) from fct_emissions where system_id = 'llm-chat-api' "
            "        and method = 'location' and accounting_basis in ('activity', 'amortised') "
            "        and month in (select month from fct_inference_requests)), "
            "       (select sum(requests) from fct_inference_requests "
            "        where system_id = 'llm-chat-api')"
        ).fetchall()
    [chat] = [line for line in out.splitlines() if line.startswith("llm-chat-api ")][-1:]
    assert chat.split()[1] == str(requests)
    assert float(chat.split()[2]) == pytest.approx(kg * 1e6 / requests, abs=0.006)


def test_a_landing_on_s3_publishes_the_same_figures(demo):
    # GIVEN the same sources, the landing on S3 (moto, in the Airflow process)
    work, env, command = demo
    s3_work = work / "on-s3"
    keys_file = s3_work / "keys.json"
    s3_work.mkdir()
    s3_env = {
        **env,
        "AI_CARBON_LANDING": "s3://ai-carbon-landing/nightly",
        "AI_CARBON_WAREHOUSE": str(s3_work / "warehouse" / "ai_carbon.duckdb"),
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(s3_work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(s3_work / "no-aws-credentials"),
    }
    # WHEN the nightly DAG runs through Airflow on it
    wrapper = [sys.executable, str(ROOT / "tests" / "e2e" / "airflow_on_moto_s3.py")]
    run(
        [*wrapper, "ai-carbon-landing", str(keys_file), *command[1:], "2025-03-01", "-c", CONF],
        s3_env,
    )
    # THEN the landing is on S3 (pointers, attempts, one ledger object per load),
    # the build read its mirror, and the figures equal the local landing's
    keys = json.loads(keys_file.read_text())
    cur = "nightly/aws_cur/line_items"
    assert {f"{cur}/month=2025-01/_current.json", f"{cur}/month=2025-02/_current.json"} <= set(keys)
    assert any(key.startswith("nightly/_ledger/loads/") for key in keys)
    mirror = s3_work / "warehouse" / ".build" / "landing"
    assert (mirror / "aws_cur" / "line_items" / "month=2025-01" / "part-0.parquet").is_file()
    assert figures(s3_work / "warehouse" / "ai_carbon.duckdb") == figures(
        work / "warehouse" / "ai_carbon.duckdb"
    )


def test_a_second_run_on_the_same_inputs_changes_nothing(demo):
    work, env, command = demo
    before_figures = figures(work / "warehouse" / "ai_carbon.duckdb")
    before_landing = tree_digest(work / "landing")
    run([*command, "2025-03-01", "-c", CONF], env)
    assert figures(work / "warehouse" / "ai_carbon.duckdb") == before_figures
    assert tree_digest(work / "landing") == before_landing


def test_a_corrupt_chunk_fails_the_extract_and_changes_nothing(demo):
    work, env, command = demo
    warehouse = work / "warehouse" / "ai_carbon.duckdb"
    before_figures = figures(warehouse)
    before_landing = tree_digest(work / "landing")
    chunk = next((work / "sources" / "aws").rglob("BILLING_PERIOD=2025-02/*.parquet"))
    chunk.write_bytes(b"this is not parquet")
    with pytest.raises(AssertionError) as failure:
        run([*command, "2025-03-02", "-c", CONF], env)
    assert chunk.name in str(failure.value)
    assert figures(warehouse) == before_figures
    assert tree_digest(work / "landing") == before_landing
