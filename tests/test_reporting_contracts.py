"""Every view people read is a documented contract.

The reporting views (schema ``reporting``) are what finance and sustainability
query and what the annual disclosure freezes. dbt enforces a model's contract
(its columns and types must match the declared ones, or the build fails) when
``contract: {enforced: true}`` applies to it; this test keeps that true for
every reporting model, and checks that each declared column says what it is.
"""

from __future__ import annotations

import csv

import yaml

from helpers import ROOT

PROJECT = ROOT / "dbt_project"
REPORTING = PROJECT / "models" / "reporting"


def declared_models() -> dict[str, dict]:
    models: dict[str, dict] = {}
    for path in sorted(REPORTING.glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            models[model["name"]] = model
    return models


def test_every_reporting_view_is_declared_with_an_enforced_contract():
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    reporting = project["models"]["ai_carbon"]["reporting"]
    assert reporting["+contract"] == {"enforced": True}
    assert reporting["+schema"] == "reporting"
    views = {path.stem for path in REPORTING.glob("*.sql")}
    models = declared_models()
    # the nine views the issue names, and the restatements
    assert {
        "inventory", "measurement_plan", "first_cut_estimate", "gap_analysis", "maturity",
        "annual_disclosure", "hidden_drivers", "model_disclosure", "inference_intensity",
        "restatements",
    } <= views  # fmt: skip
    assert views == set(models), "every reporting view needs a yml entry (and no stale one)"
    for name, model in models.items():
        # no model switches the folder's contract off
        assert (model.get("config") or {}).get("contract", {}).get("enforced", True), name


def test_every_reporting_column_is_typed_and_described():
    for name, model in declared_models().items():
        assert (model.get("description") or "").strip(), f"{name} has no description"
        columns = model.get("columns") or []
        assert columns, f"{name} declares no columns"
        for column in columns:
            where = f"{name}.{column['name']}"
            assert column.get("data_type"), f"{where} has no data_type"
            assert len((column.get("description") or "").split()) >= 2, f"{where} is undescribed"


def test_the_measurement_plans_late_allowances_are_the_declared_source_freshness():
    # measurement_plan judges lateness from seeds/source_cadences.csv; for every source
    # that declares freshness in dbt, the allowance must be that source's error_after
    # (one rule, two readers: `dbt source freshness` and the reporting view).
    with (PROJECT / "seeds" / "source_cadences.csv").open() as handle:
        allowances = {row["data_source"]: row["late_after_days"] for row in csv.DictReader(handle)}
    declared = {}
    for path in sorted((PROJECT / "models" / "staging").glob("*/_*sources.yml")):
        for source in yaml.safe_load(path.read_text()).get("sources") or []:
            freshness = source.get("freshness") or (source.get("config") or {}).get("freshness")
            if freshness and freshness.get("error_after"):
                assert freshness["error_after"]["period"] == "day", source["name"]
                declared[source["name"]] = freshness["error_after"]["count"]
    assert {"aws_cur", "aws_carbon", "gcp_billing", "gcp_carbon", "azure_carbon"} <= set(declared)
    assert {name: int(allowances[name]) for name in declared} == declared
