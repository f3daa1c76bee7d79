"""FOCUS cost files from any provider → landing ``focus/cost_line_items``.

FOCUS (FinOps Open Cost and Usage Specification) is the billing format AWS,
Google, Microsoft and Oracle all export. For each provider folder named in the
config's ``sources.focus.providers``, reads the CSV (plain or gzip) and
Parquet files under ``focus/<provider>/``:

* ``focus/<provider>/BILLING_PERIOD=YYYY-MM/*`` — a delivery of that billing
  period (every row must belong to it; an empty folder lands an empty month);
* ``focus/<provider>/*`` — loose files, which may span months (the FinOps
  Foundation sample does): each month takes the rows whose
  ``BillingPeriodStart`` falls in it.

Versions 1.0 to 1.2 share the column names landed here; 1.3 names that
differ are renamed to them (``ServiceProviderName`` → ``ProviderName``;
``HostProviderName`` has no 1.2 counterpart and is kept as delivered). The
real-world quirks are tolerated: ``NULL`` and ``""`` in CSV are null,
``2024-09-01 00:00:00`` (no offset) is UTC, values keep their case as
delivered (``Usage-Based`` / ``Usage-based``: staging normalises), and any
column beyond the contract (``x_`` extensions, a non-FOCUS ``Id``) is kept.
``provider_source`` says which configured folder (or export) a row came from.

Also home of the FOCUS reader shared with ``aws_focus``. Must never drop or
net a negative row (credits, refunds), never convert currency, and never open
the warehouse.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from extractors.aws_cur import (
    DOUBLE,
    STRING,
    STRING_MAP,
    TIMESTAMP,
    concat_files,
    conform_columns,
    empty_table,
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

SOURCE = "focus"
DATASET = "cost_line_items"

# Present in every FOCUS 1.0+ dataset: a file without one of them is refused.
REQUIRED_COLUMNS: dict[str, pa.DataType] = {
    "BillingPeriodStart": TIMESTAMP,
    "BillingPeriodEnd": TIMESTAMP,
    "ChargePeriodStart": TIMESTAMP,
    "ChargePeriodEnd": TIMESTAMP,
    "ChargeCategory": STRING,
    "ProviderName": STRING,
    "ServiceName": STRING,
    "BilledCost": DOUBLE,
    "EffectiveCost": DOUBLE,
    "BillingCurrency": STRING,
}
# Conditional or newer columns: typed when delivered, null when absent.
OPTIONAL_COLUMNS: dict[str, pa.DataType] = {
    "ChargeClass": STRING,
    "ChargeDescription": STRING,
    "ChargeFrequency": STRING,
    "ServiceCategory": STRING,
    "BillingAccountId": STRING,
    "BillingAccountName": STRING,
    "SubAccountId": STRING,
    "SubAccountName": STRING,
    "RegionId": STRING,
    "RegionName": STRING,
    "AvailabilityZone": STRING,
    "ResourceId": STRING,
    "ResourceName": STRING,
    "ResourceType": STRING,
    "SkuId": STRING,
    "SkuPriceId": STRING,
    "PricingCategory": STRING,
    "ConsumedQuantity": DOUBLE,
    "ConsumedUnit": STRING,
    "PricingQuantity": DOUBLE,
    "PricingUnit": STRING,
    "ListCost": DOUBLE,
    "ListUnitPrice": DOUBLE,
    "ContractedCost": DOUBLE,
    "ContractedUnitPrice": DOUBLE,
    "CommitmentDiscountId": STRING,
    "CommitmentDiscountType": STRING,
    "CommitmentDiscountCategory": STRING,
    "CommitmentDiscountStatus": STRING,
    "CommitmentDiscountName": STRING,
    "CommitmentDiscountQuantity": DOUBLE,
    "CommitmentDiscountUnit": STRING,
    "CapacityReservationId": STRING,
    "CapacityReservationStatus": STRING,
    "ServiceSubcategory": STRING,
    "SkuMeter": STRING,
    "BillingAccountType": STRING,
    "SubAccountType": STRING,
    "InvoiceId": STRING,
    "PricingCurrency": STRING,
    "PublisherName": STRING,
    "InvoiceIssuerName": STRING,
    "Tags": STRING_MAP,
}
COLUMNS: dict[str, pa.DataType] = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
# FOCUS 1.3 name → the 1.0-1.2 name it lands under.
RENAMED_IN_1_3: dict[str, str] = {"ServiceProviderName": "ProviderName"}
PROVIDER_SOURCE = "provider_source"
DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz")
# Written beside the data by some exporters (Azure's manifest.json): not data.
IGNORED_SUFFIXES = (".json",)
CSV_NULLS = ("", "NULL")


def read_focus_file(path: Path, rel: str) -> pa.Table:
    """One FOCUS file: Parquet as typed, CSV with every column as text and
    ``NULL`` / ``""`` as null (types come from ``COLUMNS``, not from guessing)."""
    return read_data_file(path, rel, null_values=CSV_NULLS, quoted_nulls=True)


def _rename_1_3(table: pa.Table, rel: str) -> pa.Table:
    names = list(table.column_names)
    for new, old in RENAMED_IN_1_3.items():
        if new in names and old not in names:
            names[names.index(new)] = old
        elif new in names:
            log.info("%s: has both %s and %s; %s kept as delivered", rel, old, new, new)
    return table.rename_columns(names)


def _utc_text(table: pa.Table) -> pa.Table:
    """FOCUS timestamps are UTC: drop a ``Z`` / ``+00:00`` suffix from text so that
    files mixing ``2024-09-01 00:00:00`` and ``2024-09-01T00:00:00Z`` parse alike."""
    for name, type_ in COLUMNS.items():
        if type_ != TIMESTAMP or name not in table.column_names:
            continue
        column = table[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            stripped = pc.replace_substring_regex(column, r"(Z|[+-]00:?00)$", "")
            table = table.set_column(table.schema.get_field_index(name), name, stripped)
    return table


def conform_focus(table: pa.Table, rel: str, provider_source: str) -> pa.Table:
    """The contract's columns typed, ``provider_source``, then the rest as delivered."""
    table = _utc_text(_rename_1_3(table, rel))
    conformed = conform_columns(table, COLUMNS, rel, null_when_absent=OPTIONAL_COLUMNS)
    return conformed.add_column(
        len(COLUMNS),
        PROVIDER_SOURCE,
        pa.array([provider_source] * conformed.num_rows, STRING),
    )


def empty_focus_table() -> pa.Table:
    table = empty_table(COLUMNS)
    return table.add_column(len(COLUMNS), PROVIDER_SOURCE, pa.array([], STRING))


def billing_months(table: pa.Table, rel: str) -> pa.ChunkedArray:
    """``YYYY-MM`` of each row's ``BillingPeriodStart``; a null one names its row."""
    starts = table["BillingPeriodStart"]
    if starts.null_count:
        row = starts.is_null().to_pylist().index(True) + 1
        raise SourceError(f"{rel}: data row {row}: BillingPeriodStart is null (required)")
    return pc.strftime(starts, format="%Y-%m")


def rows_of_month(table: pa.Table, month: str, rel: str, strict: bool) -> pa.Table:
    """The rows billed in ``month``; ``strict`` refuses rows of another period."""
    months = billing_months(table, rel)
    in_month = pc.equal(months, month)
    if strict and not pc.all(in_month).as_py() and table.num_rows:
        row = in_month.to_pylist().index(False) + 1
        raise SourceError(
            f"{rel}: data row {row}: BillingPeriodStart in {months[row - 1].as_py()}, but the file "
            f"is delivered for billing period {month}"
        )
    return table.filter(in_month)


def _data_files(folder: Path, rel_root: str) -> list[Path]:
    files = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        name = path.name.lower()
        if name.endswith(IGNORED_SUFFIXES):
            continue
        if not name.endswith(DATA_SUFFIXES):
            raise SourceError(
                f"{rel_root}/{path.name}: unsupported file type "
                "(expected .parquet, .csv or .csv.gz)"
            )
        files.append(path)
    return files


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``focus/cost_line_items`` for the billing period ``month``."""
    partition = month_partition(month)
    focus = config.sources.focus
    if focus is None:
        log.info("%s %s: not configured (no sources.focus); skipped", SOURCE, month)
        return []
    # (file, provider folder, strict: a period folder's file must hold only that period)
    inputs: list[tuple[Path, str, bool]] = []
    for provider in focus.providers:
        root = settings.sources / "focus" / provider
        rel_root = relative(root, settings.sources) if root.exists() else f"focus/{provider}"
        period = root / f"BILLING_PERIOD={month}"
        inputs += [(p, provider, True) for p in _data_files(period, f"{rel_root}/{period.name}")]
        inputs += [(p, provider, False) for p in _data_files(root, rel_root)]
    has_period_folder = any(
        (settings.sources / "focus" / p / f"BILLING_PERIOD={month}").is_dir()
        for p in focus.providers
    )
    if not inputs and not has_period_folder:
        log.info("%s %s: not delivered (no files under focus/<provider>/)", SOURCE, month)
        return []
    unique = set(distinct_files([path for path, _, _ in inputs]))
    inputs = [entry for entry in inputs if entry[0] in unique]
    files = [path for path, _, _ in inputs]
    unchanged = landed_checksum(settings.landing, SOURCE, DATASET, partition) == checksum_files(
        files
    )

    def build_table() -> pa.Table:
        tables, rels = [], []
        for path, provider, strict in inputs:
            rel = relative(path, settings.sources)
            table = conform_focus(read_focus_file(path, rel), rel, provider)
            tables.append(rows_of_month(table, month, rel, strict))
            rels.append(rel)
        table = concat_files(tables, rels) if tables else empty_focus_table()
        log_extra_columns(SOURCE, month, table, [*COLUMNS, PROVIDER_SOURCE])
        return table

    if unchanged:
        table = None  # land() records "unchanged" without reading the files
    else:
        # Loose files are read for every month: a month none of their rows
        # belongs to is not delivered (an earlier partition is kept).
        table = build_table()
        if table.num_rows == 0 and not has_period_folder:
            log.info("%s %s: not delivered (no rows billed in %s)", SOURCE, month, month)
            return []
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
