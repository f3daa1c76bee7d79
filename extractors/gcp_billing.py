"""Google Cloud Billing export → landing ``gcp_billing/billing_export``.

Reads one JSON-lines file per invoice month,
``gcp/<project>/<dataset>/gcp_billing_export_v1_<ACCOUNT>/invoice_month=YYYYMM.jsonl``
(``<ACCOUNT>`` is the billing account id with ``-`` replaced by ``_``, as
BigQuery names the table; ``gcp_billing_export_resource_v1_<ACCOUNT>`` with
``table: detailed``); with ``client: bigquery`` that file is first brought up
to date from BigQuery by ``gcp_bigquery``, each line one row of the BigQuery table as the
client library returns it: records as objects, repeated fields as lists,
timestamps as ISO strings. Rows are parsed into the explicit Arrow schema
below, the one place the landed types are defined; fields the schema does not
name are dropped (and logged by name).

Must never guess a type from the data, never land a row whose required field
is missing, and never open the warehouse. A malformed line stops the load with
its file, line and field.

Also home of the JSON-lines reader shared with ``gcp_carbon``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractors.credentials import GcpCredentials
from extractors.errors import SourceError
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "gcp_billing"
DATASET = "billing_export"

STRING = pa.string()
DOUBLE = pa.float64()
TIMESTAMP = pa.timestamp("us", tz="UTC")
KEY_VALUES = pa.list_(pa.struct([("key", STRING), ("value", STRING)]))

SCHEMA = pa.schema(
    [
        ("billing_account_id", STRING),
        ("invoice", pa.struct([("month", STRING)])),
        ("cost_type", STRING),
        ("service", pa.struct([("id", STRING), ("description", STRING)])),
        ("sku", pa.struct([("id", STRING), ("description", STRING)])),
        ("usage_start_time", TIMESTAMP),
        ("usage_end_time", TIMESTAMP),
        (
            "project",
            pa.struct(
                [("id", STRING), ("number", STRING), ("name", STRING), ("labels", KEY_VALUES)]
            ),
        ),
        ("labels", KEY_VALUES),
        ("system_labels", KEY_VALUES),
        (
            "location",
            pa.struct(
                [("location", STRING), ("country", STRING), ("region", STRING), ("zone", STRING)]
            ),
        ),
        ("cost", DOUBLE),
        ("cost_at_list", DOUBLE),
        ("currency", STRING),
        ("currency_conversion_rate", DOUBLE),
        (
            "usage",
            pa.struct(
                [
                    ("amount", DOUBLE),
                    ("unit", STRING),
                    ("amount_in_pricing_units", DOUBLE),
                    ("pricing_unit", STRING),
                ]
            ),
        ),
        (
            "credits",
            pa.list_(
                pa.struct(
                    [
                        ("name", STRING),
                        ("amount", DOUBLE),
                        ("full_name", STRING),
                        ("id", STRING),
                        ("type", STRING),
                    ]
                )
            ),
        ),
        ("export_time", TIMESTAMP),
    ]
)
# Fields every row must carry (non-null). A record's own fields are required
# only when the record itself is present (``project`` is null for tax rows).
REQUIRED_FIELDS = frozenset(
    {
        "billing_account_id",
        "invoice",
        "invoice.month",
        "cost_type",
        "service",
        "service.id",
        "service.description",
        "sku",
        "sku.id",
        "sku.description",
        "usage_start_time",
        "usage_end_time",
        "cost",
        "currency",
        "export_time",
        "labels[].key",
        "system_labels[].key",
        "project.labels[].key",
        "credits[].amount",
    }
)


# --- JSON lines into an explicit schema (shared with gcp_carbon) --------------


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO 8601 timestamp as UTC; one without an offset is read as UTC."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _snippet(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Row:
    """Converts one parsed line to the schema's Python values, naming any bad field."""

    def __init__(self, where: str, required: frozenset[str], ignored: set[str]) -> None:
        self.where = where
        self.required = required
        self.ignored = ignored

    def error(self, path: str, message: str) -> SourceError:
        return SourceError(f"{self.where}, field {path}: {message}")

    def record(self, value: Any, fields: Iterable[pa.Field], path: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(path or "(row)", f"expected an object, got {_snippet(value)}")
        names = set()
        out = {}
        for field in fields:
            names.add(field.name)
            child = f"{path}.{field.name}" if path else field.name
            out[field.name] = self.value(value.get(field.name), field.type, child)
        for key in value:
            if key not in names:
                self.ignored.add(f"{path}.{key}" if path else key)
        return out

    def value(self, value: Any, type_: pa.DataType, path: str) -> Any:
        if value is None:
            if path in self.required:
                raise self.error(path, "required, but missing or null")
            return None
        if pa.types.is_struct(type_):
            return self.record(value, list(type_), path)
        if pa.types.is_list(type_):
            if not isinstance(value, list):
                raise self.error(path, f"expected a list, got {_snippet(value)}")
            return [self.value(item, type_.value_type, f"{path}[]") for item in value]
        if isinstance(value, bool):
            raise self.error(path, f"expected {type_}, got {_snippet(value)}")
        if pa.types.is_string(type_):
            if isinstance(value, str):
                return value
            if isinstance(value, int):  # ids written as numbers are exact
                return str(value)
        elif pa.types.is_floating(type_):
            if isinstance(value, int | float):
                if not math.isfinite(value):  # json.loads reads NaN and Infinity
                    raise self.error(path, f"expected a finite number, got {value}")
                return float(value)
        elif pa.types.is_integer(type_):
            if isinstance(value, int):
                return value
        elif pa.types.is_timestamp(type_):
            if isinstance(value, str):
                try:
                    return parse_timestamp(value)
                except ValueError:
                    pass
            raise self.error(path, f"expected an ISO 8601 timestamp, got {_snippet(value)}")
        elif pa.types.is_date(type_):
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            raise self.error(path, f"expected a date YYYY-MM-DD, got {_snippet(value)}")
        raise self.error(path, f"expected {type_}, got {_snippet(value)}")


def read_json_lines(
    path: Path,
    rel: str,
    schema: pa.Schema,
    required: frozenset[str],
    check_row: Callable[[dict, str], None] | None = None,
) -> pa.Table:
    """Every line of a JSON-lines file as a row of ``schema``, plus ``_source_file``.

    ``check_row(row, where)`` may raise SourceError for a row that parses but
    does not belong in this file.
    """
    rows = []
    ignored: set[str] = set()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{rel}, line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(f"{where}: not UTF-8 ({exc.reason})") from None
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except ValueError as exc:
                raise SourceError(f"{where}: malformed JSON: {exc}") from None
            row = _Row(where, required, ignored).record(parsed, schema, "")
            if check_row is not None:
                check_row(row, where)
            rows.append(row)
    if ignored:
        dropped = ", ".join(sorted(ignored))
        log.info("%s: field(s) not in the landing schema dropped: %s", rel, dropped)
    table = pa.Table.from_pylist(rows, schema=schema)
    return table.append_column("_source_file", pa.array([rel] * table.num_rows, STRING))


# --- the billing export -------------------------------------------------------


def export_file(
    sources: Path, project: str, dataset: str, account: str, month: str, table: str = "standard"
) -> Path:
    kind = "resource_v1" if table == "detailed" else "v1"
    folder = f"gcp_billing_export_{kind}_{account.replace('-', '_')}"
    name = f"invoice_month={month.replace('-', '')}.jsonl"
    return sources / "gcp" / project / dataset / folder / name


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: GcpCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``gcp_billing/billing_export`` for the invoice month ``month``
    (``credentials``: from ``sources.gcp_billing.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    billing = config.sources.gcp_billing
    if billing is None:
        log.info("%s %s: not configured (no sources.gcp_billing); skipped", SOURCE, month)
        return []
    path = export_file(
        settings.sources,
        billing.project,
        billing.dataset,
        billing.billing_account_id,
        month,
        billing.table,
    )
    rel = path.relative_to(settings.sources).as_posix()
    if billing.client == "bigquery":
        from extractors import gcp_bigquery  # the client library only when configured

        gcp_bigquery.refresh_billing(billing, month, path, rel, credentials)
    if not path.is_file():
        log.info("%s %s: not delivered (no %s)", SOURCE, month, rel)
        return []
    invoice_month = month.replace("-", "")

    def check_row(row: dict, where: str) -> None:
        if row["invoice"]["month"] != invoice_month:
            raise SourceError(
                f"{where}, field invoice.month: expected {invoice_month} (the file's "
                f"invoice month), got {row['invoice']['month']!r}"
            )

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path],
        relative_to=settings.sources,
        build_table=lambda: read_json_lines(path, rel, SCHEMA, REQUIRED_FIELDS, check_row),
    )
    return [record]
