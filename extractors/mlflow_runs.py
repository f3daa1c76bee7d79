"""MLflow tracking runs → landing ``mlflow/runs``.

Reads ``mlflow/runs_YYYY-MM.json``: the list of response pages of
``POST /api/2.0/mlflow/runs/search`` for the month
(``[{"runs": [{"info": {...}, "data": {...}}], "next_page_token": ...}, ...]``;
an empty page has no ``runs``), and flattens each run to one row: the ``info``
fields, and ``tags`` and ``params`` as key/value lists. Metrics are not landed.

When ``sources.mlflow.tracking_uri`` is set, the runs come from the tracking
server's REST API instead (``mlflow_api``), landing the same schema.

Must never land a run twice (a run repeated across pages is kept once), never
land a run without its id, experiment, status or start time, and never open
the warehouse.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "mlflow"
DATASET = "runs"

STRING = pa.string()
KEY_VALUES = pa.list_(pa.struct([("key", STRING), ("value", STRING)]))
SCHEMA = pa.schema(
    [
        ("run_id", STRING),
        ("experiment_id", STRING),
        ("run_name", STRING),
        ("status", STRING),
        ("start_time", pa.int64()),  # epoch milliseconds
        ("end_time", pa.int64()),  # epoch milliseconds; null while running
        ("lifecycle_stage", STRING),
        ("tags", KEY_VALUES),
        ("params", KEY_VALUES),
        ("_source_file", STRING),
    ]
)
REQUIRED_INFO = ("run_id", "experiment_id", "status", "start_time", "lifecycle_stage")
# Older servers leave info.run_name empty and keep the name in this tag.
RUN_NAME_TAG = "mlflow.runName"


def _text(value: Any, where: str, field: str, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise SourceError(f"{where}: field {field} is required, but missing or empty")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SourceError(f"{where}: field {field}: expected a string, got {value!r}")
    return str(value)


def _millis(value: Any, where: str, field: str, required: bool) -> int | None:
    """Epoch milliseconds: a JSON number, or a string of digits (protobuf int64 style)."""
    if value is None:
        if required:
            raise SourceError(f"{where}: field {field} is required, but missing")
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise SourceError(f"{where}: field {field}: expected epoch milliseconds, got {value!r}")


def _key_values(value: Any, where: str, field: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f"{where}: field {field}: expected a list, got {type(value).__name__}")
    pairs = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise SourceError(f"{where}: field {field}[{index}]: expected {{key, value}}")
        pairs.append({"key": item["key"], "value": _text(item.get("value"), where, field, False)})
    return pairs


def run_row(run: Any, where: str, rel: str) -> dict:
    """One runs/search run as a landed row; SourceError (naming ``where``) if it cannot be."""
    if not isinstance(run, dict) or not isinstance(run.get("info"), dict):
        raise SourceError(f"{where}: expected a run with an 'info' object")
    info = run["info"]
    data = run.get("data") or {}
    if not isinstance(data, dict):
        raise SourceError(f"{where}: field data: expected an object")
    tags = _key_values(data.get("tags"), where, "data.tags")
    row = {
        "run_id": _text(info.get("run_id") or info.get("run_uuid"), where, "info.run_id", True),
        "experiment_id": _text(info.get("experiment_id"), where, "info.experiment_id", True),
        "run_name": _text(info.get("run_name"), where, "info.run_name", False),
        "status": _text(info.get("status"), where, "info.status", True),
        "start_time": _millis(info.get("start_time"), where, "info.start_time", True),
        "end_time": _millis(info.get("end_time"), where, "info.end_time", False),
        "lifecycle_stage": _text(info.get("lifecycle_stage"), where, "info.lifecycle_stage", True),
        "tags": tags,
        "params": _key_values(data.get("params"), where, "data.params"),
        "_source_file": rel,
    }
    if row["run_name"] is None:
        row["run_name"] = next((t["value"] for t in tags if t["key"] == RUN_NAME_TAG), None)
    return row


def read_runs(path: Path, rel: str) -> pa.Table:
    try:
        pages = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{rel}, line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{rel}: not UTF-8 ({exc.reason})") from None
    if not isinstance(pages, list):
        raise SourceError(f"{rel}: expected a list of runs/search response pages")
    rows: dict[str, dict] = {}
    for page_number, page in enumerate(pages, start=1):
        if not isinstance(page, dict) or not isinstance(page.get("runs", []), list):
            raise SourceError(f"{rel}, page {page_number}: expected an object with a 'runs' list")
        for run_number, run in enumerate(page.get("runs", []), start=1):
            where = f"{rel}, page {page_number}, run {run_number}"
            row = run_row(run, where, rel)
            if row["run_id"] in rows:
                log.warning("%s: run %s repeated; kept once", where, row["run_id"])
                continue
            rows[row["run_id"]] = row
    return pa.Table.from_pylist(list(rows.values()), schema=SCHEMA)


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``mlflow/runs`` for ``month``."""
    partition = month_partition(month)
    if config.sources.mlflow is None:
        log.info("%s %s: not configured (no sources.mlflow); skipped", SOURCE, month)
        return []
    if config.sources.mlflow.tracking_uri is not None:
        from extractors import mlflow_api  # imports this module's schema

        return mlflow_api.extract(month, settings, config)
    path = settings.sources / "mlflow" / f"runs_{month}.json"
    rel = path.relative_to(settings.sources).as_posix()
    if not path.is_file():
        log.info("%s %s: not delivered (no %s)", SOURCE, month, rel)
        return []
    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path],
        relative_to=settings.sources,
        build_table=lambda: read_runs(path, rel),
    )
    return [record]
