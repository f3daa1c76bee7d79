"""Run the Airflow CLI with S3 played by moto (``mock_aws``) inside this process.

``airflow dags test`` runs every task in its own process, so one ``mock_aws``
around the command serves every task (and the build's sync) from the same
in-memory S3. moto's state ends with the process: the bucket's keys are
written to a JSON file for the test to check.

Usage: python airflow_on_moto_s3.py <bucket> <keys.json> <airflow arguments...>
"""

import json
import sys
from pathlib import Path

import boto3
from moto import mock_aws


def main() -> None:
    bucket, keys_file, *arguments = sys.argv[1:]
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        from airflow.__main__ import main as airflow

        sys.argv = ["airflow", *arguments]
        try:
            airflow()
        finally:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            Path(keys_file).write_text(json.dumps(sorted(keys)))


if __name__ == "__main__":
    main()
