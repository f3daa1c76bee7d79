"""Google Cloud Carbon Footprint export → landing ``gcp_carbon/carbon_footprint``.

Reads one JSON-lines file per usage month,
``gcp/<project>/<dataset>/carbon_footprint/usage_month=YYYY-MM.jsonl``, each
line one row of the BigQuery ``carbon_footprint`` table as the client library
returns it (same convention as the billing export; with ``client: bigquery``
the file is first replaced by the month as BigQuery holds it, by
``gcp_bigquery``), into the explicit Arrow
schema below. Values are kilograms CO2e, as Google reports them.

Must never convert units or drop a model version (the Data Transfer Service
may rewrite a month under a new ``carbon_model_version``: the month is
replaced whole), and never open the warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa

from extractors.credentials import GcpCredentials
from extractors.errors import SourceError
from extractors.gcp_billing import read_json_lines
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "gcp_carbon"
DATASET = "carbon_footprint"

STRING = pa.string()
DOUBLE = pa.float64()
BASES = pa.struct([("location_based", DOUBLE), ("market_based", DOUBLE)])

SCHEMA = pa.schema(
    [
        ("usage_month", pa.date32()),
        ("billing_account_id", STRING),
        ("project", pa.struct([("id", STRING), ("number", STRING)])),
        ("service", pa.struct([("id", STRING), ("description", STRING)])),
        ("location", pa.struct([("location", STRING), ("region", STRING)])),
        ("carbon_model_version", pa.int64()),
        (
            "carbon_footprint_kgCO2e",
            pa.struct([("scope1", DOUBLE), ("scope2", BASES), ("scope3", DOUBLE)]),
        ),
        ("carbon_footprint_total_kgCO2e", BASES),
    ]
)
# project.id is NULL for emissions outside any project; location.region for
# multi-region locations.
REQUIRED_FIELDS = frozenset(
    {
        "usage_month",
        "billing_account_id",
        "service",
        "service.id",
        "location",
        "location.location",
        "carbon_model_version",
        "carbon_footprint_kgCO2e",
        "carbon_footprint_total_kgCO2e",
        "carbon_footprint_total_kgCO2e.location_based",
        "carbon_footprint_total_kgCO2e.market_based",
    }
)


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: GcpCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``gcp_carbon/carbon_footprint`` for the usage month ``month``
    (``credentials``: from ``sources.gcp_carbon.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    carbon = config.sources.gcp_carbon
    if carbon is None:
        log.info("%s %s: not configured (no sources.gcp_carbon); skipped", SOURCE, month)
        return []
    path = (
        settings.sources
        / "gcp"
        / carbon.project
        / carbon.dataset
        / "carbon_footprint"
        / f"usage_month={month}.jsonl"
    )
    rel = path.relative_to(settings.sources).as_posix()
    if carbon.client == "bigquery":
        from extractors import gcp_bigquery  # the client library only when configured

        gcp_bigquery.refresh_carbon(carbon, month, path, credentials)
    if not path.is_file():
        log.info("%s %s: not delivered (no %s)", SOURCE, month, rel)
        return []
    first_day = dt.date.fromisoformat(f"{month}-01")

    def check_row(row: dict, where: str) -> None:
        if row["usage_month"] != first_day:
            raise SourceError(
                f"{where}, field usage_month: expected {first_day} (the file's month), "
                f"got {row['usage_month']}"
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
