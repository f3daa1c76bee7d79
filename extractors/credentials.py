"""Credentials a cloud extractor is handed, and how an Airflow connection maps to them.

The organisation config may name a connection per cloud source
(``sources.aws_cur.connection: aws_billing``). The nightly DAG resolves that
id with Airflow's own API and passes the connection's plain fields to
``from_connection``, which returns one of the frozen values below; the
extractor then uses it instead of the provider's default chain. A source
without ``connection`` (and the command line, which has no Airflow) keeps
using the default chain: boto3's sessions, Google's Application Default
Credentials, ``token_env`` or ``DefaultAzureCredential``.

The mapping follows Airflow's provider connection types, without needing
those provider packages:

* ``aws``: login = access key id, password = secret access key; extra
  ``aws_session_token``, ``region_name``, ``role_arn``, ``endpoint_url``
  (no login and password: the default chain, with the extra's role and region);
* ``google_cloud_platform``: extra ``keyfile_dict`` (a service account's JSON
  key, as text or an object) and optionally ``project`` (where query jobs run,
  unless the config sets ``job_project``);
* ``azure``: login = client id, password = client secret; extra ``tenantId``
  (or ``tenant_id``) and optionally ``authority_host``.

No Airflow import. Must never put a secret into a message, a log line or a
``repr``: the secret fields are left out of ``repr``, and messages name the
connection id and the missing or unexpected field, never a value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from extractors.errors import ConfigError
from extractors.org_config import OrgConfig

# Which provider each cloud source reads, and the connection types accepted for it.
PROVIDER_OF_SOURCE: dict[str, str] = {
    "aws_cur": "aws",
    "aws_carbon": "aws",
    "aws_focus": "aws",
    "gcp_billing": "gcp",
    "gcp_carbon": "gcp",
    "azure_carbon": "azure",
}
CONNECTION_TYPES: dict[str, tuple[str, ...]] = {
    "aws": ("aws",),
    "gcp": ("google_cloud_platform", "gcpbigquery"),
    "azure": ("azure",),
}
AZURE_AUTHORITY = "https://login.microsoftonline.com"
_TENANT_PATTERN = re.compile(r"[A-Za-z0-9.-]{1,100}")


@dataclass(frozen=True)
class AwsCredentials:
    """An AWS identity: static keys (or None: the default chain), region, role, endpoint."""

    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    region_name: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None

    @property
    def has_keys(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key)


@dataclass(frozen=True)
class GcpCredentials:
    """A service account's key (the JSON key file's content) and optionally the
    project query jobs run in (the connection's ``project``; the config's
    ``job_project`` wins)."""

    service_account_info: dict[str, Any] = field(repr=False)
    project: str | None = None

    @property
    def client_email(self) -> str | None:
        return self.service_account_info.get("client_email")


@dataclass(frozen=True)
class AzureCredentials:
    """An Entra ID application (service principal): tenant, client id and secret."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_host: str = AZURE_AUTHORITY

    @property
    def token_url(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"


Credentials = AwsCredentials | GcpCredentials | AzureCredentials


def connection_id(config: OrgConfig, source: str) -> str | None:
    """The Airflow connection id the config names for ``source`` (None: the default chain)."""
    if source not in PROVIDER_OF_SOURCE:
        return None
    section = getattr(config.sources, source, None)
    return getattr(section, "connection", None) if section is not None else None


def _extra_value(extra: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` in ``extra``; the UI's old ``extra__<type>__<name>`` spelling too."""
    for name in names:
        for key in (name, *(k for k in extra if k.endswith(f"__{name}"))):
            value = extra.get(key)
            if value not in (None, ""):
                return value
    return None


def _text(value: Any, conn_id: str, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"connection {conn_id!r}: {what} must be text")
    return value.strip() or None


def from_connection(
    source: str,
    conn_id: str,
    *,
    conn_type: str | None,
    login: str | None = None,
    password: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Credentials:
    """The credentials ``source`` uses, from an Airflow connection's fields.

    ``ConfigError`` (naming the connection and the field, never a value)
    when the connection is of the wrong type or lacks what the provider needs.
    """
    provider = PROVIDER_OF_SOURCE.get(source)
    if provider is None:
        raise ConfigError(f"{source} reads no cloud API: it takes no connection")
    accepted = CONNECTION_TYPES[provider]
    if conn_type not in accepted:
        raise ConfigError(
            f"connection {conn_id!r} is of type {conn_type!r}; sources.{source}.connection "
            f"needs one of type {', '.join(accepted)}"
        )
    extra = extra or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"connection {conn_id!r}: extra must be a JSON object")
    if provider == "aws":
        return _aws(conn_id, login, password, extra)
    if provider == "gcp":
        return _gcp(conn_id, extra)
    return _azure(conn_id, login, password, extra)


def _aws(conn_id: str, login: Any, password: Any, extra: dict[str, Any]) -> AwsCredentials:
    key_id = _text(login, conn_id, "login (the access key id)")
    secret = _text(password, conn_id, "password (the secret access key)")
    if bool(key_id) != bool(secret):
        raise ConfigError(
            f"connection {conn_id!r}: give both login (access key id) and password (secret "
            "access key), or neither to use the default chain"
        )
    token = _text(_extra_value(extra, "aws_session_token"), conn_id, "extra aws_session_token")
    if token and not key_id:
        raise ConfigError(f"connection {conn_id!r}: aws_session_token needs login and password")
    return AwsCredentials(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
        region_name=_text(_extra_value(extra, "region_name"), conn_id, "extra region_name"),
        role_arn=_text(_extra_value(extra, "role_arn"), conn_id, "extra role_arn"),
        endpoint_url=_text(_extra_value(extra, "endpoint_url"), conn_id, "extra endpoint_url"),
    )


def _gcp(conn_id: str, extra: dict[str, Any]) -> GcpCredentials:
    keyfile = _extra_value(extra, "keyfile_dict")
    if keyfile is None:
        raise ConfigError(
            f"connection {conn_id!r}: extra keyfile_dict (a service account's JSON key) is "
            "missing; without it, leave connection out to use Application Default Credentials"
        )
    if isinstance(keyfile, str):
        try:
            keyfile = json.loads(keyfile)
        except ValueError:
            raise ConfigError(f"connection {conn_id!r}: extra keyfile_dict is not JSON") from None
    if not isinstance(keyfile, dict):
        raise ConfigError(f"connection {conn_id!r}: extra keyfile_dict must be a JSON object")
    required = ("type", "client_email", "private_key", "token_uri")
    missing = [name for name in required if not keyfile.get(name)]
    if missing or keyfile.get("type") != "service_account":
        problem = f"lacks {', '.join(missing)}" if missing else "is not of type service_account"
        raise ConfigError(f"connection {conn_id!r}: extra keyfile_dict {problem}")
    project = _text(_extra_value(extra, "project"), conn_id, "extra project")
    return GcpCredentials(dict(keyfile), project=project)


def _azure(conn_id: str, login: Any, password: Any, extra: dict[str, Any]) -> AzureCredentials:
    client_id = _text(login, conn_id, "login (the client id)")
    secret = _text(password, conn_id, "password (the client secret)")
    tenant = _text(_extra_value(extra, "tenantId", "tenant_id"), conn_id, "extra tenantId")
    missing = [
        name
        for name, value in (
            ("login (client id)", client_id),
            ("password (client secret)", secret),
            ("extra tenantId", tenant),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"connection {conn_id!r}: {', '.join(missing)} missing")
    if not _TENANT_PATTERN.fullmatch(tenant):
        raise ConfigError(f"connection {conn_id!r}: extra tenantId is not a tenant id or domain")
    authority = _text(_extra_value(extra, "authority_host"), conn_id, "extra authority_host")
    if authority and not re.fullmatch(r"https?://[^\s@/]+(:\d+)?/?", authority):
        raise ConfigError(f"connection {conn_id!r}: extra authority_host must be a bare URL")
    return AzureCredentials(tenant, client_id, secret, authority or AZURE_AUTHORITY)
