"""Hostile input: names, tags, services and job names with quotes, SQL and `..`;
keys that try to leave the sources folder; config values that would inject SQL.

The baseline installation carries the hostile config and rows (harness.py:
HOSTILE_SYSTEMS and friends), so every test of the suite runs with them and
the baseline build proves they break nothing. These tests check they arrive
verbatim and go nowhere else.
"""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest
from harness import (
    HOSTILE_JOB,
    HOSTILE_METHODOLOGY,
    HOSTILE_SERVICE,
    HOSTILE_SYSTEMS,
    files_outside,
    landed,
    ledger_lines,
    parquet_digest,
    sha256,
)

from extractors.errors import SourceError
from helpers import ROOT


def test_hostile_names_reach_the_warehouse_verbatim_and_are_attributed(baseline):
    # GIVEN systems named with quotes, SQL, `..`, `{{ }}` and non-ASCII text,
    # matching a service and a Slurm job named likewise (the baseline build passed)
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        inventory = {
            row[0]: row[1:]
            for row in con.execute(
                "select system_id, system_name, owner from reporting.inventory"
            ).fetchall()
        }
        [(description,)] = con.execute(
            "select description from dim_ai_system where system_id = ?", ["robert.tables_-1"]
        ).fetchall()
        [(requests,)] = con.execute(
            "select sum(requests) from fct_inference_requests where system_id = ?",
            ["robert.tables_-1"],
        ).fetchall()
        [(gpu_hours,)] = con.execute(
            "select sum(gpu_hours) from fct_gpu_usage where system_id = 'select'"
        ).fetchall()
        [(jobs,)] = con.execute(
            "select count(*) from stg_slurm__jobs where job_name = ?", [HOSTILE_JOB]
        ).fetchall()
        [(factor_set,)] = con.execute("select grid_factor_set from int_settings_pivoted").fetchall()
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    # THEN every name is in reporting.inventory exactly as written
    for system in HOSTILE_SYSTEMS:
        assert inventory[system["id"]] == (system["name"], system["owner"])
    assert description == HOSTILE_SYSTEMS[0]["description"]
    # AND the rules matched the hostile service and job exactly (1,234 requests;
    # 2 GPUs for 2 hours), the setting is data, and no table was dropped
    assert requests == 1234
    assert gpu_hours == pytest.approx(4.0)
    assert jobs == 1
    assert factor_set == HOSTILE_METHODOLOGY["grid_factor_set"]
    assert {"fct_emissions", "grid_intensity", "fct_gpu_usage"} <= tables
    landed_services = pq.read_table(baseline.landing / "inference" / "requests")["service"]
    assert landed_services.to_pylist().count(HOSTILE_SERVICE) == 2


def test_hostile_input_writes_no_file_outside_landing_and_the_warehouse(baseline):
    # GIVEN the baseline run with `..` and `/` in names, tags and patterns
    root = baseline.root
    # THEN every file it wrote is under landing/ or warehouse/ (sources and
    # the config are the inputs), and nothing appeared where names pointed
    written = files_outside(root, [baseline.sources, baseline.config])
    assert all(
        path.is_relative_to(baseline.landing) or path.is_relative_to(baseline.warehouse.parent)
        for path in written
    ), [str(p) for p in written]
    assert not any(".." in part for path in written for part in path.relative_to(root).parts)
    assert not (root.parent / "etc").exists()


@pytest.mark.parametrize(
    "uri",
    [
        "s3://helio-billing/../../../../etc/passwd",
        "s3://helio-billing/cur2/../../outside.parquet",
        "s3://helio-billing//etc/passwd",
        "s3://../landing/x.parquet",
    ],
)
def test_a_manifest_key_that_tries_to_leave_the_sources_is_refused(workspace, uri):
    # GIVEN February's CUR manifest listing a key that climbs out
    manifest = next(workspace.sources.rglob("metadata/BILLING_PERIOD=2025-02/*Manifest.json"))
    document = json.loads(manifest.read_text())
    document["dataFiles"].append(uri)
    manifest.write_text(json.dumps(document))
    before, digest, lines = (
        landed(workspace.landing),
        parquet_digest(workspace.landing),
        ledger_lines(workspace.landing),
    )
    # WHEN it is extracted THEN it is refused naming the entry; nothing moved
    with pytest.raises(SourceError, match=r"not a plain s3://bucket/key URI"):
        workspace.extract("aws_cur", ("2025-02",))
    assert (landed(workspace.landing), parquet_digest(workspace.landing)) == (before, digest)
    assert ledger_lines(workspace.landing) == lines
    # (S3 itself: tests/extractors/cloud/test_s3_exports.py::test_keys_that_would_escape_the_bucket_folder_are_refused)


@pytest.mark.parametrize("month", ["../../etc", "2025-01/../../x", "2025-1", "2025-13"])
def test_a_month_that_is_not_a_month_never_becomes_a_path(workspace, month):
    # WHEN a month argument carries a path THEN the command refuses it (exit 2)
    result = subprocess.run(
        [sys.executable, "-m", "extractors", "aws_cur", "--month", month],
        cwd=ROOT,
        env={**workspace.env(), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "month must look like YYYY-MM" in result.stderr
    assert not list(workspace.landing.rglob("*etc*"))


def test_a_landing_path_that_would_inject_sql_fails_the_build_instead_of_emptying_it(
    baseline, tmp_path
):
    from transform.build import BuildError

    # GIVEN an installation whose landing folder has a quote in its path
    # (before the fix, dbt's glob read nothing and published an empty warehouse)
    workspace = baseline.copy(tmp_path / "o'brien's install")
    before = sha256(workspace.warehouse)
    # WHEN the warehouse is built
    with pytest.raises(
        BuildError, match=r"\(AI_CARBON_LANDING\) contains \"'\", which dbt would read as SQL"
    ):
        workspace.build("quoted")
    # THEN nothing was published
    assert sha256(workspace.warehouse) == before


def test_a_secret_pasted_into_the_config_is_refused_without_being_echoed(workspace, tmp_path):
    import yaml

    from extractors.errors import ConfigError
    from extractors.org_config import load_config

    # GIVEN a config with a credential pasted where none belongs
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["aws_cur"]["aws_secret_access_key"] = secret
    config["sources"]["mlflow"] = {"tracking_uri": f"https://admin:{secret}@mlflow.example"}
    path = tmp_path / "pasted.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    # WHEN it is loaded THEN both are refused, and the message never holds the secret
    with pytest.raises(ConfigError) as failure:
        load_config(path)
    assert "aws_secret_access_key" in str(failure.value)
    assert "tracking_uri" in str(failure.value)
    assert secret not in str(failure.value)
