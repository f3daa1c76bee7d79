"""Every view people read is a documented contract.

The reporting views (schema ``reporting``) are what finance and sustainability
query and what the annual disclosure freezes. dbt enforces a model's contract
(its columns and types must match the declared ones, or the build fails) when
``contract: {enforced: true}`` applies to it; this test keeps that true for
every reporting model, and checks that each declared column says what it is.
"""

from __future__ import annotations

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
