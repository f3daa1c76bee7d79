"""ai_carbon_nightly: sources → landing → dbt → published warehouse, every night.

For the run's data interval, each source task lands the months it touches
(plus that source's look-back for late and redelivered exports) as Parquet
partitions under the landing folder; unchanged inputs are skipped by checksum.
Then one task builds the warehouse with ``dbt build`` on a private copy, in the
one-slot ``warehouse_writer`` pool (DuckDB has a single writer), and a next
task publishes it with an atomic rename, so analysts never read a half-built
warehouse and a failed build changes nothing.

A source that fails (bad input at once, an outage after its retries) keeps
its landed partitions as they were, and the rest of the pipeline still runs:
the warehouse is rebuilt from what is landed. The last task, ``summarise_run``,
logs what each source landed and quarantined, and fails the run when a source
was not refreshed, saying how old its landed data is (the freshness alert),
or when nothing was published.

A cloud source whose config names ``connection`` (an Airflow connection id)
reads with that connection's credentials: the extract task resolves it with
the Task SDK's ``Connection.get`` and hands the extractor a plain credentials
value (``extractors.credentials``), which never enters a log line, an XCom or
a param. Without ``connection`` the provider's default chain is used.

Params ``from_month`` / ``to_month`` (YYYY-MM) load a whole history in one run
(the first load, or ``make demo``); ``airflow backfill create`` replays nights.
``full_refresh`` rebuilds the incremental models from all of landing instead of
the partitions that changed (needed only when the way line items are read or
summed changes; factor and config changes reach every month without it).

This file only wires tasks: all work lives in ``extractors`` and ``transform``,
imported inside the tasks so that parsing stays cheap.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from contextlib import contextmanager

from airflow.sdk import Asset, Param, TriggerRule, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from extractors.catalog import SOURCE_NAMES

WAREHOUSE_POOL = "warehouse_writer"
# Celery workers on several hosts: the tasks that open the warehouse go to the
# queue served by the worker that holds the warehouse volume; extracts run on
# any worker (README "Past one machine"). "default" is Airflow's own queue.
WAREHOUSE_QUEUE = os.environ.get("AI_CARBON_WAREHOUSE_QUEUE") or "default"
LANDING_ASSETS = {name: Asset(f"ai_carbon_landing_{name}") for name in SOURCE_NAMES}
ORG_CONFIG_ASSET = Asset("ai_carbon_landing_org")
WAREHOUSE_ASSET = Asset("ai_carbon_warehouse")

log = logging.getLogger(__name__)


@contextmanager
def bad_input_fails_fast():
    """A malformed file, a bad config or a failing dbt test will not mend
    itself: fail now, without retries. Network errors, throttling and a busy
    writer lock still get the task's retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from extractors.errors import ConfigError, SourceError
    from transform.build import BuildError

    try:
        yield
    except (SourceError, ConfigError, BuildError) as error:
        raise AirflowFailException(str(error)) from error


def source_credentials(source: str, config):
    """The credentials of the connection the config names for ``source``, or None.

    Resolved through the Task SDK (``airflow.sdk.Connection.get``: environment
    variables ``AIRFLOW_CONN_<ID>``, the secrets backends, then the metadata
    DB through the execution API), which also masks the password in logs.
    """
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowFailException

    from extractors.credentials import connection_id, from_connection

    conn_id = connection_id(config, source)
    if conn_id is None:
        return None
    try:
        conn = Connection.get(conn_id)
    except Exception as error:  # not defined, or a backend refused: the message names no secret
        raise AirflowFailException(
            f"sources.{source}.connection: Airflow connection {conn_id!r} could not be read "
            f"({type(error).__name__})"
        ) from None
    with bad_input_fails_fast():
        return from_connection(
            source,
            conn_id,
            conn_type=conn.conn_type,
            login=conn.login,
            password=conn.password,
            extra=conn.extra_dejson,
        )


@dag(
    dag_id="ai_carbon_nightly",
    # A real one-day data interval (Airflow 3's "@daily" has none): each run
    # owns [midnight, next midnight) UTC, so backfills replay exact nights.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # Early enough for backfills of past disclosure years.
    start_date=dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
    params={
        "from_month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$"),
        "to_month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$"),
        # Rebuild the incremental models from all of landing, not only the
        # partitions that changed.
        "full_refresh": Param(False, type="boolean"),
    },
    tags=["ai-carbon", "nightly"],
    doc_md=__doc__,
)
def ai_carbon_nightly():
    @task(outlets=[ORG_CONFIG_ASSET])
    def load_org_config() -> int:
        """Validate the organisation config and land its tables (all or nothing)."""
        from extractors.org_config import land_config, load_config
        from extractors.settings import Settings

        settings = Settings.from_env()
        with bad_input_fails_fast():
            records = land_config(load_config(settings.config), settings.landing)
        return len(records)

    @task
    def extract(source: str, data_interval_start=None, data_interval_end=None, params=None):
        """Land every month this run refreshes for one source; return the loads."""
        from extractors.__main__ import SOURCES
        from extractors.catalog import months_for_run
        from extractors.org_config import load_config
        from extractors.run_summary import describe_load
        from extractors.settings import Settings

        settings = Settings.from_env()
        with bad_input_fails_fast():
            config = load_config(settings.config)
        credentials = source_credentials(source, config)
        # Passed only when the config names a connection: the other extractors take none.
        by_connection = {"credentials": credentials} if credentials is not None else {}
        months = months_for_run(
            source,
            data_interval_start,
            data_interval_end,
            (params or {}).get("from_month"),
            (params or {}).get("to_month"),
        )
        loads = []
        for month in months:
            with bad_input_fails_fast():
                records = SOURCES[source](month, settings, config, **by_connection)
            for record in records:
                load = {
                    "dataset": record.dataset,
                    "partition": record.partition,
                    "status": record.status,
                    "rows": record.rows,
                    "quarantined": getattr(record, "quarantined", 0),
                }
                log.info(describe_load(source, load))
                loads.append(load)
        return loads

    # Built when every extract is done and one at least succeeded: one source
    # down must not hold back every other source's figures.
    @task(
        pool=WAREHOUSE_POOL,
        queue=WAREHOUSE_QUEUE,
        outlets=[WAREHOUSE_ASSET],
        trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
    )
    def build_warehouse(run_id=None, params=None) -> str:
        """dbt build (seeds, models, tests) on a private copy of the published
        warehouse: incremental models load only the landing partitions that changed."""
        from transform.build import build

        full_refresh = bool((params or {}).get("full_refresh"))
        with bad_input_fails_fast():
            return str(build(run_id or "manual", full_refresh=full_refresh))

    @task(pool=WAREHOUSE_POOL, queue=WAREHOUSE_QUEUE)
    def publish_warehouse(built: str) -> str:
        """Atomically replace the published warehouse with the new build."""
        from pathlib import Path

        from transform.build import publish

        return str(publish(Path(built)))

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def summarise_run(ti=None) -> dict:
        """Log what the run landed and quarantined; fail it if a source or the publish did."""
        from airflow.sdk.exceptions import AirflowFailException

        from extractors.run_summary import summarise
        from extractors.settings import Settings

        results = {name: ti.xcom_pull(task_ids=f"extract_{name}") for name in SOURCE_NAMES}
        summary = summarise(results, Settings.from_env().landing)
        for line in summary.lines:
            log.info(line)
        problems = list(summary.stale.values())
        if ti.xcom_pull(task_ids="publish_warehouse") is None:
            problems.append("the warehouse was not published (see build_warehouse)")
        if problems:
            raise AirflowFailException("; ".join(problems))
        return {"quarantined": summary.quarantined, "sources": summary.counts}

    config_loaded = load_org_config()
    extracts = [
        extract.override(task_id=f"extract_{name}", outlets=[LANDING_ASSETS[name]])(name)
        for name in SOURCE_NAMES
    ]
    built = build_warehouse()
    config_loaded >> extracts
    extracts >> built
    published = publish_warehouse(built)
    [*extracts, published] >> summarise_run()


ai_carbon_nightly()
