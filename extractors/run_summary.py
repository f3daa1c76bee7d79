"""What a nightly run landed, set aside and left stale, in lines a person reads.

The DAG's extract tasks log one line per load (``describe_load``); its last
task logs the run's summary (``summarise``) and fails the run when a source
could not be refreshed, saying since when that source's landed data dates
(the freshness alert), while the warehouse is still rebuilt from what is
landed. Counts only: no row, value or credential ever goes into a line.

No Airflow import. Never opens the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from extractors.landing import QUARANTINE_FOLDER, read_ledger


def describe_load(source: str, load: dict) -> str:
    """``slurm jobs month=2025-01: 22 rows landed, 1 quarantined (see …)``."""
    where = f"{source} {load['dataset']} {load['partition']}"
    verb = "landed" if load["status"] == "loaded" else "held, source unchanged"
    line = f"{where}: {load['rows']} rows {verb}, {load.get('quarantined', 0)} quarantined"
    if load.get("quarantined"):
        folder = Path(QUARANTINE_FOLDER, source, load["dataset"], load["partition"])
        line += f" (see <landing>/{folder.as_posix()})"
    return line


@dataclass
class RunSummary:
    """The run's counts per source, and the sources it could not refresh."""

    lines: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # source -> why it was not refreshed and how old its landed data is
    stale: dict[str, str] = field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        return sum(c["quarantined"] for c in self.counts.values())


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def summarise(results: dict[str, list[dict] | None], landing: Path | str) -> RunSummary:
    """Summarise the extract results of one run (None: the source's task failed).

    A failed source's freshness is the time of its last load in the ledger,
    and its age is measured against the ledger's newest load (this run's), so
    the message is the same however late it is read.
    """
    summary = RunSummary()
    # Read only when a source failed: on S3 the ledger is one object per load.
    ledger = read_ledger(landing) if any(v is None for v in results.values()) else []
    newest = max((_when(r["loaded_at"]) for r in ledger), default=None)
    for source, loads in results.items():
        if loads is None:
            times = [_when(r["loaded_at"]) for r in ledger if r["source"] == source]
            if not times:
                since = "nothing of it was ever landed"
            else:
                last = max(times)
                days = (newest - last).total_seconds() / 86400 if newest else 0.0
                since = f"its landed data is from {last.isoformat()} ({days:.1f} days older)"
            summary.stale[source] = f"{source}: not refreshed (its task failed); {since}"
            summary.lines.append(summary.stale[source])
            continue
        counts = {
            "partitions": len(loads),
            "loaded": sum(1 for load in loads if load["status"] == "loaded"),
            "rows": sum(load["rows"] for load in loads),
            "quarantined": sum(load.get("quarantined", 0) for load in loads),
        }
        summary.counts[source] = counts
        if loads:
            summary.lines.append(
                f"{source}: {counts['partitions']} partition(s), {counts['loaded']} loaded, "
                f"{counts['rows']} rows, {counts['quarantined']} quarantined"
            )
    summary.lines.append(
        f"run: {sum(c['rows'] for c in summary.counts.values())} rows landed or held, "
        f"{summary.quarantined} quarantined, "
        f"{len(summary.stale)} source(s) not refreshed{': ' if summary.stale else ''}"
        f"{', '.join(summary.stale)}"
    )
    return summary
