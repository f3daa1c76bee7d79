"""Fakes of the cloud extractor tests: a local HTTP server and rows in the providers' shapes.

``LocalServer`` is a real HTTP server on 127.0.0.1 in a thread, answering with
a function the test gives and recording every request; the BigQuery, Azure
and S3-failure fakes are built on it. The builders write rows in the shapes
the providers document.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

# Values a test can look for in messages and logs: they must never appear.
FAKE_SECRET = "fake-secret-9f8e7d6c5b4a"
FAKE_SESSION_TOKEN = "fake-session-token-1a2b3c4d5e"


# --- a local HTTP server --------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class LocalServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port>, answering with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                try:
                    response = server.handler(request)
                except Exception as exc:  # a bug in a fake shows as a 500 with its text
                    response = Response(500, {"error": {"code": "FakeBug", "message": repr(exc)}})
                body = response.body
                headers = dict(response.headers)
                if isinstance(body, dict | list):
                    body = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                self.send_response(response.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- rows in the providers' shapes ----------------------------------------------

CUR_SCHEMA = pa.schema(
    [
        ("identity_line_item_id", pa.string()),
        ("identity_time_interval", pa.string()),
        ("bill_billing_period_start_date", pa.timestamp("ms")),
        ("bill_payer_account_id", pa.string()),
        ("line_item_usage_start_date", pa.timestamp("ms")),
        ("line_item_usage_end_date", pa.timestamp("ms")),
        ("line_item_usage_account_id", pa.string()),
        ("line_item_line_item_type", pa.string()),
        ("line_item_product_code", pa.string()),
        ("line_item_usage_type", pa.string()),
        ("line_item_operation", pa.string()),
        ("line_item_usage_amount", pa.float64()),
        ("pricing_unit", pa.string()),
        ("line_item_unblended_cost", pa.float64()),
        ("line_item_currency_code", pa.string()),
        ("line_item_resource_id", pa.string()),
        ("product_instance_type", pa.string()),
        ("product_region_code", pa.string()),
        ("resource_tags", pa.map_(pa.string(), pa.string())),
    ]
)


def cur_row(line: int, cost: float = 1.0, payer: str = "111111111111", **overrides) -> dict:
    start = dt.datetime(2025, 1, 1) + dt.timedelta(hours=line)
    row = {
        "identity_line_item_id": f"li-{line}",
        "identity_time_interval": "2025-01-01T00:00:00Z/2025-02-01T00:00:00Z",
        "bill_billing_period_start_date": dt.datetime(2025, 1, 1),
        "bill_payer_account_id": payer,
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": start + dt.timedelta(hours=1),
        "line_item_usage_account_id": "222222222222",
        "line_item_line_item_type": "Usage",
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
        "line_item_operation": "RunInstances",
        "line_item_usage_amount": 1.0,
        "pricing_unit": "Hrs",
        "line_item_unblended_cost": cost,
        "line_item_currency_code": "USD",
        "line_item_resource_id": f"i-{line:08x}",
        "product_instance_type": "p5.48xlarge",
        "product_region_code": "us-east-1",
        "resource_tags": [("user_ai-system", "chat")],
    }
    row.update(overrides)
    return row


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


CARBON_TOTALS = pa.schema(
    [
        ("last_refresh_timestamp", pa.timestamp("ms", tz="UTC")),
        ("location", pa.string()),
        ("model_version", pa.string()),
        ("payer_account_id", pa.string()),
        ("usage_account_id", pa.string()),
        ("product_code", pa.string()),
        ("region_code", pa.string()),
        ("usage_period_start", pa.timestamp("ms", tz="UTC")),
        ("usage_period_end", pa.timestamp("ms", tz="UTC")),
        ("total_lbm_emissions_value", pa.float64()),
        ("total_lbm_emissions_unit", pa.string()),
        ("total_mbm_emissions_value", pa.float64()),
        ("total_mbm_emissions_unit", pa.string()),
    ]
)
SCOPE_PAIRS = (
    "total_scope_1_emissions",
    "total_scope_2_lbm_emissions",
    "total_scope_2_mbm_emissions",
    "total_scope_3_lbm_emissions",
    "total_scope_3_mbm_emissions",
)
CARBON_WITH_SCOPES = pa.schema(
    [
        *CARBON_TOTALS,
        *(
            pa.field(f"{prefix}_{part}", type_)
            for prefix in SCOPE_PAIRS
            for part, type_ in (("value", pa.float64()), ("unit", pa.string()))
        ),
    ]
)


def carbon_row(version: str, lbm: float, refreshed: dt.datetime, scopes: bool, **over) -> dict:
    utc = dt.UTC
    row = {
        "last_refresh_timestamp": refreshed,
        "location": "US East (N. Virginia)",
        "model_version": version,
        "payer_account_id": "111111111111",
        "usage_account_id": "222222222222",
        "product_code": "AmazonEC2",
        "region_code": "us-east-1",
        "usage_period_start": dt.datetime(2025, 1, 1, tzinfo=utc),
        "usage_period_end": dt.datetime(2025, 2, 1, tzinfo=utc),
        "total_lbm_emissions_value": lbm,
        "total_lbm_emissions_unit": "MTCO2e",
        "total_mbm_emissions_value": lbm / 2,
        "total_mbm_emissions_unit": "MTCO2e",
    }
    if scopes:
        for index, prefix in enumerate(SCOPE_PAIRS):
            row[f"{prefix}_value"] = lbm / 10 * (index + 1)
            row[f"{prefix}_unit"] = "MTCO2e"
    row.update(over)
    return row
