"""Slurm accounting (``sacct -P``) → landing ``slurm/jobs``.

For each cluster in the config's ``sources.slurm.clusters``, reads the month's
``sacct -a -X -P --format=JobID,JobName,...`` output (allocations only: a
header line, then ``|``-separated lines) from one of two places:

* a file dropped by a login host, ``slurm/<cluster>/sacct_YYYY-MM.txt``; or
* when ``sources.slurm.command`` is set (an argv such as
  ``[ssh, login1, sacct]``), that command run here without a shell, with
  ``-a -X -P -S <month start> -E <month end> --format=...`` appended (and
  ``-M <cluster>`` when several clusters are configured), under a timeout.

Every value lands as the text sacct printed (``CANCELLED by 1234``,
``End=Unknown``, array ``123_7`` and heterogeneous ``123+1`` job ids):
interpreting them (GPU-hours from ``gres/gpu``, splitting jobs at midnight
and month ends) is staging's job, with tests.

A line that cannot be landed as printed (wrong number of fields, not UTF-8,
no job id) is quarantined with its file, line and reason, and the rest of the
month lands; a missing header or required field still stops the load. Never
reinterprets a value and never opens the warehouse. ``parse_sacct`` works on
the text of a live ``sacct -P`` call just the same.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from pathlib import Path

import pyarrow as pa

from extractors.errors import SourceError, SourceUnavailable
from extractors.landing import LoadRecord, Quarantine, land, land_table, month_partition
from extractors.org_config import OrgConfig, SlurmSource
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
# How much of a failed command's stderr an error message quotes.
STDERR_TAIL = 1000


def _parse(
    data: bytes, source: str, quarantine: Quarantine | None = None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's field names, and (line number, fields) for every job line.

    Bad job lines go to ``quarantine``; without one, the first bad line raises.
    """
    # Split on b"\n" only, not splitlines(): a job name may hold \x0b or \u2028.
    lines = data.split(b"\n")
    try:
        header_line = lines[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{source}, line 1: header is not UTF-8 ({exc.reason})") from None
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

    def bad(number: int, field: str | None, reason: str, raw: str) -> None:
        if quarantine is None:
            where = f"{source}, line {number}" + (f", field {field}" if field else "")
            raise SourceError(f"{where}: {reason}")
        quarantine.add(source, reason, line_number=number, field=field, raw=raw)

    jobs = []
    for number, raw_line in enumerate(lines[1:], start=2):
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            text = raw_line.decode("utf-8", "backslashreplace").rstrip("\r")
            bad(number, None, f"not UTF-8 ({exc.reason} at byte {exc.start})", text)
            continue
        if not line:
            continue
        if trailing and line.endswith("|"):
            line = line[:-1]
        values = line.split("|")
        if len(values) != len(header):
            bad(
                number,
                None,
                f"expected {len(header)} '|'-separated fields, got {len(values)}",
                line,
            )
            continue
        fields = dict(zip(header, values, strict=True))
        if not fields["JobID"].strip():
            bad(number, "JobID", "expected a job id, got nothing", line)
            continue
        jobs.append((number, fields))
    return header, jobs


def parse_sacct(
    text: str, source: str = "sacct output", quarantine: Quarantine | None = None
) -> list[dict[str, str]]:
    """The jobs of ``sacct -P`` output as dicts keyed by the header's field names.

    ``source`` names the text in messages (a file path, or a cluster). Bad
    lines go to ``quarantine`` if given; otherwise the first one raises.
    """
    return [fields for _, fields in _parse(text.encode("utf-8"), source, quarantine)[1]]


def sacct_arguments(month: str) -> list[str]:
    """What the extractor appends to the configured command for one month.

    Times are the month's bounds in UTC; the login host should run sacct with
    ``TZ=UTC`` (set here for a local command; over ssh, set it on the host).
    """
    start = dt.datetime.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return [
        "-a",
        "-X",
        "-P",
        "-S",
        start.strftime("%Y-%m-%dT%H:%M:%S"),
        "-E",
        end.strftime("%Y-%m-%dT%H:%M:%S"),
        f"--format={SACCT_FORMAT}",
    ]


def run_sacct(slurm: SlurmSource, cluster: str, month: str) -> bytes:
    """The month's sacct output for ``cluster`` from the configured command.

    A command that is not found is a config mistake (SourceError, no retry);
    a timeout or a non-zero exit (login host down, slurmdbd busy) is
    SourceUnavailable, so the task retries later. Nothing is landed either way.
    """
    assert slurm.command is not None
    argv = [*slurm.command, *sacct_arguments(month)]
    if len(slurm.clusters) > 1:
        argv += ["-M", cluster]
    shown = " ".join(argv)
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            timeout=slurm.timeout_seconds,
            check=False,
            env={**os.environ, "TZ": "UTC"},
        )
    except FileNotFoundError:
        raise SourceError(
            f"sources.slurm.command: {slurm.command[0]!r} was not found on this host's PATH"
        ) from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(
            f"{SOURCE} {month}, cluster {cluster}: `{shown}` did not finish within "
            f"{slurm.timeout_seconds:g}s (sources.slurm.timeout_seconds); nothing was landed"
        ) from None
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
        raise SourceUnavailable(
            f"{SOURCE} {month}, cluster {cluster}: `{shown}` exited with status "
            f"{result.returncode}; nothing was landed. stderr: {stderr or '(empty)'}"
        )
    return result.stdout


def _rows(
    data: bytes, rel: str, cluster: str, quarantine: Quarantine
) -> tuple[list[str], list[dict]]:
    header, jobs = _parse(data, rel, quarantine)
    rows = [
        {"cluster": cluster, **fields, "_source_file": rel, "_line_number": number}
        for number, fields in jobs
    ]
    return header, rows


def _table(outputs: list[tuple[str, bytes, str]], quarantine: Quarantine) -> pa.Table:
    """One table from (cluster, sacct output, its name) of every cluster."""
    fields: list[str] = list(REQUIRED_FIELDS)
    rows: list[dict] = []
    for cluster, data, rel in outputs:
        header, cluster_rows = _rows(data, rel, cluster, quarantine)
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


def extract(month: str, settings: Settings, config: OrgConfig) -> list[LoadRecord]:
    """Land ``slurm/jobs`` for ``month`` from every configured cluster's sacct output."""
    partition = month_partition(month)
    slurm = config.sources.slurm
    if slurm is None:
        log.info("%s %s: not configured (no sources.slurm); skipped", SOURCE, month)
        return []
    quarantine = Quarantine(SOURCE, DATASET, partition)
    if slurm.command is not None:
        # Every cluster is fetched before anything is landed: one failure lands nothing.
        outputs = [
            (cluster, run_sacct(slurm, cluster, month), f"sacct@{cluster}")
            for cluster in slurm.clusters
        ]
        table = _table(outputs, quarantine)
        record = land_table(
            settings.landing,
            source=SOURCE,
            dataset=DATASET,
            partition=partition,
            inputs=[rel for _, _, rel in outputs],
            table=table,
            quarantine=quarantine,
        )
        return [record]

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
        return _table([(c, Path(p).read_bytes(), rel) for c, p, rel in files], quarantine)

    record = land(
        settings.landing,
        source=SOURCE,
        dataset=DATASET,
        partition=partition,
        files=[path for _, path, _ in files],
        relative_to=settings.sources,
        build_table=build_table,
        quarantine=quarantine,
    )
    return [record]
