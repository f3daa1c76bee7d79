"""ai_carbon_disclosure: freeze a year's annual disclosure, render its report.

Triggered by hand with param ``year``, and every 1 April for the year before
(by then the providers' carbon exports of its last months are in: they publish
one to three months late).

1. ``freeze_disclosure`` reads the *published* warehouse read-only and writes a
   new frozen version ``disclosures/<year>/v<N>/``: the annual lines as Parquet
   and CSV, the year's ``fct_emissions`` rows, a manifest with the factor sets,
   methodology version, data-as-of date and the sha256 of every file. Nothing
   there changes afterwards. When the figures equal the last version's it
   writes nothing and says "unchanged".
2. ``render_report`` writes the self-contained HTML report
   ``reports/ai_carbon_<year>.html``.
3. When a new version was frozen, ``build_warehouse`` / ``publish_warehouse``
   (one-slot pool ``warehouse_writer``, as in ai_carbon_nightly) rebuild the
   warehouse, so ``reporting.restatements`` compares it with the current facts
   now rather than after the next night.

This file only wires tasks: the work lives in ``transform.disclosure``,
``transform.report`` and ``transform.build``, imported inside the tasks.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager

from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

WAREHOUSE_POOL = "warehouse_writer"
# Celery workers on several hosts: every task of this DAG reads the warehouse
# or the frozen disclosures, so all go to the queue served by the worker that
# holds those volumes (README "Past one machine"). "default" is Airflow's own queue.
WAREHOUSE_QUEUE = os.environ.get("AI_CARBON_WAREHOUSE_QUEUE") or "default"
DISCLOSURES_ASSET = Asset("ai_carbon_disclosures")
WAREHOUSE_ASSET = Asset("ai_carbon_warehouse")


@contextmanager
def bad_input_fails_fast():
    """Nothing to freeze, a tampered version or a failing dbt test will not mend
    itself: fail now, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from transform.build import BuildError
    from transform.disclosure import DisclosureError

    try:
        yield
    except (DisclosureError, BuildError, FileNotFoundError) as error:
        raise AirflowFailException(str(error)) from error


@dag(
    dag_id="ai_carbon_disclosure",
    schedule=CronTriggerTimetable("0 6 1 4 *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": dt.timedelta(minutes=5),
        "queue": WAREHOUSE_QUEUE,
    },
    params={
        "year": Param(
            None,
            type=["null", "integer"],
            minimum=2000,
            maximum=2100,
            description="Year to freeze; empty: the year before the run's date.",
        ),
    },
    tags=["ai-carbon", "disclosure"],
    doc_md=__doc__,
)
def ai_carbon_disclosure():
    @task(outlets=[DISCLOSURES_ASSET])
    def freeze_disclosure(params=None, dag_run=None) -> dict:
        """Freeze the year from the published warehouse (a new version, or unchanged)."""
        from transform.disclosure import freeze

        year = (params or {}).get("year") or dag_run.run_after.year - 1
        with bad_input_fails_fast():
            result = freeze(int(year))
        print(result.describe())
        return {
            "year": result.year,
            "version": result.version,
            "status": result.status,
            "path": str(result.path),
        }

    @task
    def render_report(frozen: dict) -> str:
        """Write reports/ai_carbon_<year>.html from the published warehouse."""
        from transform.report import write_report

        with bad_input_fails_fast():
            return str(write_report(frozen["year"]))

    @task.short_circuit
    def new_version_frozen(frozen: dict) -> bool:
        """Rebuild only when there is a new version for the restatements to know."""
        return frozen["status"] == "frozen"

    @task(pool=WAREHOUSE_POOL)
    def build_warehouse(run_id=None) -> str:
        """dbt build on a private copy: reporting.restatements reads the new version."""
        from transform.build import build

        with bad_input_fails_fast():
            return str(build(run_id or "disclosure"))

    @task(pool=WAREHOUSE_POOL, outlets=[WAREHOUSE_ASSET])
    def publish_warehouse(built: str) -> str:
        """Atomically replace the published warehouse with the new build."""
        from pathlib import Path

        from transform.build import publish

        return str(publish(Path(built)))

    frozen = freeze_disclosure()
    render_report(frozen)
    built = build_warehouse()
    new_version_frozen(frozen) >> built
    publish_warehouse(built)


ai_carbon_disclosure()
