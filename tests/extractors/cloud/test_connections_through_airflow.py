"""An Airflow connection, defined the way a deployment defines it, reaches the S3 read.

GIVEN a CUR month in a (moto) bucket behind an HTTP front on 127.0.0.1 that
accepts only requests signed with one access key and secret, a config naming
``sources.aws_cur.connection: aws_billing``, the connection in an
``AIRFLOW_CONN_AWS_BILLING`` environment variable (JSON form, the keys and the
endpoint), and other keys in boto3's default chain,
WHEN the nightly DAG runs under ``airflow dags test`` (the task code in
another process than this test),
THEN the month lands, every S3 request was signed with the connection's keys,
and the secret appears in no log, no XCom and no output.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cloud_fakes import CUR_SCHEMA, SignedS3, cur_row, parquet_bytes
from moto import mock_aws

from helpers import BIN, run

pytestmark = pytest.mark.e2e

KEY_ID = "AKIAFAKEAIRFLOWCONN1"
SECRET = "fake-airflow-conn-secret-3e2d1c"  # looked for in every log afterwards
# Everything but the config and the CUR extract is marked successful without running.
ONLY_CUR = r"^(?!load_org_config$|extract_aws_cur$).*"


def test_the_cur_extract_reads_s3_with_the_airflow_connections_keys(
    airflow_db, aws_env, http_server, tmp_path, config_doc, write_config
):
    with mock_aws():
        # GIVEN the month's export (two line items, $3.25 + $1.75) behind the signing check
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="billing")
        chunk = "cur2/cur-a/data/BILLING_PERIOD=2025-01/cur-a-00001.snappy.parquet"
        rows = [cur_row(1, 3.25), cur_row(2, 1.75)]
        s3.put_object(
            Bucket="billing",
            Key=chunk,
            Body=parquet_bytes(pa.Table.from_pylist(rows, schema=CUR_SCHEMA)),
        )
        s3.put_object(
            Bucket="billing",
            Key="cur2/cur-a/metadata/BILLING_PERIOD=2025-01/cur-a-Manifest.json",
            Body=json.dumps({"dataFiles": [f"s3://billing/{chunk}"]}).encode(),
        )
        front = SignedS3(s3, KEY_ID, SECRET)
        server = http_server(front)
        # AND a config naming the connection (no key, no endpoint in it)
        config_doc["sources"]["aws_cur"] = {
            "storage": "s3",
            "bucket": "billing",
            "prefix": "cur2",
            "exports": ["cur-a"],
            "max_attempts": 2,
            "connection": "aws_billing",
        }
        config = write_config(config_doc)
        connection = {
            "conn_type": "aws",
            "login": KEY_ID,
            "password": SECRET,
            "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
        }
        env = {
            "AI_CARBON_SOURCES": str(tmp_path / "sources"),
            "AI_CARBON_LANDING": str(tmp_path / "landing"),
            "AI_CARBON_WAREHOUSE": str(tmp_path / "warehouse" / "ai_carbon.duckdb"),
            "AI_CARBON_CONFIG": str(config),
            "AIRFLOW_CONN_AWS_BILLING": json.dumps(connection),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        # WHEN the nightly DAG runs the extract through Airflow
        result = run(
            [
                str(BIN / "airflow"),
                "dags",
                "test",
                "ai_carbon_nightly",
                "2025-02-01",
                "-c",
                json.dumps({"from_month": "2025-01", "to_month": "2025-01"}),
                "--mark-success-pattern",
                ONLY_CUR,
            ],
            env,
        )

    # THEN the month landed both rows ($3.25 + $1.75 = $5.00)
    part = tmp_path / "landing" / "aws_cur" / "line_items" / "month=2025-01" / "part-0.parquet"
    costs = pq.read_table(part).column("line_item_unblended_cost").to_pylist()
    assert len(costs) == 2
    assert sum(costs) == pytest.approx(5.0)
    # AND every request S3 accepted was signed with the connection's key (the default
    # chain's AKIAFAKEFAKEFAKEFAKE would have been refused)
    assert front.signed_by and set(front.signed_by) == {KEY_ID}
    # AND the secret is in no task log, no XCom, no metadata row and no output
    places = {"output": (result.stdout + result.stderr).encode()}
    for path in airflow_db.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes()
    with sqlite3.connect(airflow_db / "airflow.db") as db:
        places["xcom"] = repr(db.execute("select value from xcom").fetchall()).encode()
    # (``dags test`` writes the task logs to its output: the extract's line is there)
    assert "aws_cur line_items month=2025-01: 2 rows landed" in places["output"].decode()
    assert [place for place, data in places.items() if SECRET.encode() in data] == []


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
