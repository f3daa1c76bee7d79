"""Test-wide settings: a private Airflow home, and helpers to run the real CLI.

Airflow reads its configuration when first imported, so the environment is
set here, before any test module imports it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ai-carbon-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    PYTHONPATH=str(ROOT),
    DBT_SEND_ANONYMOUS_USAGE_STATS="false",
)


def run(command: list[str], env: dict[str, str] | None = None, timeout: int = 900):
    """Run a command of the venv; on failure show its output in the assertion."""
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    )
    return result


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB with the warehouse pool and serialized DAGs."""
    run([str(BIN / "airflow"), "db", "migrate"])
    run([str(BIN / "airflow"), "pools", "set", "warehouse_writer", "1", "single DuckDB writer"])
    run([str(BIN / "airflow"), "dags", "reserialize"])
    return _AIRFLOW_HOME
