"""Credentials from an Airflow connection: the mapping, and each provider's client using it.

The DAG resolves ``sources.<name>.connection`` with Airflow and hands the
extractor the plain value ``extractors.credentials.from_connection`` makes;
these tests give that function the fields an Airflow connection has (the
run through Airflow itself is in ``test_connections_through_airflow.py``).
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from cloud_fakes import CUR_SCHEMA, Request, Response, SignedS3, cur_row, parquet_bytes
from moto import mock_aws

from extractors import aws_cur, azure_carbon, gcp_bigquery
from extractors.credentials import (
    AwsCredentials,
    AzureCredentials,
    GcpCredentials,
    connection_id,
    from_connection,
)
from extractors.errors import ConfigError, CredentialsError
from extractors.org_config import GcpBillingSource, load_config

MONTH = "2025-01"
KEY_ID = "AKIAFAKECONNECTION01"
SECRET = "connection-secret-5c4b3a2918"
CLIENT_SECRET = "azure-client-secret-77aa66bb"
TENANT = "11111111-2222-3333-4444-555555555555"


def rsa_private_key_pem() -> str:
    """A real (throwaway) RSA key: google-auth parses the key when it builds credentials."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_key(private_key: str = "fake-private-key") -> dict:
    return {
        "type": "service_account",
        "project_id": "helio-finops",
        "private_key_id": "0123abcd",
        "private_key": private_key,
        "client_email": "ai-carbon@helio-finops.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


# --- the mapping ----------------------------------------------------------------------


def test_an_aws_connection_maps_login_password_and_extra_like_the_aws_provider():
    # GIVEN an aws connection as Airflow's Amazon provider defines it
    extra = {
        "region_name": "eu-west-1",
        "role_arn": "arn:aws:iam::123456789012:role/billing-reader",
        "endpoint_url": "http://127.0.0.1:9000",
        "aws_session_token": "session-token-abc",
    }
    # WHEN it is mapped for the CUR source
    creds = from_connection(
        "aws_cur", "aws_billing", conn_type="aws", login=KEY_ID, password=SECRET, extra=extra
    )
    # THEN every field lands where boto3 wants it
    assert creds == AwsCredentials(
        KEY_ID,
        SECRET,
        "session-token-abc",
        "eu-west-1",
        "arn:aws:iam::123456789012:role/billing-reader",
        "http://127.0.0.1:9000",
    )
    assert creds.has_keys
    # AND a connection with only a role keeps the default chain for the keys
    role_only = from_connection(
        "aws_carbon", "aws_role", conn_type="aws", extra={"role_arn": extra["role_arn"]}
    )
    assert not role_only.has_keys
    assert role_only.role_arn == extra["role_arn"]


def test_a_gcp_connection_maps_keyfile_dict_given_as_text_or_in_the_old_prefixed_form():
    key = service_account_key()
    projects = []
    for extra in (
        {"keyfile_dict": json.dumps(key), "project": "helio-jobs"},
        {"extra__google_cloud_platform__keyfile_dict": json.dumps(key)},
    ):
        creds = from_connection(
            "gcp_billing", "gcp_billing", conn_type="google_cloud_platform", extra=extra
        )
        assert isinstance(creds, GcpCredentials)
        assert creds.service_account_info == key
        assert creds.client_email == key["client_email"]
        projects.append(creds.project)
    # the extra's project is where query jobs run; without it, the config decides
    assert projects == ["helio-jobs", None]
    billing = GcpBillingSource("helio-finops", "billing", "01ABCD-234567-89EFGH")
    with_project = GcpCredentials(key, project="helio-jobs")
    assert gcp_bigquery.job_project(billing, with_project) == "helio-jobs"
    assert gcp_bigquery.job_project(billing, GcpCredentials(key)) == "helio-finops"
    assert gcp_bigquery.job_project(billing, None) == "helio-finops"
    pinned = GcpBillingSource("helio-finops", "billing", "01ABCD-234567-89EFGH", job_project="ops")
    assert gcp_bigquery.job_project(pinned, with_project) == "ops"


def test_an_azure_connection_maps_a_service_principal():
    creds = from_connection(
        "azure_carbon",
        "azure_carbon",
        conn_type="azure",
        login="app-client-id",
        password=CLIENT_SECRET,
        extra={"tenantId": TENANT},
    )
    assert creds == AzureCredentials(TENANT, "app-client-id", CLIENT_SECRET)
    assert creds.token_url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


@pytest.mark.parametrize(
    ("source", "fields", "named"),
    [
        ("aws_cur", {"conn_type": "google_cloud_platform"}, "needs one of type aws"),
        ("aws_cur", {"conn_type": "aws", "login": KEY_ID}, "give both login"),
        ("aws_cur", {"conn_type": "aws", "password": SECRET}, "give both login"),
        ("gcp_carbon", {"conn_type": "google_cloud_platform"}, "keyfile_dict"),
        (
            "gcp_carbon",
            {
                "conn_type": "google_cloud_platform",
                "extra": {"keyfile_dict": {**service_account_key(SECRET), "client_email": ""}},
            },
            "lacks client_email",
        ),
        ("azure_carbon", {"conn_type": "azure", "password": SECRET}, "login (client id)"),
        ("slurm", {"conn_type": "aws"}, "takes no connection"),
    ],
)
def test_a_connection_that_cannot_serve_is_refused_naming_the_field_not_the_secret(
    source, fields, named
):
    with pytest.raises(ConfigError) as error:
        from_connection(source, "the_conn", **fields)
    assert named in str(error.value)
    assert SECRET not in str(error.value)


def test_secrets_never_appear_in_the_repr_of_the_credentials():
    values = [
        AwsCredentials(KEY_ID, SECRET, "session-secret-token", "eu-west-1"),
        GcpCredentials(service_account_key(SECRET)),
        AzureCredentials(TENANT, "app-client-id", CLIENT_SECRET),
    ]
    for value in values:
        for text in (repr(value), str(value)):
            for secret in (KEY_ID, SECRET, "session-secret-token", CLIENT_SECRET):
                assert secret not in text
    # the non-secret fields stay visible for whoever debugs the config
    assert "eu-west-1" in repr(values[0])
    assert TENANT in repr(values[2])


def test_the_config_names_a_connection_per_cloud_source(config_doc, write_config):
    # GIVEN a config naming a connection for CUR, GCP billing and Azure
    config_doc["sources"]["aws_cur"]["connection"] = "aws_billing"
    config_doc["sources"]["azure_carbon"] = {
        "subscriptions": ["00000000-0000-0000-0000-00000000000a"],
        "connection": "azure_carbon",
    }
    config = load_config(write_config(config_doc))
    # THEN each source reports its id, and the others have none
    assert connection_id(config, "aws_cur") == "aws_billing"
    assert connection_id(config, "azure_carbon") == "azure_carbon"
    assert connection_id(config, "aws_carbon") is None
    assert connection_id(config, "slurm") is None


def test_a_connection_id_that_is_not_an_id_is_refused(config_doc, write_config):
    config_doc["sources"]["aws_cur"]["connection"] = "aws://AKIA:secret@host"
    with pytest.raises(ConfigError) as error:
        load_config(write_config(config_doc))
    assert "sources.aws_cur.connection" in str(error.value)
    assert "an Airflow connection id" in str(error.value)


# --- each client with the connection's credentials -------------------------------------


@pytest.fixture
def signed_s3(aws_env, http_server):
    """A moto bucket ``billing`` behind an HTTP front accepting only the connection's keys."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="billing")
        front = SignedS3(s3, KEY_ID, SECRET)
        yield s3, front, http_server(front)


def deliver_cur(s3, rows: list[dict]) -> None:
    chunk = f"cur2/cur-a/data/BILLING_PERIOD={MONTH}/cur-a-00001.snappy.parquet"
    s3.put_object(
        Bucket="billing",
        Key=chunk,
        Body=parquet_bytes(pa.Table.from_pylist(rows, schema=CUR_SCHEMA)),
    )
    manifest = {"dataFiles": [f"s3://billing/{chunk}"]}
    s3.put_object(
        Bucket="billing",
        Key=f"cur2/cur-a/metadata/BILLING_PERIOD={MONTH}/cur-a-Manifest.json",
        Body=json.dumps(manifest).encode(),
    )


def test_the_cur_is_read_from_s3_with_the_connections_keys_not_the_default_chain(
    signed_s3, config_doc, write_config, settings, landed
):
    # GIVEN a CUR month in a bucket that accepts only the connection's keys, while the
    # environment (boto3's default chain) holds other keys
    s3, front, server = signed_s3
    deliver_cur(s3, [cur_row(1, 2.5), cur_row(2, 4.0)])
    config_doc["sources"]["aws_cur"] = {
        "storage": "s3",
        "bucket": "billing",
        "prefix": "cur2",
        "exports": ["cur-a"],
        "connection": "aws_billing",
    }
    config = load_config(write_config(config_doc))
    creds = from_connection(
        "aws_cur",
        "aws_billing",
        conn_type="aws",
        login=KEY_ID,
        password=SECRET,
        extra={"region_name": "us-east-1", "endpoint_url": server.url},
    )
    # WHEN the month is extracted with them
    [record] = aws_cur.extract(MONTH, settings, config, credentials=creds)
    # THEN it lands both rows ($2.50 + $4.00 = $6.50), every request signed with the connection
    table = landed.table("aws_cur", "line_items")
    assert record.rows == 2
    assert sum(table.column("line_item_unblended_cost").to_pylist()) == pytest.approx(6.5)
    assert front.signed_by and set(front.signed_by) == {KEY_ID}


def test_a_wrong_secret_in_the_connection_fails_clearly_without_showing_it(
    signed_s3, config_doc, write_config, settings, landing
):
    s3, _, server = signed_s3
    deliver_cur(s3, [cur_row(1)])
    config_doc["sources"]["aws_cur"] = {
        "storage": "s3",
        "bucket": "billing",
        "prefix": "cur2",
        "exports": ["cur-a"],
        "max_attempts": 1,
    }
    config = load_config(write_config(config_doc))
    wrong = AwsCredentials(KEY_ID, "not-the-secret-0000", None, "us-east-1", None, server.url)
    with pytest.raises(CredentialsError) as error:
        aws_cur.extract(MONTH, settings, config, credentials=wrong)
    assert "SignatureDoesNotMatch" in str(error.value)
    assert "not-the-secret-0000" not in str(error.value)
    assert not (landing / "aws_cur").exists()


def test_bigquery_client_signs_in_as_the_connections_service_account():
    # GIVEN the service account key of a google_cloud_platform connection
    creds = from_connection(
        "gcp_billing",
        "gcp_billing",
        conn_type="google_cloud_platform",
        extra={"keyfile_dict": json.dumps(service_account_key(rsa_private_key_pem()))},
    )
    # WHEN the BigQuery client is made with it (no request is sent)
    client = gcp_bigquery.make_client("helio-finops", "EU", creds)
    # THEN it holds service-account credentials for that account, scoped to BigQuery
    assert client.project == "helio-finops"
    assert client._credentials.service_account_email == creds.client_email
    assert gcp_bigquery.BIGQUERY_SCOPE in client._credentials.scopes


def test_a_key_that_is_not_a_key_fails_clearly_without_showing_it():
    creds = GcpCredentials(service_account_key("fake-not-a-key"))
    with pytest.raises(CredentialsError) as error:
        gcp_bigquery.make_client("helio-finops", None, creds)
    assert "fake-not-a-key" not in str(error.value)


class EntraAndCarbon:
    """Entra ID's token endpoint and the Carbon API's date-range call, on one server."""

    def __init__(self) -> None:
        self.token_forms: list[dict[str, list[str]]] = []
        self.bearers: list[str] = []

    def __call__(self, request: Request) -> Response:
        if request.path == f"/{TENANT}/oauth2/v2.0/token":
            form = urllib.parse.parse_qs(request.body.decode())
            self.token_forms.append(form)
            if form.get("client_secret") != [CLIENT_SECRET]:
                return Response(401, {"error": "invalid_client", "error_description": str(form)})
            return Response(200, {"token_type": "Bearer", "access_token": "issued-token-42"})
        self.bearers.append(request.headers.get("authorization", ""))
        return Response(200, {"startDate": "2024-02-01", "endDate": "2025-01-01"})


def test_azure_gets_a_token_for_the_service_principal_and_uses_it(http_server, monkeypatch):
    # GIVEN a token variable in the environment, and a connection's service principal
    monkeypatch.setenv("AZURE_CARBON_ACCESS_TOKEN", "token-from-the-environment")
    fake = EntraAndCarbon()
    server = http_server(fake)
    section = azure_carbon.AzureCarbonSource(
        ("00000000-0000-0000-0000-00000000000a",), base_url=server.url
    )
    creds = AzureCredentials(TENANT, "app-client-id", CLIENT_SECRET, server.url)
    # WHEN the API is called with the connection
    api = azure_carbon.CarbonApi(section, creds)
    assert api.available_months() == ("2024-02", "2025-01")
    # THEN one client-credentials grant was asked for the management scope
    [form] = fake.token_forms
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == ["app-client-id"]
    assert form["scope"] == [azure_carbon.TOKEN_SCOPE]
    # AND the API got the issued token, not the environment's
    assert fake.bearers == ["Bearer issued-token-42"]


def test_a_refused_service_principal_fails_clearly_without_the_secret(http_server):
    fake = EntraAndCarbon()
    server = http_server(fake)
    creds = AzureCredentials(TENANT, "app-client-id", "wrong-secret-1234", server.url)
    with pytest.raises(CredentialsError) as error:
        azure_carbon.client_credentials_token(creds)
    # the endpoint echoes the form; the message quotes only its error code
    assert "invalid_client" in str(error.value)
    assert "wrong-secret-1234" not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


# tests/extractors holds the shared fixtures; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["extractor_fixtures", "cloud_fixtures"]
