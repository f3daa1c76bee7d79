"""Slurm accounting (``sacct -P``) → landing ``slurm/jobs``.

Reads, for each cluster in the config's ``sources.slurm.clusters``,
``slurm/<cluster>/sacct_YYYY-MM.txt``: the output of
``sacct -a -X -P --format=JobID,JobName,...`` for the month (a header line,
then ``|``-separated lines). Every value lands as the text sacct printed
(``CANCELLED by 1234``, ``End=Unknown``, array ``123_7`` and heterogeneous
``123+1`` job ids): interpreting them is staging's job, with tests.

Must never reinterpret or drop a line: a line with the wrong number of fields
stops the load with its file and line number. Never opens the warehouse.
``parse_sacct`` works on the text of a live ``sacct -P`` call just the same.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError
from extractors.landing import LoadRecord, land, month_partition
from extractors.org_config import OrgConfig
from extractors.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "slurm"
DATASET = "jobs"

# The --format the contract asks for; extra fields in the header land too.
REQUIRED_FIELDS = (
    "JobID",
    "JobName",
    "User",
    "Account",
    "Partition",
    "State",
    "Start",
    "End",
    "ElapsedRaw",
    "AllocTRES",
    "ConsumedEnergyRaw",
    "NodeList",
)
SACCT_FORMAT = ",".join(REQUIRED_FIELDS)


def _parse(text: str, source: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's field names, and (line number, fields) for every job line."""
    # split("\n") and not splitlines(): a job name may hold \x0b or \u2028.
    lines = text.split("\n")
    header_line = lines[0].rstrip("\r")
    if not header_line.strip():
        raise SourceError(f"{source}, line 1: expected a header of {SACCT_FORMAT}, got nothing")
    # `sacct -p` (lower case) ends every line with '|'; -P does not.
    trailing = header_line.endswith("|")
    header = (header_line[:-1] if trailing else header_line).split("|")
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if missing:
        raise SourceError(
            f"{source}, line 1: header lacks required field(s) {', '.join(missing)} "
            f"(expected sacct -P --format={SACCT_FORMAT})"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise SourceError(f"{source}, line 1: header names {', '.join(duplicated)} twice")
    jobs = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        if trailing and line.endswith("|"):
            line = line[:-1]
        values = line.split("|")
        if len(values) != len(header):
            raise SourceError(
                f"{source}, line {number}: expected {len(header)} '|'-separated fields, "
                f"got {len(values)}"
            )
        jobs.append((number, dict(zip(header, values, strict=True))))
    return header, jobs


def parse_sacct(text: str, source: str = "sacct output") -> list[dict[str, str]]:
    """The jobs of ``sacct -P`` output as dicts keyed by the header's field names.

    ``source`` names the text in error messages (a file path, or a cluster).
    """
    return [fields for _, fields in _parse(text, source)[1]]


def _read_cluster(path: Path, rel: str, cluster: str) -> tuple[list[str], list[dict]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"{rel}, line {line}: not UTF-8 ({exc.reason})") from None
    header, jobs = _parse(text, rel)
    rows = [
        {"cluster": cluster, **fields, "_source_file": rel, "_line_number": number}
        for number, fields in jobs
    ]
    return header, rows


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``slurm/jobs`` for ``month`` from every configured cluster's sacct file."""
    partition = month_partition(month)
    slurm = config.sources.slurm
    if slurm is None:
        log.info("%s %s: not configured (no sources.slurm); skipped", SOURCE, month)
        return []
    files = []
    for cluster in slurm.clusters:
        path = settings.sources / "slurm" / cluster / f"sacct_{month}.txt"
        rel = path.relative_to(settings.sources).as_posix()
        if path.is_file():
            files.append((cluster, path, rel))
        else:
            log.info("%s %s: cluster %s not delivered (no %s)", SOURCE, month, cluster, rel)
    if not files:
        return []

    def build_table() -> pa.Table:
        fields: list[str] = list(REQUIRED_FIELDS)
        rows: list[dict] = []
        for cluster, path, rel in files:
            header, cluster_rows = _read_cluster(path, rel, cluster)
            fields += [name for name in header if name not in fields]
            rows += cluster_rows
        schema = pa.schema(
            [
                ("cluster", pa.string()),
                *((name, pa.string()) for name in fields),
                ("_source_file", pa.string()),
                ("_line_number", pa.int64()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path for _, path, _ in files],
        relative_to=settings.sources,
        build_table=build_table,
    )
    return [record]
