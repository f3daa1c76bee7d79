"""Which months a nightly run refreshes: from the data interval, never the clock."""

import datetime as dt

import pytest

from extractors.catalog import LOOKBACK_MONTHS, months_between, months_for_run


def at(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_a_night_in_march_refreshes_march_and_the_sources_lookback():
    start, end = at(2025, 3, 4), at(2025, 3, 5)
    assert months_for_run("slurm", start, end) == ["2025-02", "2025-03"]
    assert months_for_run("aws_carbon", start, end) == ["2024-12", "2025-01", "2025-02", "2025-03"]


def test_the_interval_end_is_exclusive():
    # [2025-03-31, 2025-04-01) is the last night of March: April is not touched.
    assert months_for_run("aws_cur", at(2025, 3, 31), at(2025, 4, 1)) == ["2025-02", "2025-03"]


def test_a_zero_length_interval_is_its_own_month():
    assert months_for_run("aws_cur", at(2025, 1, 1), at(2025, 1, 1)) == ["2024-12", "2025-01"]


def test_explicit_months_win_over_the_interval():
    got = months_for_run("gcp_carbon", at(2026, 1, 1), at(2026, 1, 2), "2025-11", "2026-01")
    assert got == ["2025-11", "2025-12", "2026-01"]


@pytest.mark.parametrize("bad", ["2025-1", "2025-13", "25-01", "", "2025-01-01"])
def test_malformed_months_are_refused(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_between(bad, "2025-12")


def test_every_source_has_a_lookback():
    assert all(value >= 0 for value in LOOKBACK_MONTHS.values())
    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
