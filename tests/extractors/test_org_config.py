"""Organisation config: whole-file validation with key paths, then the org tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from extractors import org_config
from extractors.errors import ConfigError
from extractors.landing import read_ledger
from extractors.org_config import ORG_SCHEMAS, glob_to_like, land_config, load_config

pytest_plugins = ["extractor_fixtures"]

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "org.example.yml"


def org_table(landing: Path, name: str):
    return pq.read_table(landing / "org" / name / "snapshot=current" / "part-0.parquet")


def test_the_example_config_loads():
    # WHEN the bundled example is loaded
    config = load_config(EXAMPLE)
    # THEN its systems, sites and sources are all there
    assert [s.id for s in config.systems] == [
        "llm-chat-api",
        "helio-lm-pretrain",
        "support-bot-finetune",
        "doc-embed-api",
    ]
    assert config.sites[0].pue[1].valid_to is None
    assert config.clusters[0].partitions == {"gpu-a100": "A100", "gpu-h100": "H100"}
    assert config.sources.aws_cur.exports == ("helio-cur2",)
    assert config.sources.slurm.clusters == ("hpc1",)
    assert [(t.id, t.baseline_year, t.target_year, t.method) for t in config.targets] == [
        ("ai-2030", 2025, 2030, "market")
    ]
    assert config.sources.focus.providers == ("azure",)
    assert config.sources.azure_emissions_export is not None


def test_example_lands_every_org_table(landing):
    # GIVEN the example config WHEN its tables are landed
    records = land_config(load_config(EXAMPLE), landing)
    # THEN one table per contract table, each with its explicit schema
    assert [(r.source, r.dataset, r.partition, r.status) for r in records] == [
        ("org", name, "snapshot=current", "loaded") for name in ORG_SCHEMAS
    ]
    for name, schema in ORG_SCHEMAS.items():
        assert org_table(landing, name).schema == schema, name
    # AND rules are ordered by system, then by rule, in file order
    rules = org_table(landing, "attribution_rules").to_pylist()
    assert [
        (r["rule_order"], r["system_id"], r["source_type"], r["tag_key"], r["like_pattern"])
        for r in rules
    ] == [
        (1, "llm-chat-api", "aws_tag", "ai-system", "llm-chat-api"),
        (2, "llm-chat-api", "inference_service", None, "llm-chat-api"),
        (3, "helio-lm-pretrain", "slurm_job_name", None, "helio-lm-%"),
        (4, "helio-lm-pretrain", "mlflow_experiment", None, "helio-lm-pretrain"),
        (5, "helio-lm-pretrain", "aws_tag", "ai-system", "helio-lm-pretrain"),
        (6, "support-bot-finetune", "gcp_label", "ai-system", "support-bot-finetune"),
        (7, "support-bot-finetune", "mlflow_experiment", None, "support-bot-ft"),
        (8, "doc-embed-api", "azure_tag", "ai-system", "doc-embed-api"),
    ]
    settings = {r["key"]: r["value"] for r in org_table(landing, "settings").to_pylist()}
    assert settings == {
        "grid_factor_set": "default",
        "gpu_utilisation_default": "0.5",
        "allocation_basis": "cost",
        "organisation_name": "Helio Labs (demo)",
        "reporting_year": "2025",
    }
    assert org_table(landing, "site_pue").to_pylist() == [
        {
            "site_id": "fra-dc1",
            "valid_from": dt.date(2024, 1, 1),
            "valid_to": dt.date(2025, 7, 1),
            "pue": 1.4,
        },
        {"site_id": "fra-dc1", "valid_from": dt.date(2025, 7, 1), "valid_to": None, "pue": 1.32},
    ]
    assert org_table(landing, "cluster_partitions").num_rows == 2
    assert org_table(landing, "hardware")["servers"].to_pylist() == [4, 2]
    assert org_table(landing, "instruments")["mwh"].to_pylist() == [120.0]
    assert org_table(landing, "targets").to_pylist() == [
        {
            "target_id": "ai-2030",
            "baseline_year": 2025,
            "target_year": 2030,
            "reduction_pct": 42.0,
            "method": "market",
            "ghg_scope": None,
        }
    ]


def test_unchanged_config_is_recorded_unchanged(landing):
    land_config(load_config(EXAMPLE), landing)
    before = (landing / "org/systems/snapshot=current/part-0.parquet").read_bytes()
    records = land_config(load_config(EXAMPLE), landing)
    assert {r.status for r in records} == {"unchanged"}
    assert (landing / "org/systems/snapshot=current/part-0.parquet").read_bytes() == before


@pytest.mark.parametrize(
    ("glob", "like"),
    [
        ("helio-lm-*", "helio-lm-%"),
        ("run-?", "run-_"),
        ("50%_off", "50\\%\\_off"),
        ("a\\b*", "a\\\\b%"),
        ("[abc]", "[abc]"),
    ],
)
def test_globs_become_like_patterns_with_backslash_escape(glob, like):
    assert glob_to_like(glob) == like


def set_kind(doc):
    doc["systems"][1]["kind"] = "trainer"


def add_unknown_key(doc):
    doc["systems"][0]["owners"] = ["a@example.org"]


def duplicate_system(doc):
    doc["systems"][1]["id"] = "chat"


def unattributed_system(doc):
    doc["systems"][0]["id"] = "unattributed"


def unknown_cluster_site(doc):
    doc["clusters"][1]["site"] = "dc9"


def unknown_hardware_site(doc):
    doc["hardware"] = [
        {
            "id": "nodes",
            "site": "dc2",
            "server_model": "HGX",
            "gpu_model": "A100",
            "gpus_per_server": 8,
            "servers": 2,
            "acquired_on": dt.date(2024, 1, 1),
            "lifetime_years": 4,
            "use_share": 1.0,
        }
    ]


def pue_below_one(doc):
    doc["sites"][0]["pue"][0]["value"] = 0.9


def bad_date(doc):
    doc["sites"][0]["pue"][0]["from"] = "2025-13-01"


def overlapping_pue(doc):
    doc["sites"][0]["pue"].append({"from": dt.date(2025, 1, 1), "value": 1.2})


def missing_name(doc):
    del doc["organisation"]["name"]


def norway_problem(doc):
    doc["sites"][0]["country"] = False  # what YAML makes of a bare NO


def unknown_slurm_cluster(doc):
    doc["sources"]["slurm"]["clusters"].append("hpc3")


def bad_allocation_basis(doc):
    doc["methodology"]["allocation_basis"] = "energy"


def unknown_top_level_key(doc):
    doc["password"] = "hunter2"


def unknown_rule_type(doc):
    doc["systems"][0]["match"]["k8s_label"] = ["chat"]


def rule_claimed_twice(doc):
    doc["systems"][1]["match"]["inference_service"] = ["chat-*"]


def utilisation_above_one(doc):
    doc["methodology"]["gpu_utilisation_default"] = 50


IDLE = {"from": dt.date(2022, 3, 1), "to": dt.date(2022, 7, 1), "kwh": 256646, "source": "meter"}


def idle_energy_ends_before_it_starts(doc):
    doc["clusters"][0]["idle_energy"] = [{**IDLE, "to": dt.date(2022, 2, 1)}]


def idle_energy_periods_overlap(doc):
    doc["clusters"][0]["idle_energy"] = [IDLE, {**IDLE, "from": dt.date(2022, 6, 1)}]


def idle_energy_negative(doc):
    doc["clusters"][0]["idle_energy"] = [{**IDLE, "kwh": -1}]


def idle_energy_without_source(doc):
    doc["clusters"][0]["idle_energy"] = [{k: v for k, v in IDLE.items() if k != "source"}]


def idle_energy_bad_metering_point(doc):
    doc["clusters"][0]["idle_energy"] = [{**IDLE, "metered_at": "rack"}]


def hosts_not_patterns(doc):
    doc["clusters"][0]["hosts"] = [{"name": "gpu-01"}]


def codecarbon_unknown_cluster(doc):
    doc["sources"]["codecarbon"] = {"cluster": "hpc9"}


def min_idle_share_above_one(doc):
    doc["methodology"]["inference_min_idle_share"] = 1.5


TARGET = {"id": "t", "baseline_year": 2025, "target_year": 2030, "reduction_pct": 50}


def target_before_its_baseline(doc):
    doc["targets"] = [{**TARGET, "target_year": 2024}]


def target_reduction_above_100(doc):
    doc["targets"] = [{**TARGET, "reduction_pct": 120}]


def target_bad_method(doc):
    doc["targets"] = [{**TARGET, "method": "average"}]


def target_bad_scope(doc):
    doc["targets"] = [{**TARGET, "ghg_scope": 4}]


def target_id_twice(doc):
    doc["targets"] = [TARGET, {**TARGET, "target_year": 2035}]


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (
            set_kind,
            "systems[1].kind: expected one of production_inference, training_pipeline, fine_tuning_workflow, got 'trainer'",
        ),
        (
            add_unknown_key,
            "systems[0].owners: unknown key (expected one of: id, name, kind, owner, description, match)",
        ),
        (duplicate_system, "systems[1].id: system id 'chat' is already used by systems[0]"),
        (unattributed_system, "systems[0].id: 'unattributed' is reserved"),
        (unknown_cluster_site, "clusters[1].site: unknown site 'dc9' (sites: dc1)"),
        (unknown_hardware_site, "hardware[0].site: unknown site 'dc2' (sites: dc1)"),
        (pue_below_one, "sites[0].pue[0].value: expected a number >= 1, got 0.9"),
        (bad_date, "sites[0].pue[0].from: expected a date YYYY-MM-DD, got '2025-13-01'"),
        (overlapping_pue, "sites[0].pue[1]: period from 2025-01-01 overlaps sites[0].pue[0]"),
        (missing_name, "organisation.name: required key is missing"),
        (
            norway_problem,
            "sites[0].country: expected a string, got false (YAML reads bare yes/no/on/off as booleans: quote the value)",
        ),
        (
            unknown_slurm_cluster,
            "sources.slurm.clusters[2]: unknown cluster 'hpc3' (clusters: hpc1, hpc2)",
        ),
        (
            bad_allocation_basis,
            "methodology.allocation_basis: expected one of cost, usage, got 'energy'",
        ),
        (unknown_top_level_key, "password: unknown key"),
        (unknown_rule_type, "systems[0].match.k8s_label: unknown key"),
        (
            rule_claimed_twice,
            "systems[1].match.inference_service: pattern 'chat-*' is already claimed by systems[0]",
        ),
        (
            utilisation_above_one,
            "methodology.gpu_utilisation_default: expected a number <= 1, got 50",
        ),
        (
            idle_energy_ends_before_it_starts,
            "clusters[0].idle_energy[0].to: expected a date after from (2022-03-01), got 2022-02-01",
        ),
        (
            idle_energy_periods_overlap,
            "clusters[0].idle_energy[1]: period from 2022-06-01 overlaps clusters[0].idle_energy[0]",
        ),
        (idle_energy_negative, "clusters[0].idle_energy[0].kwh: expected a number >= 0, got -1"),
        (idle_energy_without_source, "clusters[0].idle_energy[0].source: required key is missing"),
        (
            idle_energy_bad_metering_point,
            "clusters[0].idle_energy[0].metered_at: expected one of it, facility, got 'rack'",
        ),
        (
            hosts_not_patterns,
            "clusters[0].hosts[0]: expected a pattern (a non-empty string), got a mapping",
        ),
        (
            codecarbon_unknown_cluster,
            "sources.codecarbon.cluster: unknown cluster 'hpc9' (clusters: hpc1, hpc2)",
        ),
        (
            min_idle_share_above_one,
            "methodology.inference_min_idle_share: expected a number <= 1, got 1.5",
        ),
        (
            target_before_its_baseline,
            "targets[0].target_year: expected a year after baseline_year (2025), got 2024",
        ),
        (target_reduction_above_100, "targets[0].reduction_pct: expected a number <= 100, got 120"),
        (target_bad_method, "targets[0].method: expected one of location, market, got 'average'"),
        (target_bad_scope, "targets[0].ghg_scope: expected a whole number between 1 and 3, got 4"),
        (target_id_twice, "targets[1].id: target id 't' is already used by targets[0]"),
    ],
)
def test_each_mistake_is_named_and_nothing_is_written(
    config_doc, write_config, landing, mistake, message
):
    # GIVEN a config with one mistake
    mistake(config_doc)
    path = write_config(config_doc)
    # WHEN it is loaded and landed
    with pytest.raises(ConfigError) as error:
        land_config(load_config(path), landing)
    # THEN the message names the key path and the expectation, and no table is written
    assert message in str(error.value)
    assert "1 mistake;" in str(error.value)
    assert not landing.exists()


def test_all_mistakes_are_reported_at_once(config_doc, write_config):
    set_kind(config_doc)
    pue_below_one(config_doc)
    unknown_cluster_site(config_doc)
    with pytest.raises(ConfigError) as error:
        load_config(write_config(config_doc))
    message = str(error.value)
    assert "has 3 mistakes; nothing was written" in message
    assert (
        "systems[1].kind" in message
        and "sites[0].pue[0].value" in message
        and "clusters[1].site" in message
    )


def test_broken_config_leaves_landed_org_tables_as_they_were(config_doc, write_config, landing):
    # GIVEN org tables landed from a valid config
    path = write_config(config_doc)
    land_config(load_config(path), landing)
    before = (landing / "org/systems/snapshot=current/part-0.parquet").read_bytes()
    # WHEN the config is edited into an invalid one
    set_kind(config_doc)
    write_config(config_doc)
    with pytest.raises(ConfigError):
        land_config(load_config(path), landing)
    # THEN the tables and the ledger are untouched
    assert (landing / "org/systems/snapshot=current/part-0.parquet").read_bytes() == before
    assert len(read_ledger(landing)) == len(ORG_SCHEMAS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "organisation: {name: A, name: B}\n",
            "key 'name' is given twice in one mapping (first on line 1)",
        ),
        ("organisation: [unclosed\n", "is not valid YAML"),
        ("", "expected a mapping with keys organisation, methodology"),
        ("- just\n- a list\n", "expected a mapping with keys organisation, methodology"),
    ],
)
def test_unreadable_yaml_is_refused(tmp_path, text, message):
    path = tmp_path / "org.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert message in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yml not found"):
        load_config(tmp_path / "nowhere.yml")


def test_minimal_cloud_only_config_lands_empty_on_premises_tables(write_config, landing):
    # GIVEN an organisation with no sites, clusters or hardware, and only GCP
    doc = {
        "organisation": {"name": "Cloud Only", "reporting_year": 2025},
        "methodology": {
            "grid_factor_set": "default",
            "gpu_utilisation_default": 0.6,
            "allocation_basis": "usage",
        },
        "systems": [
            {
                "id": "bot",
                "name": "Bot",
                "kind": "fine_tuning_workflow",
                "owner": "me@example.org",
                "match": {"gcp_label": {"app": ["bot-*", "bot"]}},
            }
        ],
        "sources": {"gcp_carbon": {"project": "p", "dataset": "d"}},
    }
    config = load_config(write_config(doc))
    assert config.sources.aws_cur is None and config.sources.gcp_carbon.project == "p"
    # WHEN landed THEN the on-premises tables exist, empty, with their schemas
    land_config(config, landing)
    assert org_table(landing, "clusters").num_rows == 0
    assert org_table(landing, "hardware").schema == ORG_SCHEMAS["hardware"]
    # AND without targets the targets table is there, empty
    assert org_table(landing, "targets").num_rows == 0
    assert [r["like_pattern"] for r in org_table(landing, "attribution_rules").to_pylist()] == [
        "bot-%",
        "bot",
    ]


def test_workload_rules_hosts_and_metered_idle_energy_land(config_doc, write_config, landing):
    # GIVEN Kubernetes and CodeCarbon rules, cluster hosts, a metered idle
    # figure, a CodeCarbon cluster and a minimum inference idle share
    config_doc["systems"][0]["match"]["k8s_namespace"] = ["chat-prod"]
    config_doc["systems"][0]["match"]["k8s_pod"] = ["chat-api-*"]
    config_doc["systems"][1]["match"]["codecarbon_project"] = ["lm-*"]
    config_doc["systems"][1]["match"]["codecarbon_experiment"] = ["5b0fa12a-*"]
    config_doc["clusters"][0]["hosts"] = ["gpu-a??", "dgx_1"]
    config_doc["clusters"][0]["idle_energy"] = [
        {**IDLE, "source": "Luccioni et al. 2023", "metered_at": "facility"},
        {"from": dt.date(2022, 7, 1), "to": dt.date(2022, 8, 1), "kwh": 10.5, "source": "PDU"},
    ]
    config_doc["methodology"]["inference_min_idle_share"] = 0.3
    config_doc["sources"]["codecarbon"] = {"cluster": "hpc2"}
    # WHEN the config is loaded and landed
    land_config(load_config(write_config(config_doc)), landing)
    # THEN the rules follow the systems' order, globs made LIKE patterns
    rules = [
        (r["system_id"], r["source_type"], r["like_pattern"])
        for r in org_table(landing, "attribution_rules").to_pylist()
    ]
    assert ("chat", "k8s_namespace", "chat-prod") in rules
    assert ("chat", "k8s_pod", "chat-api-%") in rules
    assert ("pretrain", "codecarbon_project", "lm-%") in rules
    assert ("pretrain", "codecarbon_experiment", "5b0fa12a-%") in rules
    # AND hosts and metered idle energy are tables of their own; metered_at defaults to it
    assert org_table(landing, "cluster_hosts").to_pylist() == [
        {"cluster": "hpc1", "like_pattern": "gpu-a__"},
        {"cluster": "hpc1", "like_pattern": "dgx\\_1"},
    ]
    assert org_table(landing, "cluster_idle_energy").to_pylist() == [
        {
            "cluster": "hpc1",
            "valid_from": dt.date(2022, 3, 1),
            "valid_to": dt.date(2022, 7, 1),
            "kwh": 256646.0,
            "source": "Luccioni et al. 2023",
            "metered_at": "facility",
        },
        {
            "cluster": "hpc1",
            "valid_from": dt.date(2022, 7, 1),
            "valid_to": dt.date(2022, 8, 1),
            "kwh": 10.5,
            "source": "PDU",
            "metered_at": "it",
        },
    ]
    # AND the optional settings are written because they are set
    settings = {r["key"]: r["value"] for r in org_table(landing, "settings").to_pylist()}
    assert settings["inference_min_idle_share"] == "0.3"
    assert settings["codecarbon_cluster"] == "hpc2"


def test_azure_tag_rules_land_with_their_key_and_need_one(config_doc, write_config, landing):
    # GIVEN a system claiming Azure resources (FOCUS rows of Azure) by tag
    config_doc["systems"][0]["match"]["azure_tag"] = {"ai-system": ["chat", "chat-*"]}
    # WHEN the config is loaded and landed
    land_config(load_config(write_config(config_doc)), landing)
    # THEN each pattern is a rule of type azure_tag with the tag key, like aws_tag
    rules = [
        (r["system_id"], r["source_type"], r["tag_key"], r["like_pattern"])
        for r in org_table(landing, "attribution_rules").to_pylist()
        if r["source_type"] == "azure_tag"
    ]
    assert rules == [
        ("chat", "azure_tag", "ai-system", "chat"),
        ("chat", "azure_tag", "ai-system", "chat-%"),
    ]
    # AND like the other tag rules, patterns without a tag key are refused
    config_doc["systems"][0]["match"]["azure_tag"] = ["chat"]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(config_doc))
    assert (
        "systems[0].match.azure_tag: expected a mapping of tag key to pattern(s), got a list"
        in str(error.value)
    )


def test_a_target_lands_with_its_scope_and_the_location_method_by_default(
    config_doc, write_config, landing
):
    # GIVEN a Scope 2 target without a method
    config_doc["targets"] = [{**TARGET, "ghg_scope": 2}]
    # WHEN it is loaded and landed
    land_config(load_config(write_config(config_doc)), landing)
    # THEN it lands as a location-based Scope 2 target
    assert org_table(landing, "targets").to_pylist() == [
        {
            "target_id": "t",
            "baseline_year": 2025,
            "target_year": 2030,
            "reduction_pct": 50.0,
            "method": "location",
            "ghg_scope": 2,
        }
    ]


def test_the_gpu_power_ceiling_is_the_same_in_the_config_and_in_dbt():
    # One ceiling: a configured gpu_power_w above it is refused here, and a Slurm
    # meter reading implying more per GPU is set aside in int_slurm_energy_estimated.
    project = yaml.safe_load((EXAMPLE.parents[1] / "dbt_project" / "dbt_project.yml").read_text())
    assert project["vars"]["max_gpu_power_w"] == org_config.MAX_GPU_POWER_W == 3000
