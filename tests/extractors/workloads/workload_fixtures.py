"""Fixtures of the AI-workload extractor tests, loaded with ``pytest_plugins``.

A real HTTP server on 127.0.0.1 (``http.server`` in a thread) whose answers a
test scripts, so the extractors' real ``requests`` client is exercised end to
end; a fake Prometheus built on it; a fake ``sacct`` executable on PATH; and
retries without waiting. The shared extractor fixtures (sources, landing,
config, settings) come from ``extractor_fixtures`` one folder up.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

# Running this folder alone does not put tests/extractors on sys.path.
_SHARED = str(Path(__file__).resolve().parent.parent)
if _SHARED not in sys.path:
    sys.path.append(_SHARED)

pytest_plugins = ["extractor_fixtures"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object
    headers: dict[str, str]


@dataclass
class FakeServer:
    """What the server was asked, and the function that answers it."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[Request], tuple[int, object]] = lambda request: (404, {"error": "no route"})


@pytest.fixture
def json_server():
    """A JSON server on 127.0.0.1; set ``.answer`` to script its replies."""
    state = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                json.loads(raw) if raw else None,
                dict(self.headers),
            )
            state.requests.append(request)
            status, payload = state.answer(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without the waits between them."""
    from extractors import remote

    monkeypatch.setattr(remote, "BACKOFF_SECONDS", 0.0)


SELECTOR = re.compile(r'(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(\{(?P<label>\w+)="(?P<value>[^"]*)"\})?')


class FakePrometheus:
    """The query_range and label-values endpoints over stored series.

    Series are stored as ``(labels, [(unix seconds, value), ...])`` with
    ``__name__`` among the labels, as Prometheus returns raw selectors.
    A query is a metric name with at most one ``{label="value"}`` matcher
    (``""`` matches series without the label), or an exact PromQL string
    registered in ``expressions``.
    """

    def __init__(self) -> None:
        self.series: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
        self.expressions: dict[str, list[tuple[dict[str, str], list[tuple[float, float]]]]] = {}
        self.failures: list[int] = []  # statuses to answer before answering properly

    def add(self, name: str, labels: dict[str, str], samples: list[tuple[float, float]]) -> None:
        self.series.append(({"__name__": name, **labels}, samples))

    def _select(self, query: str):
        if query in self.expressions:
            return self.expressions[query]
        found = SELECTOR.fullmatch(query)
        assert found, f"the fake Prometheus cannot answer {query!r}"
        chosen = [s for s in self.series if s[0]["__name__"] == found["name"]]
        if found["label"]:
            chosen = [s for s in chosen if s[0].get(found["label"], "") == found["value"]]
        return chosen

    def __call__(self, request: Request) -> tuple[int, object]:
        if self.failures:
            return self.failures.pop(0), {"status": "error", "error": "unavailable"}
        query = {key: values[-1] for key, values in request.query.items()}
        start, end = float(query.get("start", 0)), float(query.get("end", 0))
        if request.path == "/api/v1/query_range":
            result = []
            for labels, samples in self._select(query["query"]):
                values = [[t, repr(float(v))] for t, v in samples if start <= t <= end]
                if values:
                    result.append({"metric": labels, "values": values})
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
        found = re.fullmatch(r"/api/v1/label/(\w+)/values", request.path)
        if found:
            names = set(request.query.get("match[]", []))
            values = {
                labels[found[1]]
                for labels, samples in self.series
                if labels["__name__"] in names
                and found[1] in labels
                and any(start <= t <= end for t, _ in samples)
            }
            return 200, {"status": "success", "data": sorted(values)}
        return 404, {"status": "error", "error": f"no route {request.path}"}


@pytest.fixture
def prometheus(json_server) -> FakePrometheus:
    """A fake Prometheus served by ``json_server`` (its URL is ``json_server.url``)."""
    fake = FakePrometheus()
    json_server.answer = fake
    return fake


FAKE_SACCT = """#!/bin/sh
# A stand-in for sacct on a login host: records how it was called, then
# prints the prepared output (or fails, or hangs, as the test asks).
printf '%s\\n' "TZ=$TZ" "$@" "--" >> "$FAKE_SACCT_DIR/calls.txt"
if [ -n "$FAKE_SACCT_SLEEP" ]; then sleep "$FAKE_SACCT_SLEEP"; fi
if [ -n "$FAKE_SACCT_FAIL" ]; then
  echo "sacct: error: Problem talking to the database: Connection refused" >&2
  exit 1
fi
cat "$FAKE_SACCT_DIR/output.txt"
"""


@dataclass
class FakeSacct:
    folder: Path

    def output(self, text: str) -> None:
        (self.folder / "output.txt").write_text(text)

    def calls(self) -> list[list[str]]:
        """The argv of each call (after the TZ the command saw)."""
        text = (self.folder / "calls.txt").read_text()
        return [call.strip("\n").split("\n") for call in text.split("--\n") if call.strip()]


@pytest.fixture
def fake_sacct(tmp_path, monkeypatch) -> FakeSacct:
    """An executable ``sacct`` first on PATH, printing what ``.output`` set."""
    folder = tmp_path / "login-host"
    folder.mkdir()
    script = folder / "sacct"
    script.write_text(FAKE_SACCT)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SACCT_DIR", str(folder))
    return FakeSacct(folder)
