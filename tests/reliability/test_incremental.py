"""The nightly build is incremental: its private copy starts from the published
warehouse, the CUR model reads only the landing partitions that changed since
that warehouse was built, a re-delivered month replaces that month whole, and
the figures are those of a full rebuild (``full_refresh``).
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from harness import figures, landed

from transform import build as build_module

CUR = "aws/helio-billing/cur2/helio-cur2"


def cur_months(warehouse) -> dict[str, tuple]:
    """Per landing month of the incremental model: line items summed, their cost, fingerprint."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select landing_month, sum(line_items), round(sum(unblended_cost), 6), "
            "min(landing_fingerprint), count(distinct landing_fingerprint) "
            "from int_aws_cur_line_items_aggregated group by landing_month order by landing_month"
        ).fetchall()
    return {month: tuple(values) for month, *values in rows}


def dbt_log(workspace) -> str:
    """dbt's log of the builds since the workspace was copied (the copy leaves .build out)."""
    return (workspace.warehouse.parent / ".build" / "dbt-logs" / "dbt.log").read_text()


def test_a_redelivered_month_is_reloaded_whole_and_the_other_months_are_not_read(workspace):
    # GIVEN a published warehouse built from January and February
    before = cur_months(workspace.warehouse)
    assert set(before) == {"2025-01", "2025-02"}
    published_figures = figures(workspace.warehouse)
    # WHEN AWS re-delivers January as one of its two chunks, and the nightly build runs
    path = (
        workspace.sources / CUR / "metadata" / "BILLING_PERIOD=2025-01" / "helio-cur2-Manifest.json"
    )
    document = json.loads(path.read_text())
    document["dataFiles"] = document["dataFiles"][1:]
    document["executionId"] = "redelivery"
    path.write_text(json.dumps(document))
    workspace.extract("aws_cur", ("2025-01",))
    workspace.build("nightly")
    # THEN only January's partition was read
    assert re.findall(r"landing partitions to load: ([^\n\x1b]*)", dbt_log(workspace)) == [
        "2025-01"
    ]
    after = cur_months(workspace.warehouse)
    # AND January holds exactly the re-delivered line items (rows and cost as landed),
    # with one fingerprint: no row of the dropped chunk stays
    rows, cost = landed(workspace.landing)["aws_cur/line_items"]["2025-01"]
    assert after["2025-01"][:2] == (rows, pytest.approx(cost, abs=1e-6))
    assert rows < before["2025-01"][0]
    assert after["2025-01"][2] != before["2025-01"][2] and after["2025-01"][3] == 1
    # AND February is the one stored before, fingerprint included
    assert after["2025-02"] == before["2025-02"]
    # AND the figures moved (January's cost is lower) ...
    incremental_figures = figures(workspace.warehouse)
    assert incremental_figures["2025-01"] != published_figures["2025-01"]
    # ... to those of a full rebuild from all of landing
    workspace_figures_full = _full_refresh_figures(workspace)
    assert incremental_figures == workspace_figures_full


def _full_refresh_figures(workspace) -> dict[str, tuple]:
    with workspace.active():
        build_module.build_and_publish("full", full_refresh=True)
    assert "landing partitions to load" not in dbt_log(workspace).split("Running with dbt")[-1]
    return figures(workspace.warehouse)


def test_the_build_copy_starts_from_the_published_warehouse_and_refreshes_only_when_asked(
    workspace, monkeypatch
):
    # GIVEN a published warehouse with a marker, and dbt replaced by a stand-in
    # that records its arguments and what the copy held when dbt started
    with duckdb.connect(str(workspace.warehouse)) as con:
        con.execute("create table published_marker as select 'published' as origin")
    seen = []

    def run_dbt(args, warehouse, settings=None):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            origin = con.execute("select origin from published_marker").fetchone()[0]
        seen.append((args, origin))
        return "Done. PASS=1"

    monkeypatch.setattr(build_module, "run_dbt", run_dbt)
    # WHEN a nightly build and a full-refresh build run
    with workspace.active():
        build_module.build("nightly")
        build_module.build("full", full_refresh=True)
    # THEN both started from the published warehouse; only the second refreshed in full
    assert seen == [(["build"], "published"), (["build", "--full-refresh"], "published")]
