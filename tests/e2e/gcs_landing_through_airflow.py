"""By hand, not in `make test`: the nightly DAG with the landing on GCS, through Airflow.

Starts gcp-storage-emulator in this process, runs ``airflow dags test
ai_carbon_nightly`` twice on two demo months with
``AI_CARBON_LANDING=gs://ai-carbon-landing/nightly`` (every task reaches the
emulator over HTTP through ``STORAGE_EMULATOR_HOST``), then once on a local
landing folder, and compares the published ``fct_emissions``. Prints the
times, the objects in the bucket after each GCS run, and whether the figures
are equal; exits 1 if they are not, or if the second run wrote anything but
ledger records. It takes about five minutes on two cores (three DAG runs),
which is why the suite runs the S3 variant only
(``test_demo_through_airflow.py``).

    python tests/e2e/gcs_landing_through_airflow.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BUCKET = "ai-carbon-landing"
CONF = json.dumps({"from_month": "2025-01", "to_month": "2025-02"})


def figures(warehouse: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select system_id, emission_category, method, tier, "
            "round(sum(energy_kwh), 6), round(sum(kg_co2e), 6), round(sum(cost), 6) "
            "from fct_emissions group by all order by all"
        ).fetchall()


def timed(arguments: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(arguments, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    from gcp_storage_emulator.server import create_server
    from google.cloud import storage

    from extractors.demo.generate import generate

    work = Path(tempfile.mkdtemp(prefix="ai-carbon-gcs-e2e-"))
    generate(work / "sources", start_month="2025-01", months=2)
    airflow = str(Path(sys.executable).parent / "airflow")
    base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_CONFIG": str(ROOT / "config" / "org.example.yml"),
        "AI_CARBON_DISCLOSURES": str(work / "disclosures"),
        "AI_CARBON_REPORTS": str(work / "reports"),
    }
    timed([airflow, "db", "migrate"], base)
    timed([airflow, "pools", "set", "warehouse_writer", "1", "single DuckDB writer"], base)
    timed([airflow, "dags", "reserialize"], base)
    command = [airflow, "dags", "test", "ai_carbon_nightly", "2025-03-01", "-c", CONF]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    on_gcs = {
        **base,
        "STORAGE_EMULATOR_HOST": os.environ["STORAGE_EMULATOR_HOST"],
        "AI_CARBON_LANDING": f"gs://{BUCKET}/nightly",
        "AI_CARBON_WAREHOUSE": str(work / "on-gcs" / "ai_carbon.duckdb"),
    }
    try:
        client = storage.Client(project="e2e")
        first = timed(command, on_gcs)
        after_first = {blob.name for blob in client.list_blobs(BUCKET)}
        second = timed(command, on_gcs)
        after_second = {blob.name for blob in client.list_blobs(BUCKET)}
    finally:
        server.stop()
    local = timed(
        command,
        {
            **base,
            "AI_CARBON_LANDING": str(work / "landing"),
            "AI_CARBON_WAREHOUSE": str(work / "local" / "ai_carbon.duckdb"),
        },
    )
    on_gcs_figures = figures(work / "on-gcs" / "ai_carbon.duckdb")
    local_figures = figures(work / "local" / "ai_carbon.duckdb")
    new = after_second - after_first
    print(f"DAG runs: on GCS {first:.1f} s, again {second:.1f} s; on a folder {local:.1f} s")
    print(
        f"objects after the first run: {len(after_first)} "
        f"({sum(k.endswith('/_current.json') for k in after_first)} pointers); "
        f"the second added {len(new)}, all ledger records: "
        f"{all('/_ledger/loads/' in k for k in new)}"
    )
    print(
        f"fct_emissions: {len(on_gcs_figures)} rows, "
        f"{sum(row[5] for row in on_gcs_figures):,.6f} kgCO2e on GCS, "
        f"{sum(row[5] for row in local_figures):,.6f} on a folder; "
        f"equal: {on_gcs_figures == local_figures}"
    )
    return 0 if on_gcs_figures == local_figures and all("/_ledger/" in k for k in new) else 1


if __name__ == "__main__":
    sys.exit(main())
