"""AWS FOCUS 1.2 export (Data Exports ``FOCUS_1_2_AWS``) → landing ``aws_focus/cost_line_items``.

The export is laid out like CUR 2.0: for each export in the config's
``sources.aws_focus``, the billing period's manifest
``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``
names the data files under ``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/``
(Parquet or gzip CSV), read from the sources folder or from S3
(``storage: s3``) exactly as ``aws_cur`` reads them: only the files the
manifest lists, the month replaced whole when the manifest changes.

Rows land with the same columns as ``focus/cost_line_items`` (FOCUS 1.2 names,
``provider_source`` = ``aws``); AWS's extensions ``x_Discounts``,
``x_Operation``, ``x_ServiceCode`` are kept as delivered. A separate landing
dataset from ``focus`` because each source owns its partitions; staging
unions the two.

Must never list the data folder instead of trusting the manifest, never drop a
negative (credit) row, and never open the warehouse.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from extractors.aws_cur import concat_files, fetch_manifests, log_extra_columns, relative
from extractors.credentials import AwsCredentials
from extractors.focus_files import (
    COLUMNS,
    PROVIDER_SOURCE,
    conform_focus,
    empty_focus_table,
    read_focus_file,
    rows_of_month,
)
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "aws_focus"
DATASET = "cost_line_items"
PROVIDER = "aws"


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: AwsCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``aws_focus/cost_line_items`` for the billing period ``month``
    (``credentials``: from ``sources.aws_focus.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    section = config.sources.aws_focus
    if section is None:
        log.info("%s %s: not configured (no sources.aws_focus); skipped", SOURCE, month)
        return []
    manifests, data_files = fetch_manifests(SOURCE, month, settings.sources, section, credentials)
    if not manifests:
        return []

    def build_table() -> pa.Table:
        tables, rels = [], []
        for path in data_files:
            rel = relative(path, settings.sources)
            table = conform_focus(read_focus_file(path, rel), rel, PROVIDER)
            tables.append(rows_of_month(table, month, rel, strict=True))
            rels.append(rel)
        table = concat_files(tables, rels) if tables else empty_focus_table()
        log_extra_columns(SOURCE, month, table, [*COLUMNS, PROVIDER_SOURCE])
        return table

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[*manifests, *data_files],
        relative_to=settings.sources,
        build_table=build_table,
    )
    return [record]
