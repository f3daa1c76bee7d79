"""Azure Emissions Impact Dashboard export → ``azure_carbon/emissions_export``.

Reads the Emissions Impact Dashboard / Cloud for Sustainability
``EnrollmentEmission`` export files (CSV, plain or gzip, or
Parquet) under ``azure/emissions_export/`` in the sources folder: one row per
month x enrollment x subscription x service x region x scope, with
``dateKey`` (``yyyymm01``) and ``totalEmissions`` in **mtCO2e** (metric
tonnes, like AWS; the Carbon Optimization API reports kilograms). Files may
hold many months (the dashboard exports its whole history): each month takes
the rows whose ``dateKey`` falls in it; a month none of them covers is not
delivered (an earlier partition is kept).

Must never convert units or sum rows (staging does), and never open the
warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from extractors.aws_cur import (
    DOUBLE,
    STRING,
    concat_files,
    conform_columns,
    log_extra_columns,
    read_data_file,
    relative,
)
from extractors.errors import SourceError
from extractors.landing import (
    LoadRecord,
    checksum_files,
    distinct_files,
    land,
    landed_checksum,
    month_partition,
)
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "azure_carbon"
DATASET = "emissions_export"
FOLDER = ("azure", "emissions_export")
DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz")

COLUMNS: dict[str, pa.DataType] = {
    "dateKey": STRING,  # yyyymm01, checked and turned into usage_month
    "enrollmentId": STRING,
    "subscriptionId": STRING,
    "subscriptionName": STRING,
    "azureServiceName": STRING,
    "subService": STRING,
    "azureRegionName": STRING,
    "scope": STRING,
    "scopeId": pa.int64(),
    "totalEmissions": DOUBLE,  # mtCO2e
}
USAGE_MONTH = "usage_month"


def _files(folder: Path, rel_root: str) -> list[Path]:
    files = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        if not path.name.lower().endswith(DATA_SUFFIXES):
            raise SourceError(
                f"{rel_root}/{path.name}: unsupported file type "
                "(expected .parquet, .csv or .csv.gz)"
            )
        files.append(path)
    return files


def _usage_months(table: pa.Table, rel: str) -> pa.ChunkedArray:
    """``dateKey`` (``yyyymm01``, text or number) as the first day of its month."""
    keys = pc.cast(table["dateKey"], STRING)
    text = keys.to_pylist()
    for row, value in enumerate(text, start=1):
        if value is None or len(value) != 8 or not value.isdigit() or not value.endswith("01"):
            raise SourceError(f"{rel}: data row {row}: dateKey: expected yyyymm01, got {value!r}")
    parsed = pc.strptime(keys, format="%Y%m%d", unit="s", error_is_null=True)
    if parsed.null_count:
        row = parsed.is_null().to_pylist().index(True) + 1
        raise SourceError(f"{rel}: data row {row}: dateKey {text[row - 1]!r} is not a date")
    return pc.cast(parsed, pa.date32())


def _read(path: Path, rel: str, month: str) -> pa.Table:
    table = read_data_file(path, rel)
    if "dateKey" in table.column_names:
        table = table.set_column(
            table.schema.get_field_index("dateKey"), "dateKey", pc.cast(table["dateKey"], STRING)
        )
    table = conform_columns(table, COLUMNS, rel)
    months = _usage_months(table, rel)
    table = table.add_column(0, USAGE_MONTH, months)
    first_day = pa.scalar(dt.date.fromisoformat(f"{month}-01"), pa.date32())
    return table.filter(pc.equal(table[USAGE_MONTH], first_day))


def _refuse_overlapping_exports(table: pa.Table, month: str) -> None:
    """One file per enrollment and month: the dashboard exports its whole
    history, so an older export left beside a newer one would count the
    months they share twice."""
    files: dict[str, set[str]] = {}
    for enrollment, rel in zip(
        table["enrollmentId"].to_pylist(), table["_source_file"].to_pylist(), strict=True
    ):
        files.setdefault(enrollment, set()).add(rel)
    for enrollment, rels in files.items():
        if len(rels) > 1:
            raise SourceError(
                f"{', '.join(sorted(rels))} all hold {month} of enrollment {enrollment}: "
                "overlapping exports would count it twice; keep one file per enrollment "
                "and period (the newest)"
            )


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``azure_carbon/emissions_export`` for ``month``."""
    partition = month_partition(month)
    if config.sources.azure_emissions_export is None:
        log.info(
            "%s %s: not configured (no sources.azure_emissions_export); skipped", SOURCE, month
        )
        return []
    folder = settings.sources.joinpath(*FOLDER)
    files = distinct_files(_files(folder, "/".join(FOLDER)))
    if not files:
        log.info("%s %s: not delivered (no files in %s/)", SOURCE, month, "/".join(FOLDER))
        return []
    unchanged = landed_checksum(settings.landing, SOURCE, DATASET, partition) == checksum_files(
        files
    )
    table = None
    if not unchanged:
        rels = [relative(path, settings.sources) for path in files]
        table = concat_files([_read(p, r, month) for p, r in zip(files, rels, strict=True)], rels)
        _refuse_overlapping_exports(table, month)
        if table.num_rows == 0:
            log.info("%s %s: not delivered (no rows with dateKey %s01)", SOURCE, month, month)
            return []
        log_extra_columns(SOURCE, month, table, [USAGE_MONTH, *COLUMNS])
    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=files,
        relative_to=settings.sources,
        build_table=lambda: table,
    )
    return [record]
