"""A night's deliveries recompute the months they reach: a new month of
bills (March's CUR and GCP billing invoice) and a provider's carbon export
of an earlier month (AWS, January, two months late). The cloud energy
estimate follows the months of the bills (billing_monthly_state), every
monthly model after it its inputs' months (chained_monthly_state,
dbt_project/macros/incremental_months.sql), and the result is that of a
full rebuild.

fct_emissions' embodied rows run to the latest month of activity data, so
the new CUR month adds rows to the embodied model for that month.
fct_emissions reads that model by month like its other inputs: it needs no
rule of its own about the latest month.
"""

from __future__ import annotations

import re
import shutil

import duckdb
from test_incremental import (
    CUR,
    DOWNSTREAM_MONTHLY_MODELS,
    MONTHLY_MODELS,
    _full_refresh_figures,
    cur_partitions,
    every_mart_and_view,
    every_row,
    last_build_log,
    monthly_rows,
)

MODELS = MONTHLY_MODELS + DOWNSTREAM_MONTHLY_MODELS
AWS_CARBON = "aws/helio-billing/carbon"
GCP_MARCH_INVOICE = (
    "gcp/helio-finops/billing/gcp_billing_export_v1_01ABCD_234567_89EFGH/invoice_month=202503.jsonl"
)
# the models after the provider exports (int_provider_emissions_unioned)
AFTER_PROVIDER_EXPORTS = (
    "int_bottom_up_emissions_calculated",
    "int_provider_emissions_allocated",
    "fct_cloud_carbon_reconciliation",
    "fct_emissions",
)
# no March row: only cloud usage reached March (the own site has no March
# factor) and no provider has published March
WITHOUT_MARCH = ("int_site_market_factors_calculated", "int_provider_emissions_allocated")


def months_tested(log: str) -> dict[str, str]:
    """{data test: the months it read} from a build's dbt log."""
    return dict(re.findall(r"(\w+): months tested: ([^\n\x1b]*)", log))


def passed_months(warehouse, test: str) -> set[str]:
    """The months a data test has passed, as recorded in the warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            month
            for (month,) in con.execute(
                "select month_value from tested_months where test_id like ?",
                [f"test.ai_carbon.{test}.%"],
            ).fetchall()
        }


def months_of(warehouse, model: str, where: str = "true", column: str = "month") -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            month
            for (month,) in con.execute(
                f"select distinct strftime({column}, '%Y-%m') from {model} where {where}"
            ).fetchall()
        }


def test_a_nights_deliveries_recompute_the_months_they_reach_and_equal_a_full_rebuild(
    workspace, later_sources
):
    # GIVEN a published warehouse built from January and February, without
    # AWS's carbon export
    warehouse = workspace.warehouse
    before = {model: monthly_rows(warehouse, model) for model in MODELS}
    embodied_before = months_of(warehouse, "int_embodied_emissions_calculated")
    assert "2025-02" in embodied_before and "2025-03" not in embodied_before
    aws_reported = "provider = 'aws'"
    assert months_of(warehouse, "int_provider_emissions_unioned", aws_reported) == set()
    # WHEN AWS delivers March's CUR and January's carbon export, and GCP
    # March's billing invoice (the organisation a month further), and the
    # nightly build runs
    for part in ("data", "metadata"):
        shutil.copytree(
            later_sources / CUR / part / "BILLING_PERIOD=2025-03",
            workspace.sources / CUR / part / "BILLING_PERIOD=2025-03",
        )
    shutil.copytree(later_sources / AWS_CARBON, workspace.sources / AWS_CARBON)
    shutil.copyfile(later_sources / GCP_MARCH_INVOICE, workspace.sources / GCP_MARCH_INVOICE)
    workspace.extract("aws_cur", ("2025-03",))
    workspace.extract("gcp_billing", ("2025-03",))
    workspace.extract("aws_carbon", ("2025-01",))
    workspace.build("nightly")
    assert set(cur_partitions(warehouse)) == {"2025-01", "2025-02", "2025-03"}
    gcp_usage_months = months_of(warehouse, "stg_gcp__billing_line_items", column="usage_month")
    assert gcp_usage_months == {"2025-01", "2025-02", "2025-03"}
    assert months_of(warehouse, "int_provider_emissions_unioned", aws_reported) == {"2025-01"}
    # THEN the embodied hardware's rows now run to March
    assert months_of(warehouse, "int_embodied_emissions_calculated") == embodied_before | {
        "2025-03"
    }
    # AND every monthly model recomputed March, and those after the provider
    # exports January too (the provider allocation reads February again: a
    # month without rows stores no fingerprint)
    log = last_build_log(workspace)
    recomputed = dict(re.findall(r"(\w+): months to recompute: ([^\n\x1b]*)", log))
    assert recomputed == {
        **dict.fromkeys(MODELS, "2025-03-01"),
        **dict.fromkeys(AFTER_PROVIDER_EXPORTS, "2025-01-01, 2025-03-01"),
        "int_provider_emissions_allocated": "2025-01-01, 2025-02-01, 2025-03-01",
    }
    for model in MODELS:
        after = monthly_rows(warehouse, model)
        assert ("2025-03" in after) == (model not in WITHOUT_MARCH), model
        # AND the months no delivery reached are the ones stored before,
        # fingerprints included
        reached = {"2025-01", "2025-03"} if model in AFTER_PROVIDER_EXPORTS else {"2025-03"}
        assert {m: v for m, v in after.items() if m not in reached} == {
            m: v for m, v in before[model].items() if m not in reached
        }, model
    # AND each data test of a monthly relation read the months whose rows the
    # night changed, no other (dbt_project/macros/tests_follow_months.sql):
    # the months with rows among those its model recomputed, the landing
    # partition delivered
    tested = months_tested(log)
    assert tested["unique_stg_aws__cur_line_items_cur_line_item_id"] == "2025-03"
    assert tested["unique_int_aws_cur_line_items_aggregated_cur_line_item_group_id"] == "2025-03"
    assert tested["unique_int_cloud_energy_estimated_usage_part_id"] == "2025-03-01"
    assert tested["unique_fct_emissions_emission_id"] == "2025-01-01, 2025-03-01"
    # (the provider allocation's only rows are January's, new tonight: all it has)
    assert tested["unique_int_provider_emissions_allocated_allocation_row_id"] == "every month"
    # AND what they passed is recorded: every month of the rows now (the
    # embodied hardware's run back to its acquisition)
    passed = passed_months(warehouse, "unique_fct_emissions_emission_id")
    assert {month[:7] for month in passed} == months_of(warehouse, "fct_emissions")
    assert {"2025-01-01", "2025-02-01", "2025-03-01"} <= passed
    # AND January's AWS rows now carry AWS's own figure
    assert months_of(
        warehouse, "fct_emissions", "tier = 'provider_reported' and " + aws_reported
    ) == {"2025-01"}
    # AND every mart and reporting view, and the monthly models row for row,
    # equal a full rebuild from all of landing
    incremental = every_mart_and_view(warehouse)
    incremental_rows = every_row(warehouse, MODELS)
    _full_refresh_figures(workspace)
    # (a full refresh tests every month again)
    assert set(months_tested(last_build_log(workspace)).values()) == {"every month"}
    assert every_mart_and_view(warehouse) == incremental
    assert every_row(warehouse, MODELS) == incremental_rows
