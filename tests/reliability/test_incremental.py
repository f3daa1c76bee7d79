"""The nightly build is incremental: its private copy starts from the published
warehouse, the CUR model reads only the landing partitions that changed since
that warehouse was built, a re-delivered month replaces that month whole, and
the figures are those of a full rebuild (``full_refresh``); the monthly models
after it recompute only that month, and a month of the views they read reaches
only that month's stored CUR rows.
"""

from __future__ import annotations

import json
import re

import duckdb
import jinja2
import pytest
from harness import figures, landed

from helpers import ROOT
from transform import build as build_module

CUR = "aws/helio-billing/cur2/helio-cur2"
INCREMENTAL_MONTHS = ROOT / "dbt_project" / "macros" / "incremental_months.sql"


def cur_partitions(warehouse) -> dict[str, tuple]:
    """Per landing month of the incremental model: line items summed, their cost, fingerprint."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select landing_month, sum(line_items), round(sum(unblended_cost), 6), "
            "min(landing_fingerprint), count(distinct landing_fingerprint) "
            "from int_aws_cur_line_items_aggregated group by landing_month order by landing_month"
        ).fetchall()
    return {month: tuple(values) for month, *values in rows}


def dbt_log(workspace) -> str:
    """dbt's log of the builds since the workspace was copied (the copy leaves .build out),
    its rotated files (dbt.log.1, ... at 10 MB each) first, oldest first."""
    logs = workspace.warehouse.parent / ".build" / "dbt-logs"
    rotated = sorted(logs.glob("dbt.log.*"), key=lambda path: -int(path.suffix[1:]))
    return "".join(path.read_text() for path in [*rotated, logs / "dbt.log"])


def last_build_log(workspace) -> str:
    """dbt's log of the last build of the workspace."""
    return dbt_log(workspace).split("Running with dbt")[-1]


def _full_refresh_figures(workspace) -> dict[str, tuple]:
    with workspace.active():
        build_module.build_and_publish("full", full_refresh=True)
    assert "landing partitions to load" not in last_build_log(workspace)
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
    # THEN both parsed the project, then built from the published warehouse;
    # only the second refreshed in full (and the first built every node: the
    # stand-in leaves no manifest to compare a next build with)
    nightly = build_module.NIGHTLY_BUILD
    assert seen == [
        (["parse"], "published"),
        (nightly, "published"),
        (["parse"], "published"),
        ([*nightly, "--full-refresh"], "published"),
    ]
    assert nightly[0] == "build"


# The cloud chain after the CUR model, and the models after it whose rows of a
# month read only that month, incremental by month (macros/incremental_months.sql).
MONTHLY_MODELS = (
    "int_cloud_energy_estimated",
    "int_it_energy_unioned",
    "int_it_energy_located",
    "int_bottom_up_emissions_calculated",
)
DOWNSTREAM_MONTHLY_MODELS = (
    "int_site_market_factors_calculated",
    "int_provider_emissions_allocated",
    "fct_emissions",
    "fct_cloud_carbon_reconciliation",
    "fct_gpu_usage",
)
# The monthly models whose months follow their inputs' months: other monthly
# models' (their CUR months) and the rows by month of the tables they read by
# month (on-premises usage, provider exports, embodied hardware:
# chained_monthly_state).
CHAINED_MODELS = (
    "int_it_energy_unioned",
    "int_it_energy_located",
    "int_site_market_factors_calculated",
    "int_bottom_up_emissions_calculated",
    "int_provider_emissions_allocated",
    "fct_emissions",
    "fct_cloud_carbon_reconciliation",
    "fct_gpu_usage",
)
# The telemetry chain, incremental by month (macros/incremental_telemetry.sql;
# test_incremental_telemetry.py).
DEVICE_MODELS = ("int_gpu_device_hours_unioned", "int_gpu_device_hours_matched")
# two measures of each model, summed per month
MEASURES = {
    "int_cloud_energy_estimated": ("it_kwh", "part_cost"),
    "int_it_energy_unioned": ("it_kwh", "cost"),
    "int_it_energy_located": ("it_kwh", "cost"),
    "int_bottom_up_emissions_calculated": ("energy_kwh", "cost"),
    "int_site_market_factors_calculated": ("facility_kwh", "market_kg"),
    "int_provider_emissions_allocated": ("energy_kwh", "kg_co2e"),
    "fct_emissions": ("energy_kwh", "kg_co2e"),
    "fct_cloud_carbon_reconciliation": ("estimated_facility_kwh", "estimated_location_kg"),
    "fct_gpu_usage": ("it_kwh", "gpu_hours"),
}


def monthly_rows(warehouse, model: str) -> dict[str, tuple]:
    """Per month of an incremental model: rows, its two measures and the stored fingerprints."""
    first, second = MEASURES[model]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select strftime(month, '%Y-%m'), count(*), round(sum({first}), 6), "
            f"round(sum({second}), 6), min(month_fingerprint), min(inputs_fingerprint), "
            "count(distinct inputs_fingerprint) "
            f"from {model} group by 1 order by 1"
        ).fetchall()
    return {month: tuple(values) for month, *values in rows}


def every_row(warehouse, models) -> dict[str, list[tuple]]:
    """Every row of each model, in order, floating-point columns rounded to 1e-6."""
    found = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for model in models:
            columns = [
                f'round("{name}", 6)' if kind in ("DOUBLE", "FLOAT") else f'"{name}"'
                for name, kind in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_name = ? order by ordinal_position",
                    [model],
                ).fetchall()
            ]
            found[model] = con.execute(
                f"select {', '.join(columns)} from {model} order by all"
            ).fetchall()
    return found


def every_mart_and_view(warehouse) -> dict[str, tuple]:
    """Rows and the sum of every numeric column of each mart and reporting view."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and (table_schema = 'reporting' "
            "or table_name like 'fct\\_%' escape '\\' or table_name like 'dim\\_%' escape '\\') "
            "order by all"
        ).fetchall()
        found = {}
        for schema, table in relations:
            numeric = [
                name
                for name, kind in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if kind in ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT")
                or kind.startswith("DECIMAL")
            ]
            sums = "".join(f', round(sum("{name}"), 6)' for name in numeric)
            found[f"{schema}.{table}"] = con.execute(
                f'select count(*){sums} from "{schema}"."{table}"'
            ).fetchone()
    return found


def test_a_restated_month_is_reloaded_whole_and_recomputed_alone_downstream(workspace):
    # GIVEN a published warehouse built from January and February
    cur_before = cur_partitions(workspace.warehouse)
    assert set(cur_before) == {"2025-01", "2025-02"}
    published_figures = figures(workspace.warehouse)
    models = MONTHLY_MODELS + DOWNSTREAM_MONTHLY_MODELS
    before = {model: monthly_rows(workspace.warehouse, model) for model in models}
    # (the months with a fingerprint: those with CUR data; no provider has
    # published February yet, so no allocated row holds it; fct_emissions has
    # every month of its inputs, the embodied hardware's before the CUR's)
    months_with_fingerprints = {
        model: {month for month, values in months.items() if values[3] is not None}
        for model, months in before.items()
    }
    assert months_with_fingerprints == {
        **{model: {"2025-01", "2025-02"} for model in models},
        "int_provider_emissions_allocated": {"2025-01"},
        "fct_emissions": set(before["fct_emissions"]),
    }
    assert {"2025-01", "2025-02"} < set(before["fct_emissions"])
    # WHEN AWS restates January, the earlier month, as one of its two chunks,
    # and the nightly build runs
    path = (
        workspace.sources / CUR / "metadata" / "BILLING_PERIOD=2025-01" / "helio-cur2-Manifest.json"
    )
    document = json.loads(path.read_text())
    document["dataFiles"] = document["dataFiles"][1:]
    document["executionId"] = "restatement"
    path.write_text(json.dumps(document))
    workspace.extract("aws_cur", ("2025-01",))
    workspace.build("nightly")
    # THEN only January's CUR partition was read
    assert re.findall(r"landing partitions to load: ([^\n\x1b]*)", dbt_log(workspace)) == [
        "2025-01"
    ]
    cur_after = cur_partitions(workspace.warehouse)
    # AND January holds exactly the re-delivered line items (rows and cost as landed),
    # with one fingerprint: no row of the dropped chunk stays
    rows, cost = landed(workspace.landing)["aws_cur/line_items"]["2025-01"]
    assert cur_after["2025-01"][:2] == (rows, pytest.approx(cost, abs=1e-6))
    assert rows < cur_before["2025-01"][0]
    assert cur_after["2025-01"][2] != cur_before["2025-01"][2] and cur_after["2025-01"][3] == 1
    # AND February is the one stored before, fingerprint included
    assert cur_after["2025-02"] == cur_before["2025-02"]
    # AND every monthly model, the cloud chain and the marts after it,
    # recomputed January only
    recomputed = dict(re.findall(r"(\w+): months to recompute: ([^\n\x1b]*)", dbt_log(workspace)))
    # (a month without rows stores no fingerprint: February is read again, and
    # still yields no allocated row)
    assert recomputed == {
        **dict.fromkeys(models, "2025-01-01"),
        "int_provider_emissions_allocated": "2025-01-01, 2025-02-01",
    }
    for model in models:
        after = monthly_rows(workspace.warehouse, model)
        # AND the other months' rows are the ones stored before, fingerprints
        # included: February, and the months without CUR data (embodied hardware)
        assert {month: values for month, values in after.items() if month != "2025-01"} == {
            month: values for month, values in before[model].items() if month != "2025-01"
        }, model
        # AND January's were replaced whole: the restated figures, one fingerprint
        assert after["2025-01"] != before[model]["2025-01"], model
        assert after["2025-01"][3] != before[model]["2025-01"][3], model
        assert after["2025-01"][5] == 1, model
    # AND the figures moved (January's cost is lower) ...
    incremental_figures = figures(workspace.warehouse)
    assert incremental_figures["2025-01"] != published_figures["2025-01"]
    # ... to those of a full rebuild from all of landing: every mart and
    # reporting view, the monthly models row for row
    incremental = every_mart_and_view(workspace.warehouse)
    incremental_rows = every_row(workspace.warehouse, models)
    assert _full_refresh_figures(workspace) == incremental_figures
    assert every_mart_and_view(workspace.warehouse) == incremental
    assert every_row(workspace.warehouse, models) == incremental_rows


def test_a_changed_setting_recomputes_every_month_downstream(workspace):
    # GIVEN a published warehouse built from January and February
    models = MONTHLY_MODELS + DOWNSTREAM_MONTHLY_MODELS
    before = {model: monthly_rows(workspace.warehouse, model) for model in models}
    # WHEN the organisation raises the assumed GPU utilisation (no new billing data)
    # and the nightly build runs
    config = workspace.config.read_text()
    assert "gpu_utilisation_default: 0.5\n" in config
    workspace.config.write_text(
        config.replace("gpu_utilisation_default: 0.5\n", "gpu_utilisation_default: 0.7\n")
    )
    workspace.extract("config")
    workspace.build("nightly")
    # THEN no CUR partition was reloaded, but every month of every monthly model
    # was recomputed
    log = dbt_log(workspace)
    assert re.findall(r"landing partitions to load: ([^\n\x1b]*)", log) == ["none"]
    # (a model whose inputs changed; a model after other monthly models, every
    # month of which they recomputed: every month's fingerprint changed)
    inputs_changed = re.findall(r"(\w+): inputs changed", log)
    every_month = [
        model
        for model, months in re.findall(r"(\w+): months to recompute: ([^\n\x1b]*)", log)
        if months == "2025-01-01, 2025-02-01"
    ]
    assert sorted(inputs_changed + every_month) == sorted(models)
    assert set(inputs_changed) >= set(models) - set(CHAINED_MODELS)
    # (and the telemetry models, with no telemetry landed and none stored, nothing)
    assert sorted(re.findall(r"(\w+): no month landed, none stored", log)) == sorted(DEVICE_MODELS)
    for model in models:
        after = monthly_rows(workspace.warehouse, model)
        # AND every month carries new fingerprints: the new inputs' one, or
        # (after other monthly models) a new one of its own month
        if model in every_month:
            assert all(values[3] != before[model][month][3] for month, values in after.items())
        else:
            assert {values[4] for values in after.values()} != {before[model]["2025-01"][4]}, model
        assert len({values[4] for values in after.values()}) == 1, model
    for model in MONTHLY_MODELS:
        # AND the cloud chain's GPU energy rose
        after = monthly_rows(workspace.warehouse, model)
        assert after["2025-01"][1] > before[model]["2025-01"][1], model
    # AND every mart and reporting view equals a full rebuild from all of landing
    incremental = every_mart_and_view(workspace.warehouse)
    _full_refresh_figures(workspace)
    assert every_mart_and_view(workspace.warehouse) == incremental


def test_a_month_of_the_billing_views_reads_only_that_months_cur_rows(baseline, tmp_path):
    # GIVEN the published warehouse (January and February), and the filter a
    # monthly model puts on the views it reads for a run that recomputes January
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    macros = environment.from_string(INCREMENTAL_MONTHS.read_text()).make_module({})
    january = str(macros.in_months("month", ["2025-01-01"])).strip()
    assert january == "(month = cast('2025-01-01' as date))"
    profile = tmp_path / "profile.json"
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        (january_rows,) = con.execute(
            "select count(*) from int_aws_cur_line_items_aggregated "
            "where billing_month = date '2025-01-01'"
        ).fetchone()
        (all_rows,) = con.execute(
            "select count(*) from int_aws_cur_line_items_aggregated"
        ).fetchone()
        (expected,) = con.execute(
            "select count(*) from int_cloud_usage_classified where strftime(month, '%Y-%m') = '2025-01'"
        ).fetchone()
        # WHEN the view chain under the cloud energy estimate is read for January
        con.execute(f"pragma enable_profiling = 'json'; pragma profiling_output = '{profile}'")
        (found,) = con.execute(
            f"select count(*) from int_cloud_usage_classified where {january}"
        ).fetchone()
        con.execute("pragma disable_profiling")
    # THEN it holds January's usage parts ...
    assert found == expected > 0
    # ... and every scan of the CUR model under it (the union, the attribution,
    # the usage classes) returned January's rows only: the filter reached it
    scans = [
        node["operator_cardinality"]
        if "operator_cardinality" in node
        else node["intermediate_rows"]
        for node in _operators(json.loads(profile.read_text()))
        if node.get("name", "").strip() == "SEQ_SCAN"
        and "int_aws_cur_line_items_aggregated" in json.dumps(node.get("extra_info", {}))
    ]
    assert scans and all(rows == january_rows for rows in scans), (scans, january_rows, all_rows)
    assert january_rows < all_rows


def _operators(profile: dict):
    stack = list(profile.get("children", [])) + list(profile.get("operator", []))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("children", []))


def test_the_monthly_models_store_their_rows_in_month_order(baseline):
    # GIVEN the published warehouse, built whole
    found = {}
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        for model in MONTHLY_MODELS + DOWNSTREAM_MONTHLY_MODELS:
            # WHEN a model's rows are read in the order they are stored
            found[model] = con.execute(
                "select count(*) filter (where previous > month), count(distinct month) from ("
                f"select month, lag(month) over (order by rowid) as previous from {model})"
            ).fetchone()
    # THEN no row follows one of a later month: each month fills row groups of
    # its own, and a run replacing it deletes only those
    assert {model: out_of_order for model, (out_of_order, _) in found.items()} == dict.fromkeys(
        found, 0
    )
    # (every model but the provider allocation holds both months: one provider
    # has published January only)
    assert sorted(model for model, (_, months) in found.items() if months < 2) == [
        "int_provider_emissions_allocated"
    ]


def test_the_bench_limit_groups_line_items_as_the_cur_model_does(baseline):
    # GIVEN the benchmark's limit query (bench/run.py), run over the landed CUR
    # Parquet the baseline warehouse was built from
    from bench.run import LIMIT_SQL

    glob = baseline.landing / "aws_cur" / "line_items" / "*" / "*.parquet"
    with duckdb.connect() as con:
        con.execute(LIMIT_SQL.format(glob=glob))
        groups, line_items, cost = con.execute(
            "select count(*), sum(line_items), sum(cost) from usage_cost_by_key"
        ).fetchone()
    # WHEN the CUR model's rows are counted
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        rows, model_line_items, model_cost = con.execute(
            "select count(*), sum(line_items), sum(unblended_cost) "
            "from int_aws_cur_line_items_aggregated"
        ).fetchone()
    # THEN the limit makes exactly the model's groups ("the same keys"): a key
    # left out of either merges groups (without the resource: 27 groups, not
    # 45), one added splits them. (The demo's tags follow its resources, so a
    # dropped tags key would go unseen here; the bench's 10M and 100M runs
    # record the limit's groups beside the model's, equal at 10M.)
    assert (groups, line_items) == (rows, model_line_items)
    assert cost == pytest.approx(model_cost, rel=1e-9)
