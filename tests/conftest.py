"""Test-wide settings: a private Airflow home and a migrated metadata DB.

Airflow reads its configuration when first imported, so the environment is
set here, before any test module imports it.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from helpers import BIN, ROOT, run

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ai-carbon-airflow-"))
_SCRATCH = Path(tempfile.mkdtemp(prefix="ai-carbon-tests-"))
# Removed when this process ends (each xdist worker has its own): a `make test`
# left both behind, a few MB a run.
for _folder in (_AIRFLOW_HOME, _SCRATCH):
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)
os.environ.update(
    # never the project's own frozen disclosures or reports
    AI_CARBON_DISCLOSURES=str(_SCRATCH / "disclosures"),
    AI_CARBON_REPORTS=str(_SCRATCH / "reports"),
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    PYTHONPATH=str(ROOT),
    DBT_SEND_ANONYMOUS_USAGE_STATS="false",
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB with the warehouse pool and serialized DAGs."""
    run([str(BIN / "airflow"), "db", "migrate"])
    run([str(BIN / "airflow"), "pools", "set", "warehouse_writer", "1", "single DuckDB writer"])
    run([str(BIN / "airflow"), "dags", "reserialize"])
    return _AIRFLOW_HOME
