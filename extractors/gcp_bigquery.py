"""BigQuery reader for the GCP billing and carbon footprint exports (``client: bigquery``).

``gcp_billing`` and ``gcp_carbon`` call this module first when their config
says ``client: bigquery``: it queries the export table and writes the month's
rows to the JSON-lines file the local path reads
(``gcp/<project>/<dataset>/<table>/invoice_month=YYYYMM.jsonl`` or
``.../carbon_footprint/usage_month=YYYY-MM.jsonl``), each row exactly as
``dict(row)`` of the client library with timestamps as ISO strings. The local
path then lands that file through its explicit schema, checksum and ledger,
so both clients land the same columns, and the file is the audit copy of what
was pulled.

Queries take every value as a parameter (``@invoice_month``, ``@from_ts``,
``@usage_month``; ``ScalarQueryParameter``), never formatted into the text;
only the table name is built from the config, whose project, dataset and
account are validated to BigQuery's identifier characters.

* Billing (standard ``gcp_billing_export_v1_<ACCOUNT>`` or detailed
  ``gcp_billing_export_resource_v1_<ACCOUNT>``): ingestion-time partitioned,
  and rows for past days keep arriving. The first pull of an invoice month
  reads every row exported since the day before the month began; later pulls
  re-read only a trailing window, ``export_time >= @from_ts`` where
  ``from_ts`` is the newest ``export_time`` already held minus
  ``repull_days`` (default 3), with ``_PARTITIONTIME`` bounded a day earlier
  so only those partitions are scanned. Held rows older than ``from_ts`` are
  kept, the window's rows replaced by what BigQuery returns now, and then
  rows are de-duplicated (see ``row_key``).
* Carbon footprint: partitioned by ``usage_month``; the month is read whole
  (``usage_month = @usage_month``) and replaces the held month, every
  ``carbon_model_version`` in it kept.

An empty answer never wipes rows already held (a month not exported yet, or a
transient glitch): the earlier snapshot and partition stay. Credentials are
Application Default Credentials, or the service account key of the source's
Airflow connection (``credentials``, resolved by the DAG); never logged.

Must never format a value into SQL, never scan an unbounded range of
partitions, and never open the warehouse.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from extractors.cloud import write_atomically
from extractors.credentials import GcpCredentials
from extractors.errors import CredentialsError, SourceError, SourceUnavailable
from extractors.gcp_billing import parse_timestamp
from extractors.org_config import GcpBillingSource, GcpCarbonSource

log = logging.getLogger(__name__)

PAGE_SIZE = 10_000
BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery"
# Give up retrying a throttled or failing request after this long (seconds):
# the DAG's own retries try again later.
RETRY_TIMEOUT = 120.0

BILLING_SQL = """\
SELECT *
FROM `{table}`
WHERE invoice.month = @invoice_month
  AND (_PARTITIONTIME >= TIMESTAMP_SUB(@from_ts, INTERVAL 1 DAY) OR _PARTITIONTIME IS NULL)
  AND export_time >= @from_ts
"""
CARBON_SQL = """\
SELECT *
FROM `{table}`
WHERE usage_month = @usage_month
"""


def make_client(
    project: str, location: str | None = None, credentials: GcpCredentials | None = None
) -> Any:
    """A BigQuery client: Application Default Credentials, or the service account key
    of the source's Airflow connection (tests replace this)."""
    from google.cloud import bigquery

    if credentials is None:
        return bigquery.Client(project=project, location=location)
    return bigquery.Client(
        project=project, location=location, credentials=service_account_credentials(credentials)
    )


def job_project(
    section: GcpBillingSource | GcpCarbonSource, credentials: GcpCredentials | None
) -> str:
    """Where query jobs run (and are billed): the config's job_project, else the
    connection's project, else the export's own project."""
    return section.job_project or (credentials and credentials.project) or section.project


def service_account_credentials(credentials: GcpCredentials) -> Any:
    """google-auth credentials from the connection's key, for BigQuery reads."""
    from google.auth import exceptions as auth_x
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_info(
            credentials.service_account_info, scopes=[BIGQUERY_SCOPE]
        )
    except (ValueError, auth_x.GoogleAuthError) as exc:
        raise CredentialsError(
            f"the service account key of the connection could not be used "
            f"({type(exc).__name__}): check its keyfile_dict"
        ) from None


def billing_table_name(billing: GcpBillingSource) -> str:
    kind = "resource_v1" if billing.table == "detailed" else "v1"
    return f"gcp_billing_export_{kind}_{billing.billing_account_id.replace('-', '_')}"


def to_json_value(value: Any) -> Any:
    """A client-library value as the JSON-lines convention writes it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return value


def row_key(row: dict) -> str:
    """The de-duplication key of a billing row: the whole row as delivered.

    The export has no row id. A row BigQuery returns twice (the re-pull
    window overlapping what is held, or a batch exported twice) is equal in
    every field, ``export_time`` included; two genuine charges differ in at
    least one of usage window, SKU, project, labels, resource, cost, credits
    or ``export_time``. So the key is every field the table delivers, not
    only those landed: keyed on the landed subset, two resources' rows of a
    detailed export would wrongly collapse into one.
    """
    return json.dumps(row, sort_keys=True, separators=(",", ":"))


def _run(client: Any, sql: str, parameters: list, what: str) -> list[dict]:
    from google.api_core import exceptions as gx
    from google.auth import exceptions as auth_x
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(query_parameters=parameters, use_legacy_sql=False)
    retry = bigquery.DEFAULT_RETRY.with_timeout(RETRY_TIMEOUT)
    try:
        job = client.query(sql, job_config=config, retry=retry, job_retry=None)
        # row[key], not row.items(): items() deep-copies every value (and a
        # billing row is a dozen nested records), a third of the read's time;
        # to_json_value builds new containers, so nothing is shared with the row.
        # (Iterating a Row yields its values, hence keys().)
        return [
            {key: to_json_value(row[key]) for key in row.keys()}  # noqa: SIM118
            for row in job.result(page_size=PAGE_SIZE, retry=retry)
        ]
    except (auth_x.DefaultCredentialsError, auth_x.RefreshError) as exc:
        raise CredentialsError(
            f"Google credentials could not be used while {what} ({type(exc).__name__}): "
            "set up Application Default Credentials (gcloud auth application-default login, "
            "GOOGLE_APPLICATION_CREDENTIALS or the workload's service account)"
        ) from None
    except gx.Unauthorized:
        raise CredentialsError(
            f"BigQuery refused the credentials (401) while {what}: they are expired or invalid"
        ) from None
    except (gx.TooManyRequests, gx.ServerError) as exc:
        raise SourceUnavailable(
            f"BigQuery kept throttling or failing ({exc.code}) while {what} after retrying "
            f"for {RETRY_TIMEOUT:.0f} s; nothing was written, try again later"
        ) from None
    except gx.Forbidden as exc:
        reasons = {error.get("reason") for error in exc.errors or [] if isinstance(error, dict)}
        if reasons & {"rateLimitExceeded", "quotaExceeded"}:
            raise SourceUnavailable(
                f"BigQuery quota or rate limit hit while {what}; try again later"
            ) from None
        raise CredentialsError(
            f"BigQuery denied access (403) while {what}: the identity needs "
            "bigquery.jobs.create on the job project and bigquery.tables.getData on the dataset"
        ) from None
    except gx.NotFound:
        raise SourceError(
            f"BigQuery: not found while {what} (check project, dataset, billing account and "
            "that the export is enabled)"
        ) from None
    except gx.GoogleAPICallError as exc:
        raise SourceError(f"BigQuery answered {exc.code} while {what}") from None


def _read_snapshot(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _write_snapshot(path: Path, rows: Iterable[dict]) -> None:
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    write_atomically(path, text.encode("utf-8"))


def _export_time(row: dict, where: str) -> dt.datetime:
    value = row.get("export_time")
    if not isinstance(value, str):
        raise SourceError(f"{where}: a billing row has no export_time (got {value!r})")
    return parse_timestamp(value)


def refresh_billing(
    billing: GcpBillingSource,
    month: str,
    path: Path,
    rel: str,
    credentials: GcpCredentials | None = None,
) -> None:
    """Bring the invoice month's JSON-lines file up to date from BigQuery."""
    from google.cloud.bigquery import ScalarQueryParameter

    held = _read_snapshot(path)
    month_start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    if held:
        newest = max(_export_time(row, rel) for row in held)
        from_ts = newest - dt.timedelta(days=billing.repull_days)
    else:
        from_ts = month_start - dt.timedelta(days=1)
    table = f"{billing.project}.{billing.dataset}.{billing_table_name(billing)}"
    parameters = [
        ScalarQueryParameter("invoice_month", "STRING", month.replace("-", "")),
        ScalarQueryParameter("from_ts", "TIMESTAMP", from_ts),
    ]
    client = make_client(job_project(billing, credentials), billing.location, credentials)
    fresh = _run(
        client,
        BILLING_SQL.format(table=table),
        parameters,
        f"reading {table} for invoice month {month} from {from_ts.isoformat()}",
    )
    if not fresh:
        if held:
            log.info("gcp_billing %s: no rows exported since %s; %s kept", month, from_ts, rel)
        else:
            log.info("gcp_billing %s: not delivered (no rows in %s)", month, table)
        return
    kept = [row for row in held if _export_time(row, rel) < from_ts]
    merged: dict[str, dict] = {}
    for row in [*kept, *fresh]:
        merged.setdefault(row_key(row), row)
    duplicates = len(kept) + len(fresh) - len(merged)
    if duplicates:
        log.info("gcp_billing %s: %d row(s) delivered twice kept once", month, duplicates)
    # Sorted, so an unchanged month gives the same bytes (and the ledger "unchanged").
    rows = sorted(merged.items(), key=lambda item: (item[1].get("export_time"), item[0]))
    _write_snapshot(path, (row for _, row in rows))
    log.info(
        "gcp_billing %s: %d row(s) held, %d re-pulled since %s",
        month,
        len(merged),
        len(fresh),
        from_ts.isoformat(),
    )


def refresh_carbon(
    carbon: GcpCarbonSource, month: str, path: Path, credentials: GcpCredentials | None = None
) -> None:
    """Replace the usage month's JSON-lines file with the month as BigQuery holds it."""
    from google.cloud.bigquery import ScalarQueryParameter

    table = f"{carbon.project}.{carbon.dataset}.carbon_footprint"
    parameters = [ScalarQueryParameter("usage_month", "DATE", dt.date.fromisoformat(f"{month}-01"))]
    client = make_client(job_project(carbon, credentials), carbon.location, credentials)
    rows = _run(
        client,
        CARBON_SQL.format(table=table),
        parameters,
        f"reading {table} for usage month {month}",
    )
    if not rows:
        log.info("gcp_carbon %s: not delivered (no rows in %s)", month, table)
        return
    versions = sorted({str(row.get("carbon_model_version")) for row in rows})
    log.info("gcp_carbon %s: %d row(s), model version(s) %s", month, len(rows), ", ".join(versions))
    _write_snapshot(path, sorted(rows, key=row_key))
