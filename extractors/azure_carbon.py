"""Azure Carbon Optimization API → landing ``azure_carbon/emissions``.

For the month, asks
``POST {base_url}/providers/Microsoft.Carbon/carbonEmissionReports?api-version=2025-04-01``
for the configured report (``ItemDetailsReport`` by ``categoryType``, default
``Resource``; or ``MonthlySummaryReport``) over the configured subscriptions,
once per carbon scope (``Scope1``, ``Scope2``, ``Scope3``): the API returns the
sum of the scopes asked for, so one request per scope is the only way to know
the split. ``dateRange`` is the one month (``start`` = ``end`` = ``YYYY-MM-01``;
item details allow no more). Item details are paged with ``skipToken``
(``pageSize`` up to 5000). The API serves only its last 12 months: the
available range is asked first
(``/providers/Microsoft.Carbon/queryCarbonEmissionDataAvailableDateRange``)
and a month outside it is not requested.

Each scope's pages are written, as the API returned them, to
``azure/carbon_optimization/<reportType>/month=YYYY-MM/<Scope>.json``
(``{"request": {...}, "pages": [...]}``) under the sources folder and landed
from there, so the checksum, the ledger and ``_source_file`` work as for file
sources and the files are the audit copy of what was pulled (``client:
local`` lands such files without calling the API). Values are kgCO2e, as
Azure reports them; there is no location- vs market-based split.

Throttling (429) and server errors are retried with backoff, honouring
``Retry-After``, at most ``max_attempts`` times, then fail clearly as
``SourceUnavailable`` (the DAG retries later). The bearer token comes,
in this order, from the service principal of the source's Airflow connection
(``credentials``, resolved by the DAG: a client-credentials token request to
Entra ID), from the environment variable ``token_env`` names, else from
azure-identity's ``DefaultAzureCredential`` when that package is installed.

Must never log or put the token into a message, never overwrite a held month
with an empty or partial answer (all scopes are fetched before anything is
written), and never open the warehouse.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractors import cloud
from extractors.cloud import write_atomically
from extractors.credentials import AzureCredentials
from extractors.errors import CredentialsError, SourceError, SourceUnavailable
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import AzureCarbonSource, OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "azure_carbon"
DATASET = "emissions"
API_VERSION = "2025-04-01"
REPORTS_PATH = "/providers/Microsoft.Carbon/carbonEmissionReports"
RANGE_PATH = "/providers/Microsoft.Carbon/queryCarbonEmissionDataAvailableDateRange"
# The audience a token is asked for, not a secret.
TOKEN_SCOPE = "https://management.azure.com/.default"  # noqa: S105
TIMEOUT_SECONDS = 60
# A skipToken chain longer than this is a server bug, not data.
MAX_PAGES = 2_000

STRING = pa.string()
DOUBLE = pa.float64()
SCHEMA = pa.schema(
    [
        ("usage_month", pa.date32()),  # the month asked for
        ("report_type", STRING),  # the reportType asked for
        ("carbon_scope", STRING),  # the one scope asked for: Scope1, Scope2 or Scope3
        ("dataType", STRING),
        ("date", pa.date32()),  # MonthlySummaryData only
        ("categoryType", STRING),
        ("itemName", STRING),
        ("subscriptionId", STRING),
        ("resourceGroup", STRING),
        ("resourceGroupUrl", STRING),
        ("resourceId", STRING),
        ("resourceType", STRING),
        ("location", STRING),
        ("latestMonthEmissions", DOUBLE),  # kgCO2e
        ("previousMonthEmissions", DOUBLE),
        ("monthOverMonthEmissionsChangeRatio", DOUBLE),
        ("monthlyEmissionsChangeValue", DOUBLE),
        ("carbonIntensity", DOUBLE),
        ("_source_file", STRING),
    ]
)
# The fields of the API's items (every dataType's), as named by the API.
ITEM_FIELDS = SCHEMA.names[3:-1]


def snapshot_folder(sources: Path, section: AzureCarbonSource, month: str) -> Path:
    return sources / "azure" / "carbon_optimization" / section.report_type / f"month={month}"


# --- the API ------------------------------------------------------------------


def client_credentials_token(credentials: AzureCredentials) -> str:
    """A token for the service principal (OAuth 2.0 client credentials grant).

    One request, no retry of a refusal: a wrong secret will not mend itself.
    Entra ID's error text is never quoted (it may echo the client id or more);
    only its error code is.
    """
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "scope": TOKEN_SCOPE,
        }
    ).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 - authority_host is validated http(s)
        credentials.token_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            code = str(json.loads(raw.decode("utf-8")).get("error") or "")
        except (ValueError, UnicodeDecodeError, AttributeError):
            code = ""
        code = re.sub(r"[^A-Za-z0-9_]", "", code)[:60]
        if exc.code in (429, 500, 502, 503, 504):
            raise SourceUnavailable(
                f"Entra ID token endpoint answered HTTP {exc.code}; try again later"
            ) from None
        raise CredentialsError(
            f"Entra ID refused the connection's service principal (HTTP {exc.code}"
            f"{' ' + code if code else ''}): check its client id, secret and tenantId"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SourceUnavailable(
            f"Entra ID token endpoint unreachable ({type(exc).__name__}); try again later"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise CredentialsError("Entra ID answered the token request with no JSON") from None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise CredentialsError("Entra ID answered the token request without an access_token")
    return token


def access_token(section: AzureCarbonSource, credentials: AzureCredentials | None = None) -> str:
    """The bearer token: the connection's service principal, else the ``token_env``
    variable, else DefaultAzureCredential."""
    if credentials is not None:
        return client_credentials_token(credentials)
    value = os.environ.get(section.token_env, "").strip()
    if value:
        return value
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise CredentialsError(
            f"no Azure token: set the environment variable {section.token_env} "
            "(sources.azure_carbon.token_env) or install azure-identity for "
            "DefaultAzureCredential"
        ) from None
    try:
        return DefaultAzureCredential().get_token(TOKEN_SCOPE).token
    except Exception as exc:  # azure-identity raises several unrelated types
        raise CredentialsError(
            f"DefaultAzureCredential could not get a token ({type(exc).__name__}); "
            f"sign in (az login), give the workload an identity, or set {section.token_env}"
        ) from None


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _error_code(body: bytes) -> tuple[str, str]:
    """(code, message) of an ARM error body ``{"error": {"code", "message"}}``."""
    try:
        error = json.loads(body.decode("utf-8")).get("error", {})
    except (ValueError, UnicodeDecodeError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return "", ""
    code = re.sub(r"[^A-Za-z0-9.]", "", str(error.get("code") or ""))[:80]
    return code, " ".join(str(error.get("message") or "").split())[:300]


class CarbonApi:
    """POSTs to the Carbon Optimization API with bounded, throttling-aware retries."""

    def __init__(
        self, section: AzureCarbonSource, credentials: AzureCredentials | None = None
    ) -> None:
        self.section = section
        self._token = access_token(section, credentials)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def post(self, path: str, body: dict, what: str) -> dict:
        url = f"{self.section.base_url}{path}?api-version={API_VERSION}"
        data = json.dumps(body).encode("utf-8")
        attempts = self.section.max_attempts
        problem = ""
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(  # noqa: S310 - base_url is validated http(s)
                url,
                data=data,
                method="POST",
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                    payload = response.read()
            except urllib.error.HTTPError as exc:
                status, raw = exc.code, exc.read()
                code, message = _error_code(raw)
                if status in (429, 500, 502, 503, 504):
                    problem = f"HTTP {status}{' ' + code if code else ''}"
                    retry_after = _retry_after(exc.headers)
                else:
                    raise self._failure(status, code, message, what) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                problem = type(exc).__name__
            else:
                try:
                    answer = json.loads(payload.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    raise SourceError(
                        f"Azure answered {what} with a body that is not JSON"
                    ) from None
                if not isinstance(answer, dict):
                    raise SourceError(f"Azure answered {what} with JSON that is not an object")
                return answer
            if attempt == attempts:
                break
            wait = cloud.backoff_seconds(attempt, retry_after)
            log.warning(
                "azure_carbon: %s: %s; try %d of %d in %.1fs",
                what,
                problem,
                attempt + 1,
                attempts,
                wait,
            )
            cloud.sleep(wait)
        raise SourceUnavailable(
            f"Azure Carbon Optimization API: {what} failed {attempts} times (last: {problem}); "
            "nothing was written, try again later"
        )

    def _failure(self, status: int, code: str, message: str, what: str) -> Exception:
        if status == 401:
            return CredentialsError(
                f"Azure refused the token ({status} {code or 'Unauthorized'}) for {what}: it is "
                f"expired or invalid; get a new one ({self.section.token_env} or "
                "DefaultAzureCredential)"
            )
        if status == 403:
            return CredentialsError(
                f"Azure denied access ({status} {code or 'Forbidden'}) for {what}: the identity "
                "needs the Carbon Optimization Reader role on the subscriptions"
            )
        detail = f": {self._redact(message)}" if message else ""
        return SourceError(f"Azure answered HTTP {status} {code} for {what}{detail}")

    def available_months(self) -> tuple[str, str]:
        """(first, last) YYYY-MM the API holds data for."""
        answer = self.post(RANGE_PATH, {}, "the available date range")
        try:
            return answer["startDate"][:7], answer["endDate"][:7]
        except (KeyError, TypeError):
            raise SourceError(
                "Azure answered the available date range without startDate/endDate"
            ) from None

    def request_body(self, month: str, scope: str) -> dict:
        first_day = f"{month}-01"
        body: dict[str, Any] = {
            "reportType": self.section.report_type,
            "subscriptionList": list(self.section.subscriptions),
            "carbonScopeList": [scope],
            "dateRange": {"start": first_day, "end": first_day},
        }
        if self.section.report_type == "ItemDetailsReport":
            body.update(
                categoryType=self.section.category_type,
                orderBy="ItemName",
                sortDirection="Asc",
                pageSize=self.section.page_size,
            )
        return body

    def report_pages(self, month: str, scope: str) -> tuple[dict, list[dict]]:
        """(request, every page) of one scope's report for the month."""
        body = self.request_body(month, scope)
        pages: list[dict] = []
        tokens: set[str] = set()
        token = None
        while True:
            what = f"{body['reportType']} {scope} {month} page {len(pages) + 1}"
            page = self.post(REPORTS_PATH, {**body, "skipToken": token} if token else body, what)
            self._check_access(page, what)
            pages.append(page)
            token = page.get("skipToken") or None
            if token is None:
                return body, pages
            if token in tokens or len(pages) >= MAX_PAGES:
                raise SourceError(f"Azure's skipToken chain does not end ({what})")
            tokens.add(token)

    @staticmethod
    def _check_access(page: dict, what: str) -> None:
        for decision in page.get("subscriptionAccessDecisionList") or []:
            if isinstance(decision, dict) and decision.get("decision") == "Denied":
                reason = decision.get("denialReason") or "no reason given"
                raise CredentialsError(
                    f"Azure denied subscription {decision.get('subscriptionId')} for {what} "
                    f"({reason}): grant the Carbon Optimization Reader role or remove it from "
                    "sources.azure_carbon.subscriptions"
                )


def pull(
    section: AzureCarbonSource,
    month: str,
    folder: Path,
    credentials: AzureCredentials | None = None,
) -> None:
    """Write every scope's pages for the month, or nothing (earlier files kept)."""
    api = CarbonApi(section, credentials)
    first, last = api.available_months()
    if not first <= month <= last:
        log.info(
            "%s %s: outside the API's window %s..%s; not requested", SOURCE, month, first, last
        )
        return
    pulled = {scope: api.report_pages(month, scope) for scope in section.scopes}
    items = sum(len(page.get("value") or []) for _, pages in pulled.values() for page in pages)
    if not items:
        log.info("%s %s: not delivered (the API returned no items for any scope)", SOURCE, month)
        return
    for scope, (request, pages) in pulled.items():
        document = {"request": request, "pages": pages}
        write_atomically(folder / f"{scope}.json", json.dumps(document, indent=1).encode())


# --- the snapshot files -------------------------------------------------------


def _number(value: Any, where: str, name: str, required: bool) -> float | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError(f"{where}: {name}: expected a number (kgCO2e), got {value!r}")
    return float(value)


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise SourceError(f"{where}: date: expected yyyy-MM-dd, got {value!r}") from None


def read_snapshot(path: Path, rel: str, month: str, scope: str) -> list[dict]:
    """The rows of one scope's file, typed; extra item fields are logged, not landed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{rel}: not valid JSON: {exc}") from None
    pages = document.get("pages") if isinstance(document, dict) else None
    request = document.get("request") if isinstance(document, dict) else None
    if not isinstance(pages, list) or not isinstance(request, dict):
        raise SourceError(f"{rel}: expected an object with 'request' and a 'pages' list")
    if request.get("carbonScopeList") != [scope]:
        raise SourceError(
            f"{rel}: request asked for scopes {request.get('carbonScopeList')!r}, "
            f"expected exactly [{scope!r}] (one request per scope keeps the split)"
        )
    rows, extra = [], set()
    usage_month = dt.date.fromisoformat(f"{month}-01")
    for page_number, page in enumerate(pages, start=1):
        items = page.get("value") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise SourceError(f"{rel}: page {page_number}: expected a 'value' list")
        for item_number, item in enumerate(items, start=1):
            where = f"{rel}, page {page_number}, item {item_number}"
            if not isinstance(item, dict):
                raise SourceError(f"{where}: expected an object")
            extra.update(key for key in item if key not in ITEM_FIELDS)
            row = {name: item.get(name) for name in ITEM_FIELDS}
            row["latestMonthEmissions"] = _number(
                item.get("latestMonthEmissions"), where, "latestMonthEmissions", True
            )
            for name in (
                "previousMonthEmissions",
                "monthOverMonthEmissionsChangeRatio",
                "monthlyEmissionsChangeValue",
                "carbonIntensity",
            ):
                row[name] = _number(item.get(name), where, name, False)
            row["date"] = _date(item.get("date"), where)
            for name in ITEM_FIELDS:
                if SCHEMA.field(name).type == STRING and row[name] is not None:
                    row[name] = str(row[name])
            row.update(
                usage_month=usage_month,
                report_type=request.get("reportType"),
                carbon_scope=scope,
                _source_file=rel,
            )
            rows.append(row)
    if extra:
        log.info("%s: item field(s) not in the landing schema dropped: %s", rel, sorted(extra))
    return rows


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: AzureCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``azure_carbon/emissions`` for ``month``, one request per scope
    (``credentials``: from ``sources.azure_carbon.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    section = config.sources.azure_carbon
    if section is None:
        log.info("%s %s: not configured (no sources.azure_carbon); skipped", SOURCE, month)
        return []
    folder = snapshot_folder(settings.sources, section, month)
    if section.client == "api":
        pull(section, month, folder, credentials)
    files = [folder / f"{scope}.json" for scope in section.scopes]
    files = [path for path in files if path.is_file()]
    if not files:
        rel = folder.relative_to(settings.sources).as_posix()
        log.info("%s %s: not delivered (no %s/<scope>.json)", SOURCE, month, rel)
        return []

    def build_table() -> pa.Table:
        rows = []
        for path in files:
            rel = path.relative_to(settings.sources).as_posix()
            rows.extend(read_snapshot(path, rel, month, path.stem))
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=files,
        relative_to=settings.sources,
        build_table=build_table,
    )
    return [record]
