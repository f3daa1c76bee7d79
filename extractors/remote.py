"""Reading live sources: JSON over HTTP with bounded retries, and their one new error.

The HTTP extractors (Prometheus, OpenCost, MLflow) share this client so that
every one of them retries the same way: a connection error, a timeout or a
5xx / 429 answer is retried with exponential backoff a bounded number of
times, then raises ``SourceUnavailable``; any other 4xx answer, or a body that
is not the JSON promised, is the request's own fault and raises
``SourceError`` at once.

``SourceUnavailable`` is deliberately not a ``SourceError``: the DAG fails a
task fast on bad input, but an outage may end, so the task's own retries
still apply. Either way the extractor raises before it lands anything, so an
outage never touches landed data.

Must never log or put into a message a credential: tokens and passwords are
read from the environment variables the config names, sent as headers only.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import requests

from extractors.errors import ConfigError, SourceError, SourceUnavailable

log = logging.getLogger(__name__)

# Four tries, waiting 2, 4 and 8 seconds between them: a restart of the
# server rides through, a real outage fails in about a quarter of a minute
# and is left to the task's retries.
ATTEMPTS = 4
BACKOFF_SECONDS = 2.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# How much of an error body a message quotes.
BODY_TAIL = 300


def secret_from_env(variable: str | None, key: str) -> str | None:
    """The value of the environment variable named by config ``key``, never logged."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{key}: environment variable {variable} is not set (or empty)")
    return value


class JsonClient:
    """GET / POST JSON against one base URL, with bounded retries.

    ``name`` is the config key of the source (``sources.dcgm``), so every
    message says which source failed.
    """

    def __init__(
        self,
        base_url: str,
        name: str,
        *,
        timeout: float,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        # A server may echo a credential in its error body: messages quote
        # bodies only with these cut out.
        self._secrets = [s for s in (token, basic_auth[1] if basic_auth else None) if s]
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if basic_auth is not None:
            self.session.auth = basic_auth

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(
        self,
        path: str,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON answer; None for HTTP 404 when ``missing_ok`` (a lookup by name)."""
        return self._request("GET", path, missing_ok, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, False, json=body)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _request(self, method: str, path: str, missing_ok: bool, **kwargs) -> Any:
        url = self.url(path)
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except TRANSIENT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 404 and missing_ok:
                    return None
                if response.status_code in RETRY_STATUSES:
                    problem = f"HTTP {response.status_code}: {self._tail(response)}"
                elif response.status_code >= 400:
                    raise SourceError(
                        f"{self.name}: {method} {url} answered HTTP {response.status_code}: "
                        f"{self._tail(response)}"
                    )
                else:
                    try:
                        return response.json()
                    except ValueError:
                        raise SourceError(
                            f"{self.name}: {method} {url} answered HTTP {response.status_code} "
                            f"with a body that is not JSON: {self._tail(response)}"
                        ) from None
            if attempt < ATTEMPTS:
                wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
                log.warning(
                    "%s: %s %s failed (%s); try %d of %d in %gs",
                    self.name,
                    method,
                    url,
                    problem,
                    attempt + 1,
                    ATTEMPTS,
                    wait,
                )
                time.sleep(wait)
        raise SourceUnavailable(
            f"{self.name}: {method} {url} failed {ATTEMPTS} times; last: {problem}. "
            "Nothing was landed; the task can be retried once the source answers."
        )

    def _tail(self, response: requests.Response) -> str:
        text = " ".join(response.text.split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text if len(text) <= BODY_TAIL else "…" + text[-BODY_TAIL:]
