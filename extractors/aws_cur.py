"""AWS Cost and Usage Report 2.0 → landing ``aws_cur/line_items``.

Reads, for each export in the config's ``sources.aws_cur``, the billing
period's manifest
``aws/<bucket>/<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``
and exactly the data files its ``dataFiles`` list names (Parquet or gzip CSV
chunks, ``s3://bucket/key`` read from ``aws/bucket/key`` under the sources
folder, or with ``storage: s3`` from S3 itself, mirrored there first: see
``object_store``). Chunks of all exports land as one partition per month,
written part by part (``PART_ROWS`` rows at a time, never the month in memory);
the checksum covers the manifests and the chunks, so a redelivery (a new
manifest) replaces the whole billing period, fewer chunks included.

Must never list the data folder instead of trusting the manifest (an
in-progress refresh or chunks of an earlier execution would be read), never
read outside the sources folder, and never open the warehouse. A month without
a manifest is not delivered yet: nothing is landed.

Also home of the helpers that read and type-check AWS Data Exports files,
shared with ``aws_carbon``.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from extractors.credentials import AwsCredentials
from extractors.errors import SourceError
from extractors.landing import LoadRecord, TableParts, land, month_partition
from extractors.object_store import ObjectInfo, ObjectStore, checked_key, store_for
from extractors.org_config import ExportLocation, ExportSource, OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "aws_cur"
DATASET = "line_items"

TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING = pa.string()
DOUBLE = pa.float64()
STRING_MAP = pa.map_(pa.string(), pa.string())

# The CUR 2.0 columns the warehouse relies on, with the type each lands as.
# Every other delivered column is kept as delivered.
REQUIRED_COLUMNS: dict[str, pa.DataType] = {
    "bill_billing_period_start_date": TIMESTAMP,
    "bill_payer_account_id": STRING,
    "identity_time_interval": STRING,
    "line_item_usage_start_date": TIMESTAMP,
    "line_item_usage_end_date": TIMESTAMP,
    "line_item_usage_account_id": STRING,
    "line_item_line_item_type": STRING,
    "line_item_product_code": STRING,
    "line_item_usage_type": STRING,
    "line_item_operation": STRING,
    "line_item_usage_amount": DOUBLE,
    "pricing_unit": STRING,
    "line_item_unblended_cost": DOUBLE,
    "line_item_currency_code": STRING,
    "line_item_resource_id": STRING,
    "product_instance_type": STRING,
    "product_region_code": STRING,
    "resource_tags": STRING_MAP,
}
# Delivered only by exports created with INCLUDE_RESOURCES: null when absent.
NULL_WHEN_ABSENT = frozenset({"line_item_resource_id"})
# Rows of a Parquet data file read, conformed and written at a time (each a
# row group of the landed file): what bounds the extractor's memory, about
# 1.3 GB with the full CUR 2.0 column set (1M rows: 3.4 GB; a whole month of
# 8M rows: 9.8 GB).
PART_ROWS = 256 * 1024


# --- reading Data Exports files (shared with aws_carbon) ----------------------


def relative(path: Path, sources: Path) -> str:
    """The path as ``_source_file`` and messages show it: relative, with '/'."""
    return path.relative_to(sources).as_posix()


def read_data_file(
    path: Path, rel: str, null_values: tuple[str, ...] = ("",), quoted_nulls: bool = False
) -> pa.Table:
    """One data file: Parquet as typed, CSV (plain or gzip) with every column as text.

    CSV values stay text here so that types come from one place, the dataset's
    column list (``conform_columns``), rather than from per-chunk guessing.
    ``null_values`` (and, with ``quoted_nulls``, their quoted forms) read as null.
    """
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pq.ParquetFile(path).read()
        if name.endswith((".csv", ".csv.gz")):
            return _read_csv_as_text(path, rel, null_values, quoted_nulls)
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{rel}: cannot be read: {exc}") from None
    raise SourceError(f"{rel}: unsupported file type (expected .parquet, .csv or .csv.gz)")


def read_data_schema(path: Path, rel: str) -> pa.Schema:
    """A data file's schema as ``read_data_file`` reads it, without its rows."""
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pq.read_schema(path)
        if name.endswith((".csv", ".csv.gz")):
            return pa.schema((column, STRING) for column in _csv_header(path, rel))
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(f"{rel}: cannot be read: {exc}") from None
    raise SourceError(f"{rel}: unsupported file type (expected .parquet, .csv or .csv.gz)")


def _csv_header(path: Path, rel: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise SourceError(f"{rel}: empty file, expected a CSV header line")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise SourceError(f"{rel}: header names column(s) {', '.join(duplicates)} twice")
    return header


def _read_csv_as_text(
    path: Path, rel: str, null_values: tuple[str, ...], quoted_nulls: bool
) -> pa.Table:
    header = _csv_header(path, rel)
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, STRING),
            null_values=list(null_values),
            strings_can_be_null=True,
            quoted_strings_can_be_null=quoted_nulls,
        ),
    )


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps of any unit as UTC; text with an offset, or without one (read as UTC)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            return pc.cast(column, TIMESTAMP)
        except pa.ArrowInvalid:
            return pc.cast(pc.cast(column, pa.timestamp("us")), TIMESTAMP)
    if (
        pa.types.is_timestamp(column.type)
        or pa.types.is_date(column.type)
        or pa.types.is_null(column.type)
    ):
        return pc.cast(column, TIMESTAMP)
    raise pa.ArrowTypeError(f"cannot read {column.type} as a timestamp")


def _json_maps(column: pa.ChunkedArray, rel: str, name: str, first_row: int = 1) -> pa.Array:
    """CSV deliveries write map columns as JSON objects: parse them into a map.

    Each distinct text is parsed once (a month repeats a few dozen tag sets
    over millions of rows) and the maps are taken back to the rows.
    """
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    texts = encoded.dictionary.to_pylist()
    maps, bad = [], []
    for position, text in enumerate(texts):
        if text is None or text == "":
            maps.append(None)
            continue
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            bad.append(position)
            maps.append(None)
            continue
        maps.append([(str(k), None if v is None else str(v)) for k, v in parsed.items()])
    if bad:
        row = pc.index(pc.is_in(encoded.indices, pa.array(bad, encoded.indices.type)), True)
        text = texts[encoded.indices[row.as_py()].as_py()]
        raise SourceError(
            f"{rel}: column {name}, data row {row.as_py() + first_row}: expected a JSON "
            f"object of strings, got {text[:60]!r}"
        )
    return pc.take(pa.array(maps, type=STRING_MAP), encoded.indices)


def _cast(column: pa.ChunkedArray, target: pa.DataType, rel: str, name: str, first_row: int = 1):
    if column.type == target:
        return column
    actual = column.type
    try:
        if pa.types.is_timestamp(target):
            return _timestamps(column)
        if pa.types.is_map(target):
            if pa.types.is_string(actual) or pa.types.is_large_string(actual):
                return _json_maps(column, rel, name, first_row)
            if pa.types.is_map(actual):
                return pc.cast(column, target)
        elif pa.types.is_floating(target):
            if not (pa.types.is_boolean(actual) or pa.types.is_temporal(actual)):
                return pc.cast(column, target)
        elif pa.types.is_string(target):
            if (
                pa.types.is_string(actual)
                or pa.types.is_large_string(actual)
                or pa.types.is_dictionary(actual)
                or pa.types.is_integer(actual)
                or pa.types.is_null(actual)
            ):
                return pc.cast(column, target)
        else:
            return pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SourceError(f"{rel}: column {name}: expected {target}, got {exc}") from None
    raise SourceError(f"{rel}: column {name}: expected {target}, got a column of type {actual}")


def _refuse_non_finite(column: pa.ChunkedArray, rel: str, name: str, first_row: int = 1) -> None:
    """NaN and infinity are not amounts: one would turn every sum over it into NaN."""
    finite = pc.is_finite(column)
    if finite.null_count == len(column) or pc.all(finite).as_py() is not False:
        return
    row = pc.index(finite, False).as_py()
    raise SourceError(
        f"{rel}: column {name}, data row {row + first_row}: expected a finite number, "
        f"got {column[row].as_py()}"
    )


def conform_columns(
    table: pa.Table,
    columns: dict[str, pa.DataType],
    rel: str,
    null_when_absent: Iterable[str] = (),
    first_row: int = 1,
) -> pa.Table:
    """The dataset's columns first, each checked and cast to its landing type,
    then every other delivered column as delivered, then ``_source_file``.

    ``first_row``: the data row of the file that ``table`` starts at (a file
    read batch by batch), so that messages name the row in the file."""
    null_when_absent = frozenset(null_when_absent)
    conformed = {}
    for name, target in columns.items():
        if name in table.column_names:
            conformed[name] = _cast(table[name], target, rel, name, first_row)
            if pa.types.is_floating(target):
                _refuse_non_finite(conformed[name], rel, name, first_row)
        elif name in null_when_absent:
            conformed[name] = pa.nulls(table.num_rows, target)
        else:
            raise SourceError(f"{rel}: required column {name} is missing (expected {target})")
    for name in table.column_names:
        if name not in conformed:
            conformed[name] = table[name]
    conformed["_source_file"] = pa.nulls(table.num_rows, STRING).fill_null(rel)
    return pa.table(conformed)


def conformed_schema(
    path: Path,
    rel: str,
    columns: dict[str, pa.DataType],
    null_when_absent: Iterable[str] = (),
) -> pa.Schema:
    """The schema ``conform_columns`` gives the file, from its footer or header only."""
    return conform_columns(
        read_data_schema(path, rel).empty_table(), columns, rel, null_when_absent
    ).schema


def read_data_parts(
    path: Path,
    rel: str,
    columns: dict[str, pa.DataType],
    null_when_absent: Iterable[str] = (),
    batch_rows: int | None = None,
) -> Iterator[pa.Table]:
    """One data file, conformed, ``batch_rows`` (PART_ROWS) rows at a time
    (Parquet; a CSV file whole)."""
    if not rel.lower().endswith(".parquet"):
        yield conform_columns(read_data_file(path, rel), columns, rel, null_when_absent)
        return
    first_row = 1
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows or PART_ROWS)
        for batch in batches:
            table = pa.Table.from_batches([batch])
            yield conform_columns(table, columns, rel, null_when_absent, first_row)
            first_row += table.num_rows
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise SourceError(f"{rel}: cannot be read: {exc}") from None


def unified_schema(schemas: list[pa.Schema], rels: list[str]) -> pa.Schema:
    """The schema ``concat_files`` gives the files' tables, from their schemas."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceError(f"files {', '.join(rels)} disagree on a column's type: {exc}") from None


def concat_files(tables: list[pa.Table], rels: list[str]) -> pa.Table:
    """One table from many files, promoting types (a column one file lacks is null)."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceError(f"files {', '.join(rels)} disagree on a column's type: {exc}") from None


def empty_table(columns: dict[str, pa.DataType]) -> pa.Table:
    schema = pa.schema([*columns.items(), ("_source_file", STRING)])
    return schema.empty_table()


def log_extra_columns(
    source: str, month: str, table: pa.Table | pa.Schema, known: Iterable[str]
) -> None:
    known = {*known, "_source_file"}
    names = table.names if isinstance(table, pa.Schema) else table.column_names
    extra = [name for name in names if name not in known]
    if extra:
        log.info(
            "%s %s: %d column(s) beyond the contract kept as delivered: %s",
            source,
            month,
            len(extra),
            ", ".join(extra),
        )


# --- the CUR manifest ---------------------------------------------------------


def parse_s3_uri(uri: object, manifest_rel: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key), refusing keys that could escape the bucket folder."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise SourceError(f"{manifest_rel}: dataFiles entry {uri!r} is not an s3:// URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        checked_key(bucket, key)
    except SourceError:
        raise SourceError(
            f"{manifest_rel}: dataFiles entry {uri!r} is not a plain s3://bucket/key URI "
            "(absolute keys and '..' are refused)"
        ) from None
    return bucket, key


def manifest_data_files(manifest: Path, sources: Path, store: ObjectStore) -> list[Path]:
    """The data files a manifest lists, each checked to exist before any is read."""
    rel = relative(manifest, sources)
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{rel}: not valid JSON: {exc}") from None
    uris = document.get("dataFiles") if isinstance(document, dict) else None
    if not isinstance(uris, list):
        raise SourceError(f"{rel}: expected a 'dataFiles' list of s3:// URIs")
    objects: list[tuple[str, str]] = []
    for uri in uris:
        entry = parse_s3_uri(uri, rel)
        if entry in objects:
            log.warning("%s lists %s twice; reading it once", rel, uri)
            continue
        objects.append(entry)
    infos: dict[tuple[str, str], ObjectInfo | None] = {}
    for bucket in dict.fromkeys(bucket for bucket, _ in objects):
        keys = [key for b, key in objects if b == bucket]
        infos.update({(bucket, key): info for key, info in store.stat(bucket, keys).items()})
    for bucket, key in objects:
        if infos[(bucket, key)] is None:
            raise SourceError(
                f"{rel} lists data file {relative(store.local_path(bucket, key), sources)}, "
                "which is missing (delivery incomplete: nothing landed, the previous partition "
                "is kept)"
            )
    return [store.fetch(bucket, infos[(bucket, key)]) for bucket, key in objects]


def export_key(location: ExportLocation, *parts: str) -> str:
    """The S3 key of ``parts`` under an export: ``<prefix>/<export>/<parts...>``."""
    return "/".join(part for part in (location.prefix, location.name, *parts) if part)


def open_stores(
    sources: Path, section: ExportSource, credentials: AwsCredentials | None = None
) -> list[tuple[ExportLocation, ObjectStore]]:
    """Each configured export with the store that reads it (one per role and region);
    ``credentials`` from the section's Airflow connection, None for the default chain."""
    stores: dict[tuple[str | None, str | None], ObjectStore] = {}
    opened = []
    for location in section.locations:
        identity = (location.role_arn, location.region)
        if identity not in stores:
            stores[identity] = store_for(
                sources,
                section.storage,
                region=location.region,
                profile=section.profile,
                role_arn=location.role_arn,
                endpoint_url=section.endpoint_url,
                max_attempts=section.max_attempts,
                credentials=credentials,
            )
        opened.append((location, stores[identity]))
    return opened


def fetch_manifests(
    source: str,
    month: str,
    sources: Path,
    section: ExportSource,
    credentials: AwsCredentials | None = None,
) -> tuple[list[Path], list[Path]]:
    """(manifests, data files) of every export delivered for the billing period ``month``."""
    manifests: list[Path] = []
    data_files: list[Path] = []
    for location, store in open_stores(sources, section, credentials):
        key = export_key(
            location, "metadata", f"BILLING_PERIOD={month}", f"{location.name}-Manifest.json"
        )
        info = store.stat(location.bucket, [key])[key]
        if info is None:
            log.info(
                "%s %s: export %s not delivered (no %s)",
                source,
                month,
                location.name,
                relative(store.local_path(location.bucket, key), sources),
            )
            continue
        manifest = store.fetch(location.bucket, info)
        manifests.append(manifest)
        data_files.extend(manifest_data_files(manifest, sources, store))
    return manifests, data_files


def extract(
    month: str,
    settings: Settings,
    config: OrgConfig,
    credentials: AwsCredentials | None = None,
) -> list[LoadRecord]:
    """Land ``aws_cur/line_items`` for ``month`` from every configured export
    (``credentials``: from ``sources.aws_cur.connection``, resolved by the DAG)."""
    partition = month_partition(month)
    cur = config.sources.aws_cur
    if cur is None:
        log.info("%s %s: not configured (no sources.aws_cur); skipped", SOURCE, month)
        return []
    manifests, data_files = fetch_manifests(SOURCE, month, settings.sources, cur, credentials)
    if not manifests:
        return []

    def build_table() -> TableParts:
        # File by file, batch by batch: a month of 8M line items is never
        # held whole, only PART_ROWS of it (the ParquetWriter's row group).
        rels = [relative(path, settings.sources) for path in data_files]
        schemas = [
            conformed_schema(path, rel, REQUIRED_COLUMNS, NULL_WHEN_ABSENT)
            for path, rel in zip(data_files, rels, strict=True)
        ]
        if not schemas:
            return TableParts(empty_table(REQUIRED_COLUMNS).schema, [])
        schema = unified_schema(schemas, rels)
        log_extra_columns(SOURCE, month, schema, REQUIRED_COLUMNS)
        parts = (
            part
            for path, rel in zip(data_files, rels, strict=True)
            for part in read_data_parts(path, rel, REQUIRED_COLUMNS, NULL_WHEN_ABSENT)
        )
        return TableParts(schema, parts)

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
