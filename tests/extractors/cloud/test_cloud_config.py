"""The organisation config's cloud keys: defaults, several payer accounts, and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from extractors.errors import ConfigError
from extractors.org_config import ExportLocation, load_config


def test_defaults_keep_todays_local_behaviour(org_config):
    cur = org_config.sources.aws_cur
    assert (cur.storage, cur.max_attempts, cur.role_arn, cur.endpoint_url) == (
        "local",
        5,
        None,
        None,
    )
    assert cur.locations == (
        ExportLocation("cur-a", "billing", "cur2"),
        ExportLocation("cur-b", "billing", "cur2"),
    )
    billing = org_config.sources.gcp_billing
    assert (billing.client, billing.table, billing.repull_days) == ("local", "standard", 3)
    assert org_config.sources.gcp_carbon.client == "local"
    assert org_config.sources.azure_carbon is None and org_config.sources.focus is None


def test_s3_exports_of_several_payer_accounts(config_doc, write_config):
    config_doc["sources"]["aws_cur"] = {
        "storage": "s3",
        "region": "eu-west-1",
        "profile": "billing-reader",
        "bucket": "billing",
        "prefix": "/cur2/",
        "exports": [
            "cur-a",
            {
                "name": "cur-b",
                "bucket": "payer-b",
                "role_arn": "arn:aws:iam::333333333333:role/carbon-reader",
                "region": "us-east-1",
            },
        ],
    }
    cur = load_config(write_config(config_doc)).sources.aws_cur
    assert cur.exports == ("cur-a", "cur-b")
    assert cur.locations == (
        ExportLocation("cur-a", "billing", "cur2", None, "eu-west-1"),
        ExportLocation(
            "cur-b", "payer-b", "cur2", "arn:aws:iam::333333333333:role/carbon-reader", "us-east-1"
        ),
    )
    assert (cur.storage, cur.profile) == ("s3", "billing-reader")


def test_cloud_sources_parse(config_doc, write_config):
    config_doc["sources"].update(
        gcp_billing={
            "client": "bigquery",
            "table": "detailed",
            "repull_days": 5,
            "project": "finops-prod",
            "dataset": "billing_export",
            "billing_account_id": "01ABCD-234567-89EFGH",
            "job_project": "finops-jobs",
            "location": "EU",
        },
        azure_carbon={
            "subscriptions": ["00000000-0000-0000-0000-0000000000AB"],
            "report_type": "MonthlySummaryReport",
            "scopes": ["Scope1", "Scope2"],
            "base_url": "http://127.0.0.1:8080/",
        },
        azure_emissions_export={},
        focus={"providers": ["azure", "oci"]},
        aws_focus={"bucket": "billing", "prefix": "focus", "exports": ["focus-1-2"]},
    )
    sources = load_config(write_config(config_doc)).sources
    assert (sources.gcp_billing.table, sources.gcp_billing.repull_days) == ("detailed", 5)
    assert sources.gcp_billing.job_project == "finops-jobs"
    azure = sources.azure_carbon
    assert azure.subscriptions == ("00000000-0000-0000-0000-0000000000ab",)
    assert (azure.report_type, azure.scopes, azure.base_url) == (
        "MonthlySummaryReport",
        ("Scope1", "Scope2"),
        "http://127.0.0.1:8080",
    )
    assert azure.token_env == "AZURE_CARBON_ACCESS_TOKEN"
    assert sources.focus.providers == ("azure", "oci")
    assert sources.aws_focus.locations[0].name == "focus-1-2"


def test_every_mistake_in_the_cloud_keys_is_named(config_doc, write_config):
    config_doc["sources"]["aws_cur"] = {
        "storage": "gcs",
        "region": "Frankfurt",
        "role_arn": "arn:aws:iam::12:role/x",
        "endpoint_url": "https://key:secret@s3.example.com",
        "max_attempts": 0,
        "aws_secret_access_key": "do-not-put-me-here",
        "prefix": "cur2",
        "exports": ["cur-a", {"name": "cur-b", "prefix": "x"}],
    }
    config_doc["sources"]["gcp_billing"] = {
        "client": "bigquery",
        "project": "fin`ops",
        "dataset": "billing; DROP",
        "billing_account_id": "01ABCD-234567-89EFGH",
        "repull_days": -1,
        "table": "resource",
    }
    config_doc["sources"]["azure_carbon"] = {"subscriptions": ["not-a-guid"], "scopes": ["Scope4"]}
    config_doc["sources"]["focus"] = {"providers": []}
    with pytest.raises(ConfigError) as error:
        load_config(write_config(config_doc))
    message = str(error.value)
    for expected in (
        "sources.aws_cur.aws_secret_access_key: unknown key",
        "sources.aws_cur.storage: expected one of local, s3, got 'gcs'",
        "sources.aws_cur.region: expected an AWS region like eu-west-1, got 'Frankfurt'",
        "sources.aws_cur.role_arn: expected an IAM role ARN",
        "sources.aws_cur.endpoint_url: expected an http(s) URL without credentials",
        "sources.aws_cur.max_attempts: expected a whole number between 1 and 20, got 0",
        "sources.aws_cur.exports[0]: no bucket",
        "sources.aws_cur.exports[1].bucket: required here",
        "sources.gcp_billing.project: expected a GCP project id, got 'fin`ops'",
        "sources.gcp_billing.dataset: expected a dataset name",
        "sources.gcp_billing.repull_days: expected a whole number between 0 and 60, got -1",
        "sources.gcp_billing.table: expected one of standard, detailed",
        "sources.azure_carbon.subscriptions[0]: expected a subscription id (a GUID)",
        "sources.azure_carbon.scopes[0]: expected one of Scope1, Scope2, Scope3, got 'Scope4'",
        "sources.focus.providers: expected at least one provider folder",
    ):
        assert expected in message
    assert "do-not-put-me-here" not in message and "key:secret" not in message


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
