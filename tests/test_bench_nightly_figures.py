"""The bench's nightly figures (bench/run.py ``nightly_figures``), from stated timings.

The inputs are this round's 100M run (bench/results.json): each build is its
dbt seconds plus the seconds of the copy of the published warehouse it starts
from, as the pipeline pays them (transform/build.py build()).
"""

from __future__ import annotations

import pytest

from bench.run import Measured, combined, nightly_figures, pipeline_seconds


def _dbt(seconds: float) -> Measured:
    return Measured(seconds=seconds, peak_rss_mb=0.0, stdout="")


def _copy(seconds: float, mb: float) -> dict:
    return {"seconds": seconds, "how": "kernel", "mb": mb}


def test_the_nightly_ratio_counts_the_copy_each_build_starts_from():
    figures = nightly_figures(
        nightly=(_dbt(42.17), _copy(5.94, 2808.4)),
        month_alone=(_dbt(38.09), _copy(0.002, 3.2)),
        noop=(_dbt(25.78), _copy(7.57, 2808.4)),
        limit_seconds=5.342,
    )
    # nightly 42.17 + 5.94 = 48.11 s; the month alone 38.09 + 0.002 = 38.092 s
    assert figures["full_rebuild_seconds"] == 48.11
    assert figures["single_partition_build_seconds"] == 38.09
    # 48.11 / 38.092 = 1.2630; without the copy 42.17 / 38.09 = 1.1071
    assert figures["ratio"] == 1.26
    assert figures["ratio_dbt_only"] == 1.11
    # 48.11 / 5.342 = 9.006: against the one-month limit query
    assert figures["ratio_to_limit"] == 9.0
    # nothing to do: 25.78 + 7.57 = 33.35 s
    assert figures["noop_seconds"] == 33.35
    assert figures["noop_dbt_seconds"] == 25.78
    assert (figures["copy_seconds"], figures["warehouse_mb"]) == (5.94, 2808)
    assert (figures["single_partition_copy_seconds"], figures["copy_method"]) == (0.002, "kernel")


def test_a_build_without_a_copy_is_its_dbt_seconds():
    assert pipeline_seconds(_dbt(42.94)) == 42.94
    assert pipeline_seconds(_dbt(27.92), _copy(1.5, 1016.0)) == pytest.approx(29.42)


def test_a_first_builds_parse_and_build_are_one_figure():
    # December alone in the telemetry bench (39cf35a): dbt parse 3.3 s
    # (3.3 CPU s, 410 MB), then the build of every node 24.3 s (31.1 CPU s, 826 MB)
    parse = Measured(seconds=3.3, peak_rss_mb=410.0, stdout="", cpu_seconds=3.3, load_average=1.28)
    build = Measured(
        seconds=24.3, peak_rss_mb=826.0, stdout="Done.", cpu_seconds=31.1, load_average=1.1
    )
    both = combined(parse, build)
    # 3.3 + 24.3 = 27.6 s; 3.3 + 31.1 = 34.4 CPU s; the larger peak; the first load
    assert both.seconds == pytest.approx(27.6)
    assert both.cpu_seconds == pytest.approx(34.4)
    assert (both.peak_rss_mb, both.load_average, both.stdout) == (826.0, 1.28, "Done.")
