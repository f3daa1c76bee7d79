"""Fixtures of the cloud extractor tests, loaded with ``pytest_plugins``.

* ``aws_env``: fake, harmless AWS credentials in the environment, no profile
  files and no instance metadata (nothing may leave 127.0.0.1);
* ``http_server``: start a ``LocalServer`` (127.0.0.1, a thread) with a
  handler; every one started is stopped after the test;
* ``no_sleep``: the waits of ``extractors.cloud`` recorded instead of slept.
"""

from __future__ import annotations

import pytest
from cloud_fakes import FAKE_SECRET, FAKE_SESSION_TOKEN, Handler, LocalServer


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials from the environment; no profile files, no metadata service."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", FAKE_SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def http_server():
    started: list[LocalServer] = []

    def start(handler: Handler) -> LocalServer:
        server = LocalServer(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def no_sleep(monkeypatch):
    from extractors import cloud

    waits: list[float] = []
    monkeypatch.setattr(cloud, "sleep", waits.append)
    return waits
