"""Security: no credential in the repository, least privilege as files, analysts read-only,
and an Airflow connection's secret kept out of what the DAG resolves, logs and raises.

(Fake secrets planted in every credential channel of a whole Airflow run,
Airflow connections named in the config included, and every log and artifact
scanned for them: test_through_airflow.py; an S3 read signed with a
connection's keys, scanned the same way:
tests/extractors/cloud/test_connections_through_airflow.py.)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import re
import secrets
import subprocess

import duckdb
import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from harness import parquet_digest, sha256

from extractors.org_config import load_config
from helpers import ROOT
from transform.sql import connect

IAM = ROOT / "deploy" / "iam"

# What a credential looks like, and where a look-alike is a deliberate fake.
ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
ASSIGNED_SECRET = re.compile(
    r"(?i)(secret|password|passwd|token|api[_-]?key|access[_-]?key)[a-z_]*[\"']?\s*[:=]\s*"
    r"[\"']?(?P<value>[A-Za-z0-9/+_.=-]{12,})"
)
FAKE = re.compile(r"(?i)fake|example")
CONFIG_LIKE = re.compile(
    r"(^config/|^docs/|^deploy/|\.ya?ml$|\.md$|^Dockerfile$|^Makefile$|\.cfg$|\.ini$|\.env)"
)
WRITE_VERBS = re.compile(
    r"(?i):(put|delete|create|update|attach|detach|modify|replicate|restore|tag|untag|write|pass)"
)


SKIPPED_FOLDERS = {
    ".git",
    ".venv",
    "landing",
    "warehouse",
    ".demo",
    ".airflow",
    ".ci-work",
    "target",
    "logs",
    "dbt_packages",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
}


def repository_files() -> list[str]:
    """The repository's files (tracked or new, not ignored); a walk outside a git clone."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        names = listed.stdout.splitlines()
    else:
        names = [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*")
            if not SKIPPED_FOLDERS & set(path.relative_to(ROOT).parts)
        ]
    return [name for name in names if (ROOT / name).is_file()]


def test_no_credential_in_the_repository_or_its_config_examples():
    # GIVEN every file of the repository (tracked or new, not ignored)
    found = []
    for name in repository_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for pattern in (ACCESS_KEY_ID, PRIVATE_KEY):
            found += [
                f"{name}: {m.group()}"
                for m in pattern.finditer(text)
                if not FAKE.search(text[m.start() - 40 : m.end() + 40])
            ]
        if CONFIG_LIKE.search(name):
            for m in ASSIGNED_SECRET.finditer(text):
                value = m.group("value")
                if (
                    re.search(r"\d", value)
                    and re.search(r"[A-Za-z]", value)
                    and not FAKE.search(value)
                ):
                    found.append(f"{name}: {m.group()}")
    # THEN none holds an access key, a private key, or a secret in a config-like file
    assert found == []


def nightly_dag_module():
    spec = importlib.util.spec_from_file_location(
        "ai_carbon_nightly", ROOT / "dags" / "ai_carbon_nightly.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_connection_secret_stays_out_of_what_the_dag_resolves_logs_and_raises(
    monkeypatch, caplog
):
    # GIVEN connections in the environment, as a deployment defines them, each
    # carrying a fresh planted secret: a good aws one, an aws one given to a GCP
    # source (wrong type), and a config naming them and a missing one
    aws_secret, gcp_secret = (f"planted-{secrets.token_hex(12)}" for _ in range(2))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEC_AWS",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "AKIAFAKEPLANTED00000",
                "password": aws_secret,
                "extra": {"region_name": "eu-west-1", "aws_session_token": aws_secret + "-t"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEC_WRONG_TYPE",
        json.dumps({"conn_type": "aws", "login": "fake-id", "password": gcp_secret}),
    )
    dag = nightly_dag_module()
    config = load_config(ROOT / "config" / "org.example.yml")

    def naming(**connections):
        sections = {
            name: dataclasses.replace(getattr(config.sources, name), connection=conn_id)
            for name, conn_id in connections.items()
        }
        return dataclasses.replace(config, sources=dataclasses.replace(config.sources, **sections))

    caplog.set_level(logging.DEBUG)
    # WHEN the DAG's extract task resolves them
    credentials = dag.source_credentials("aws_cur", naming(aws_cur="sec_aws"))
    failures = []
    for source, conn_id in (("gcp_billing", "sec_wrong_type"), ("aws_carbon", "sec_missing")):
        with pytest.raises(AirflowFailException) as failure:
            dag.source_credentials(source, naming(**{source: conn_id}))
        failures.append(failure.value)
    # THEN the extractor gets the keys, while the value's repr, the refusals
    # (naming the connection and what is wrong) and every log record hold no secret
    assert credentials.secret_access_key == aws_secret
    assert "needs one of type google_cloud_platform" in str(failures[0])
    assert "'sec_missing' could not be read" in str(failures[1])
    shown = [repr(credentials), str(credentials), *map(str, failures), caplog.text]
    shown += [repr(f.__cause__) for f in failures]
    assert not [text for text in shown if aws_secret in text or gcp_secret in text]


def test_the_aws_policies_grant_reads_of_the_export_prefixes_only():
    # GIVEN the policies in deploy/iam and the example config's exports
    config = yaml.safe_load((ROOT / "config" / "org.example.yml").read_text())
    exports = {
        (section["bucket"], f"{section['prefix']}/{name}")
        for key in ("aws_cur", "aws_carbon")
        for section in [config["sources"][key]]
        for name in section["exports"]
    }
    read = json.loads((IAM / "aws-s3-exports-read-policy.json").read_text())
    assume = json.loads((IAM / "aws-assume-export-reader-policy.json").read_text())
    statements = read["Statement"] + assume["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # THEN they allow only listing, reading and assuming the reader role
    assert {s["Effect"] for s in statements} == {"Allow"}
    assert not any("NotAction" in s or "NotResource" in s for s in statements)
    assert actions == {"s3:ListBucket", "s3:GetObject", "sts:AssumeRole"}
    assert not any("*" in action or WRITE_VERBS.search(action) for action in actions)
    # AND on the configured export prefixes only: no bucket-wide or any-resource grant
    resources = [
        r
        for s in statements
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert "*" not in resources and not any(
        r.endswith(":::*") or (r.count("/") == 0 and r.endswith("*")) for r in resources
    )
    objects = {r for s in read["Statement"] if s["Action"] == "s3:GetObject" for r in s["Resource"]}
    assert objects == {f"arn:aws:s3:::{bucket}/{prefix}/*" for bucket, prefix in exports}
    [listing] = [s for s in read["Statement"] if s["Action"] == "s3:ListBucket"]
    assert set(listing["Condition"]["StringLike"]["s3:prefix"]) == {f"{p}/*" for _, p in exports}
    assert all(
        r.startswith("arn:aws:iam::") and ":role/" in r for r in assume["Statement"][0]["Resource"]
    )


def test_the_landing_policy_writes_the_landing_prefix_only():
    # GIVEN the policy of a landing on S3 (AI_CARBON_LANDING=s3://helio-landing/ai-carbon)
    policy = json.loads((IAM / "aws-s3-landing-policy.json").read_text())
    [listing, objects] = policy["Statement"]
    # THEN it lists the landing prefix only, and reads, writes and deletes its
    # objects only (attempts, pointers, ledger records): no other bucket or prefix
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == "arn:aws:s3:::helio-landing"
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["ai-carbon/*"]
    assert sorted(objects["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == "arn:aws:s3:::helio-landing/ai-carbon/*"
    assert {s["Effect"] for s in policy["Statement"]} == {"Allow"}


def test_the_gcs_landing_role_writes_the_landing_prefix_only():
    # GIVEN the custom role and its binding's condition for a landing on GCS
    # (AI_CARBON_LANDING=gs://helio-landing/ai-carbon)
    role = yaml.safe_load((IAM / "gcp-gcs-landing-role.yaml").read_text())
    condition = yaml.safe_load((IAM / "gcp-gcs-landing-condition.yaml").read_text())
    # THEN the role lists, reads, creates and deletes objects, nothing else
    # (no bucket, ACL, IAM or update permission)
    assert sorted(role["includedPermissions"]) == [
        "storage.objects.create",
        "storage.objects.delete",
        "storage.objects.get",
        "storage.objects.list",
    ]
    # AND the condition holds it to the landing prefix: objects under it, and
    # listings of it; no other bucket or prefix is named
    terms = [term.strip() for term in condition["expression"].split("||")]
    assert terms == [
        'resource.name.startsWith("projects/_/buckets/helio-landing/objects/ai-carbon/")',
        'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("ai-carbon/")',
    ]


def test_the_gcp_and_azure_grants_are_the_reader_roles_only():
    gcp = (IAM / "gcp-bigquery-roles.md").read_text()
    azure = (IAM / "azure-carbon-optimization-reader.md").read_text()
    granted_gcp = set(re.findall(r"(?:GRANT `|--role=)(roles/[a-zA-Z.]+)", gcp))
    assert granted_gcp == {"roles/bigquery.dataViewer", "roles/bigquery.jobUser"}
    assert "ON SCHEMA" in gcp  # dataset level, not project level
    granted_azure = set(re.findall(r'--role "([^"]+)"', azure))
    assert granted_azure == {"Carbon Optimization Reader"}
    assert re.search(r'--scope "/subscriptions/\$\{SUBSCRIPTION\}"', azure)


def test_analysts_cannot_change_the_warehouse_or_what_the_next_build_reads(workspace):
    # GIVEN an analyst's session (python -m transform.sql / make sql)
    before, digest = sha256(workspace.warehouse), parquet_digest(workspace.landing)
    target = workspace.landing / "aws_cur" / "line_items" / "month=2025-03" / "part-0.parquet"
    attempts = [
        "create table evil as select 1",
        "delete from fct_emissions",
        "update dim_ai_system set system_id = 'x'",
        "drop view reporting.annual_disclosure",
        f"copy (select * from fct_emissions) to '{target}'",
        f"attach '{workspace.root / 'other.duckdb'}' as other",
        f"attach '{workspace.warehouse}' as again (read_only false)",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "install httpfs",
        f"select * from read_text('{workspace.config}')",
    ]
    # WHEN they try to write, copy into landing, attach, or unlock settings
    refused = []
    con = connect(workspace.warehouse)
    for statement in attempts:
        try:
            con.execute(statement)
        except duckdb.Error as error:
            refused.append((statement, type(error).__name__))
    con.close()
    # THEN every attempt is refused, and nothing changed on disk
    assert [statement for statement, _ in refused] == attempts
    assert sha256(workspace.warehouse) == before
    assert parquet_digest(workspace.landing) == digest
    assert not target.exists() and not (workspace.root / "other.duckdb").exists()
    # AND the marts and reporting views still answer
    con = connect(workspace.warehouse)
    assert con.execute("select count(*) from reporting.annual_disclosure").fetchone()[0] > 0
    assert con.execute("select count(*) from fct_emissions").fetchone()[0] > 0
    con.close()
