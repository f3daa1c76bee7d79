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


# --- S3 over HTTP that checks who signed -------------------------------------------


class SignedS3:
    """A handler for ``LocalServer``: S3 ListObjectsV2 and GetObject (path-style),
    served from a moto bucket, answering only requests signed (SigV4) with the
    one access key and secret it is given.

    moto's own server needs Flask, which the frozen requirements leave out;
    this front lets a task in another process (``airflow dags test``) read a
    moto bucket, and proves it signed with exactly these credentials.
    """

    def __init__(self, s3, access_key_id: str, secret_access_key: str) -> None:
        self.s3 = s3  # a boto3 client inside mock_aws
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.signed_by: list[str] = []  # the access key id of every accepted request

    def __call__(self, request: Request) -> Response:
        problem = self._check_signature(request)
        if problem:
            return _s3_error(403, *problem)
        bucket, _, key = request.path.lstrip("/").partition("/")
        from urllib.parse import unquote

        key = unquote(key)
        if request.method == "GET" and not key:
            return self._list(bucket, request.query.get("prefix", [""])[0])
        if request.method in ("GET", "HEAD"):
            return self._get(bucket, key, request.headers.get("if-match"))
        return _s3_error(405, "MethodNotAllowed", "read-only fake")

    def _check_signature(self, request: Request) -> tuple[str, str] | None:
        from urllib.parse import quote

        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        header = request.headers.get("authorization", "")
        fields = dict(
            part.strip().split("=", 1)
            for part in header.partition(" ")[2].split(",")
            if "=" in part
        )
        if not header.startswith("AWS4-HMAC-SHA256") or "Credential" not in fields:
            return "AccessDenied", "unsigned request"
        key_id, _, region, service, _ = fields["Credential"].split("/")
        if key_id != self.access_key_id:
            return "InvalidAccessKeyId", "unknown access key"
        signed = fields["SignedHeaders"].split(";")
        query = "&".join(
            f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}"
            for name, values in sorted(request.query.items())
            for value in values
        )
        url = f"http://{request.headers['host']}{request.path}" + (f"?{query}" if query else "")
        aws_request = AWSRequest(
            method=request.method,
            url=url,
            headers={name: request.headers[name] for name in signed if name != "host"},
            data=request.body,
        )
        aws_request.context["timestamp"] = request.headers["x-amz-date"]
        signer = S3SigV4Auth(Credentials(key_id, self.secret_access_key), service, region)
        canonical = signer.canonical_request(aws_request)
        expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
        if expected != fields.get("Signature"):
            return "SignatureDoesNotMatch", "signature does not match"
        self.signed_by.append(key_id)
        return None

    def _list(self, bucket: str, prefix: str) -> Response:
        items = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            items.extend(page.get("Contents", []))
        contents = "".join(
            f"<Contents><Key>{item['Key']}</Key><Size>{item['Size']}</Size>"
            f"<ETag>{_xml_text(item['ETag'])}</ETag>"
            "<LastModified>2025-01-01T00:00:00.000Z</LastModified>"
            "<StorageClass>STANDARD</StorageClass></Contents>"
            for item in items
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{len(items)}</KeyCount>"
            f"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
        )
        return Response(200, body.encode(), {"Content-Type": "application/xml"})

    def _get(self, bucket: str, key: str, if_match: str | None) -> Response:
        answer = self.s3.get_object(Bucket=bucket, Key=key)
        if if_match and if_match != answer["ETag"]:
            return _s3_error(412, "PreconditionFailed", "etag changed")
        return Response(
            200,
            answer["Body"].read(),
            {"ETag": answer["ETag"], "Content-Type": "application/octet-stream"},
        )


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    )
    return Response(status, body.encode(), {"Content-Type": "application/xml"})
