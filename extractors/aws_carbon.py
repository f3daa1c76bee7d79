"""AWS carbon emissions export (Data Exports ``CARBON_EMISSIONS``) → ``aws_carbon/emissions``.

Reads, for each export in the config's ``sources.aws_carbon``, every data file
of the month under
``aws/<bucket>/<prefix>/<export>/data/model_version=<v>/usage_period=YYYY-MM/``
(Parquet or CSV, any number of model versions: after a model change AWS
delivers both for a while, and both are kept), from the sources folder or,
with ``storage: s3``, from S3 through ``object_store``. ``model_version`` comes from
the folder when a file lacks the column. The five per-scope value/unit pairs
arrived in late 2025: older deliveries land them as nulls. Every unit must be
``MTCO2e`` (metric tonnes; GCP reports kilograms), so a unit change can never
slip through as a 1000x error.

Must never convert or aggregate emissions (staging does, with tests), never
read outside the sources folder, and never open the warehouse.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from extractors.aws_cur import (
    DOUBLE,
    STRING,
    TIMESTAMP,
    concat_files,
    conform_columns,
    empty_table,
    export_key,
    log_extra_columns,
    open_stores,
    read_data_file,
    relative,
)
from extractors.credentials import AwsCredentials
from extractors.errors import SourceError
from extractors.landing import LoadRecord, land, month_partition
from extractors.object_store import ObjectInfo, ObjectStore
from extractors.org_config import ExportLocation, OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "aws_carbon"
DATASET = "emissions"
UNIT = "MTCO2e"

REQUIRED_COLUMNS: dict[str, pa.DataType] = {
    "last_refresh_timestamp": TIMESTAMP,
    "location": STRING,
    "model_version": STRING,
    "payer_account_id": STRING,
    "usage_account_id": STRING,
    "product_code": STRING,
    "region_code": STRING,  # the column is required; its values may be null
    "usage_period_start": TIMESTAMP,
    "usage_period_end": TIMESTAMP,
    "total_lbm_emissions_value": DOUBLE,
    "total_lbm_emissions_unit": STRING,
    "total_mbm_emissions_value": DOUBLE,
    "total_mbm_emissions_unit": STRING,
}
SCOPE_PREFIXES = (
    "total_scope_1_emissions",
    "total_scope_2_lbm_emissions",
    "total_scope_2_mbm_emissions",
    "total_scope_3_lbm_emissions",
    "total_scope_3_mbm_emissions",
)
# Per-scope pairs: landed as nulls when the delivery has only the totals.
SCOPE_COLUMNS: dict[str, pa.DataType] = {
    f"{prefix}_{part}": type_
    for prefix in SCOPE_PREFIXES
    for part, type_ in (("value", DOUBLE), ("unit", STRING))
}
COLUMNS: dict[str, pa.DataType] = {**REQUIRED_COLUMNS, **SCOPE_COLUMNS}
UNIT_COLUMNS = tuple(name for name in COLUMNS if name.endswith("_unit"))
DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def _month_files(
    store: ObjectStore, location: ExportLocation, month: str
) -> list[tuple[ObjectInfo, str]]:
    """(object, model version from its folder) for every data file of the month."""
    data_prefix = export_key(location, "data") + "/"
    folder = re.compile(
        re.escape(data_prefix)
        + r"model_version=([^/]+)/usage_period="
        + re.escape(month)
        + r"/([^/]+)"
    )
    found = []
    for info in store.list(location.bucket, data_prefix):
        match = folder.fullmatch(info.key)
        if match is None:
            continue
        version, name = match.groups()
        if name.startswith((".", "_")):
            continue  # hidden and marker files (_SUCCESS) are not data
        if not name.lower().endswith(DATA_SUFFIXES):
            raise SourceError(
                f"aws/{location.bucket}/{info.key}: unsupported file type "
                "(expected .parquet, .csv or .csv.gz)"
            )
        found.append((info, version))
    return found


def _check_units(table: pa.Table, rel: str) -> None:
    for name in UNIT_COLUMNS:
        for unit in pc.unique(table[name]).to_pylist():
            if unit is not None and unit != UNIT:
                raise SourceError(
                    f"{rel}: column {name}: expected unit {UNIT!r} (metric tonnes), got {unit!r}"
                )


def _read(path: Path, version: str, rel: str) -> pa.Table:
    table = read_data_file(path, rel)
    if "model_version" not in table.column_names:
        table = table.append_column("model_version", pa.array([version] * table.num_rows, STRING))
    table = conform_columns(table, COLUMNS, rel, null_when_absent=SCOPE_COLUMNS)
    index = table.schema.get_field_index("model_version")
    table = table.set_column(
        index, "model_version", pc.coalesce(table["model_version"], pa.scalar(version))
    )
    _check_units(table, rel)
    return table


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: AwsCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``aws_carbon/emissions`` for ``month`` from every configured export
    (``credentials``: from ``sources.aws_carbon.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    carbon = config.sources.aws_carbon
    if carbon is None:
        log.info("%s %s: not configured (no sources.aws_carbon); skipped", SOURCE, month)
        return []
    files: list[tuple[Path, str]] = []
    for location, store in open_stores(settings.sources, carbon, credentials):
        found = _month_files(store, location, month)
        if not found:
            log.info(
                "%s %s: export %s not delivered (no %s/data/model_version=*/usage_period=%s/)",
                SOURCE,
                month,
                location.name,
                f"aws/{location.bucket}/{export_key(location)}",
                month,
            )
        files.extend((store.fetch(location.bucket, info), version) for info, version in found)
    if not files:
        return []

    def build_table() -> pa.Table:
        rels = [relative(path, settings.sources) for path, _ in files]
        tables = [
            _read(path, version, rel) for (path, version), rel in zip(files, rels, strict=True)
        ]
        table = concat_files(tables, rels) if tables else empty_table(COLUMNS)
        log_extra_columns(SOURCE, month, table, COLUMNS)
        return table

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path for path, _ in files],
        relative_to=settings.sources,
        build_table=build_table,
    )
    return [record]
