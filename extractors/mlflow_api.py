"""MLflow tracking server REST API → landing ``mlflow/runs``.

Used by ``mlflow_runs.extract`` when ``sources.mlflow.tracking_uri`` is set
(otherwise the dropped ``mlflow/runs_YYYY-MM.json`` files are read). Resolves
the configured experiment names with ``GET /api/2.0/mlflow/experiments/get-by-name``
(or lists every experiment with ``POST /api/2.0/mlflow/experiments/search``),
then pages through ``POST /api/2.0/mlflow/runs/search`` (``max_results`` =
``page_size``, ``page_token``) for the runs that overlap the month: the
server filters ``attributes.start_time < <month end>`` (and, with
``max_run_days``, ``attributes.start_time >= <month start - max_run_days>``),
and runs that ended before the month starts are dropped here, since the
filter syntax has no OR for runs still open (``end_time`` null). Deleted runs
are asked for too (``run_view_type: ALL``): they used the GPUs all the same.

Lands the same ``mlflow/runs`` schema as the files, one row per run (a run
repeated across pages lands once); a run without its id, experiment, status
or start time is quarantined. Auth is a bearer token (``token_env``) or basic
auth (``username_env`` / ``password_env``), read from the environment and
never logged. An outage is retried, then fails with nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, Quarantine, land_table, month_partition
from extractors.mlflow_runs import DATASET, SCHEMA, SOURCE, run_row
from extractors.org_config import MlflowSource, OrgConfig
from extractors.remote import JsonClient, secret_from_env
from extractors.settings import Settings

log = logging.getLogger(__name__)

CONFIG_KEY = "sources.mlflow"
RUNS_SEARCH = "/api/2.0/mlflow/runs/search"
EXPERIMENTS_SEARCH = "/api/2.0/mlflow/experiments/search"
EXPERIMENT_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
DAY_MS = 86_400_000
EXPERIMENTS_PAGE = 1000


def month_bounds_ms(month: str) -> tuple[int, int]:
    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def runs_filter(month: str, max_run_days: int | None) -> str:
    """The runs/search filter string for runs that may overlap ``month``."""
    start, end = month_bounds_ms(month)
    terms = [f"attributes.start_time < {end}"]
    if max_run_days is not None:
        terms.append(f"attributes.start_time >= {start - max_run_days * DAY_MS}")
    return " AND ".join(terms)


def client_for(source: MlflowSource) -> JsonClient:
    assert source.tracking_uri is not None
    token = secret_from_env(source.token_env, f"{CONFIG_KEY}.token_env")
    basic = None
    if source.username_env is not None and source.password_env is not None:
        basic = (
            secret_from_env(source.username_env, f"{CONFIG_KEY}.username_env") or "",
            secret_from_env(source.password_env, f"{CONFIG_KEY}.password_env") or "",
        )
    return JsonClient(
        source.tracking_uri,
        CONFIG_KEY,
        timeout=source.timeout_seconds,
        token=token,
        basic_auth=basic,
    )


def _pages(client: JsonClient, path: str, body: dict[str, Any], key: str) -> Iterator[list]:
    """Each page's ``key`` list, following ``next_page_token`` until it is empty."""
    seen: set[str] = set()
    token = None
    while True:
        payload = client.post(path, {**body, **({"page_token": token} if token else {})})
        if not isinstance(payload, dict) or not isinstance(payload.get(key, []), list):
            raise SourceError(
                f"{CONFIG_KEY}: {client.url(path)}: expected an object with a list {key}"
            )
        yield payload.get(key, [])
        token = payload.get("next_page_token")
        if not token:
            return
        if token in seen:
            raise SourceError(f"{CONFIG_KEY}: {client.url(path)} repeated a page token; stopped")
        seen.add(token)


def experiment_ids(client: JsonClient, source: MlflowSource) -> list[str]:
    """The ids of the configured experiments, or of every experiment."""
    if not source.experiments:
        ids = []
        body = {"max_results": EXPERIMENTS_PAGE, "view_type": "ALL"}
        for page in _pages(client, EXPERIMENTS_SEARCH, body, "experiments"):
            ids += [
                str(e["experiment_id"])
                for e in page
                if isinstance(e, dict) and "experiment_id" in e
            ]
        return ids
    ids = []
    for index, name in enumerate(source.experiments):
        payload = client.get(EXPERIMENT_BY_NAME, {"experiment_name": name}, missing_ok=True)
        experiment = payload.get("experiment") if isinstance(payload, dict) else None
        if not isinstance(experiment, dict) or "experiment_id" not in experiment:
            raise SourceError(
                f"{CONFIG_KEY}.experiments[{index}]: experiment {name!r} was not found on "
                f"{source.tracking_uri}"
            )
        ids.append(str(experiment["experiment_id"]))
    return ids


def fetch_runs(
    client: JsonClient, source: MlflowSource, month: str, quarantine: Quarantine
) -> pa.Table:
    """The month's runs as landed rows."""
    start_ms, _ = month_bounds_ms(month)
    ids = experiment_ids(client, source)
    where = client.url(RUNS_SEARCH)
    rows: dict[str, dict] = {}
    if not ids:
        log.info("%s %s: the server has no experiments", SOURCE, month)
        return pa.Table.from_pylist([], schema=SCHEMA)
    body = {
        "experiment_ids": ids,
        "filter": runs_filter(month, source.max_run_days),
        "run_view_type": "ALL",
        "max_results": source.page_size,
        "order_by": ["attributes.start_time DESC"],
    }
    for page_number, page in enumerate(_pages(client, RUNS_SEARCH, body, "runs"), start=1):
        for run_number, run in enumerate(page, start=1):
            try:
                row = run_row(run, f"page {page_number}, run {run_number}", where)
            except SourceError as exc:
                quarantine.add(where, str(exc), raw=json.dumps(run, sort_keys=True, default=str))
                continue
            if row["end_time"] is not None and row["end_time"] < start_ms:
                continue  # ended before the month
            if row["run_id"] in rows:
                log.warning("%s: run %s repeated across pages; kept once", where, row["run_id"])
                continue
            rows[row["run_id"]] = row
    return pa.Table.from_pylist(
        sorted(rows.values(), key=lambda r: (r["start_time"], r["run_id"])), schema=SCHEMA
    )


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``mlflow/runs`` for ``month`` from the tracking server."""
    partition = month_partition(month)
    source = config.sources.mlflow
    assert source is not None and source.tracking_uri is not None
    quarantine = Quarantine(SOURCE, DATASET, partition)
    with client_for(source) as client:
        table = fetch_runs(client, source, month, quarantine)
        where = client.url(RUNS_SEARCH)
    record = land_table(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        inputs=[where],
        table=table,
        quarantine=quarantine,
    )
    return [record]
