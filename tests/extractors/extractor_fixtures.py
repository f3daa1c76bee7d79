"""Shared fixtures of the extractor tests, loaded with ``pytest_plugins``.

A sources folder and a landing folder under ``tmp_path``, an organisation
config written as YAML and loaded by the real loader, settings pointing at
all three, and helpers to read back the ledger and the landed partitions.

Why not ``tests/extractors/conftest.py``: ``tests/test_dag_integrity.py`` and
the e2e tests do ``from helpers import ...``, and pytest imports every
``conftest.py`` under the module name ``conftest``, so a second one here
would shadow ``tests/conftest.py`` for them.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from extractors.landing import read_ledger
from extractors.org_config import OrgConfig, load_config
from extractors.settings import Settings

MONTH = "2025-01"

# A small organisation using every source; tests copy and edit it.
BASE_CONFIG: dict = {
    "organisation": {"name": "Test Org", "reporting_year": 2025},
    "methodology": {
        "grid_factor_set": "default",
        "gpu_utilisation_default": 0.5,
        "allocation_basis": "cost",
    },
    "systems": [
        {
            "id": "chat",
            "name": "Chat assistant",
            "kind": "production_inference",
            "owner": "ml@example.org",
            "match": {"aws_tag": {"ai-system": "chat"}, "inference_service": ["chat-*"]},
        },
        {
            "id": "pretrain",
            "name": "LM pre-training",
            "kind": "training_pipeline",
            "owner": "research@example.org",
            "match": {"slurm_job_name": ["lm-*"], "mlflow_experiment": ["lm-pretrain"]},
        },
    ],
    "sites": [
        {
            "id": "dc1",
            "name": "Data centre 1",
            "grid_zone": "DE",
            "country": "DE",
            "pue": [{"from": dt.date(2024, 1, 1), "value": 1.3}],
        }
    ],
    "clusters": [
        {"name": "hpc1", "site": "dc1", "gpu_model": "A100"},
        {"name": "hpc2", "site": "dc1", "gpu_model": "H100"},
    ],
    "sources": {
        "aws_cur": {"bucket": "billing", "prefix": "cur2", "exports": ["cur-a", "cur-b"]},
        "aws_carbon": {"bucket": "billing", "prefix": "carbon", "exports": ["carbon"]},
        "gcp_billing": {
            "project": "finops",
            "dataset": "billing",
            "billing_account_id": "01ABCD-234567-89EFGH",
        },
        "gcp_carbon": {"project": "finops", "dataset": "billing"},
        "slurm": {"clusters": ["hpc1", "hpc2"]},
        "mlflow": {},
        "inference": {},
    },
}


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources"
    path.mkdir()
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def config_doc() -> dict:
    """The test organisation's config as a YAML document, free to edit."""
    return copy.deepcopy(BASE_CONFIG)


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config document as YAML; returns its path."""

    def write(doc: dict, name: str = "org.yml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def org_config(config_doc: dict, write_config) -> OrgConfig:
    return load_config(write_config(config_doc))


@pytest.fixture
def settings(sources: Path, landing: Path, org_config: OrgConfig) -> Settings:
    return Settings(sources=sources, landing=landing, config=org_config.path)


@pytest.fixture
def ledger(landing: Path):
    """The ledger's records so far."""
    return lambda: read_ledger(landing)


@pytest.fixture
def landed(landing: Path):
    """The landed file of a partition, and a reader for its table."""

    class Landed:
        def path(self, source: str, dataset: str, month: str = MONTH) -> Path:
            return landing / source / dataset / f"month={month}" / "part-0.parquet"

        def table(self, source: str, dataset: str, month: str = MONTH) -> pa.Table:
            return pq.read_table(self.path(source, dataset, month))

    return Landed()
