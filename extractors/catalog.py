"""The list of sources and which months a nightly run refreshes for each.

Deliberately light (standard library only): the DAG file imports it at parse
time, so it must never import pyarrow, boto3 or a source module.
"""

from __future__ import annotations

import datetime as dt
import re

# Source name -> how many months before the run's month are re-checked every
# night. Billing exports redeliver a closed month for about two weeks; carbon
# exports are published one to three months late and rewrite earlier months
# after a model change. Unchanged inputs cost only a checksum (the ledger).
LOOKBACK_MONTHS: dict[str, int] = {
    "aws_cur": 1,
    "aws_carbon": 3,
    "aws_focus": 1,
    "gcp_billing": 1,
    "gcp_carbon": 2,
    "azure_carbon": 2,
    "azure_emissions_export": 3,
    "focus": 1,
    "slurm": 1,
    "mlflow": 1,
    "inference": 1,
    "dcgm": 0,  # Prometheus keeps weeks, not months: a re-read old month would land less
    "opencost": 0,  # reads the same Prometheus
    "nvidia_smi": 1,
    "codecarbon": 1,
}

SOURCE_NAMES: tuple[str, ...] = tuple(LOOKBACK_MONTHS)


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: str, delta: int) -> str:
    year, mon = (int(part) for part in month.split("-"))
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Inclusive list of YYYY-MM months from ``first`` to ``last``."""
    for value in (first, last):
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value or ""):
            raise ValueError(f"month must look like YYYY-MM, got {value!r}")
    if first > last:
        raise ValueError(f"from-month {first} is after to-month {last}")
    months, current = [], first
    while current <= last:
        months.append(current)
        current = shift_month(current, 1)
    return months


def months_for_run(
    source: str,
    interval_start: dt.datetime,
    interval_end: dt.datetime,
    from_month: str | None = None,
    to_month: str | None = None,
) -> list[str]:
    """Months a run refreshes for ``source``.

    An explicit ``from_month``..``to_month`` (the first load of a history)
    wins; otherwise the months the data interval touches, plus the source's
    look-back. Never depends on the wall clock, so reruns and backfills of
    the same interval do the same work.
    """
    if from_month or to_month:
        return months_between(from_month or to_month, to_month or from_month)
    last_instant = interval_end - dt.timedelta(microseconds=1)
    first = shift_month(month_of(interval_start.date()), -LOOKBACK_MONTHS[source])
    last = month_of(max(interval_start, last_instant).date())
    return months_between(first, last)
