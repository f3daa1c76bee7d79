"""The command line ``python -m extractors``: what it prints, and how it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from extractors import catalog
from extractors.__main__ import SOURCES, main, months_between
from extractors.org_config import ORG_SCHEMAS

pytest_plugins = ["extractor_fixtures"]

ROOT = Path(__file__).resolve().parents[2]
SACCT = (
    "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|ConsumedEnergyRaw|NodeList\n"
    "1|lm-a|u|a|gpu|COMPLETED|2025-01-01T00:00:00|2025-01-01T01:00:00|3600|gres/gpu=1|0|n1\n"
)


@pytest.fixture
def env(monkeypatch, sources, landing, org_config):
    """The CLI's environment: the test's sources, landing and config."""
    values = {
        "AI_CARBON_SOURCES": str(sources),
        "AI_CARBON_LANDING": str(landing),
        "AI_CARBON_CONFIG": str(org_config.path),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def write(sources: Path, relative: str, text: str) -> None:
    path = sources / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_sources_match_the_catalog_the_dag_uses():
    assert tuple(SOURCES) == catalog.SOURCE_NAMES


def test_months_between_is_inclusive():
    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_all_lands_config_then_each_source_per_month(env, sources, capsys):
    # GIVEN Slurm and inference deliveries for January and February
    for month in ("2025-01", "2025-02"):
        write(sources, f"slurm/hpc1/sacct_{month}.txt", SACCT)
        write(
            sources,
            f"inference/requests_{month}.csv",
            f"timestamp,service,requests,tokens\n{month}-01T00:00:00Z,chat-api,5,\n",
        )
    # WHEN everything is run for both months
    assert main(["all", "--from-month", "2025-01", "--to-month", "2025-02"]) == 0
    # THEN one line per load: the org tables, then the delivered sources by month
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "org systems snapshot=current loaded 2",
        "org attribution_rules snapshot=current loaded 4",
    ]
    assert lines[len(ORG_SCHEMAS) :] == [
        "slurm jobs month=2025-01 loaded 1",
        "inference requests month=2025-01 loaded 1",
        "slurm jobs month=2025-02 loaded 1",
        "inference requests month=2025-02 loaded 1",
    ]
    # AND a rerun reports every load unchanged
    assert main(["all", "--from-month", "2025-01", "--to-month", "2025-02"]) == 0
    assert {line.split()[3] for line in capsys.readouterr().out.splitlines()} == {"unchanged"}


def test_one_source_one_month(env, sources, capsys):
    write(sources, "slurm/hpc1/sacct_2025-03.txt", SACCT)
    assert main(["slurm", "--month", "2025-03"]) == 0
    assert capsys.readouterr().out == "slurm jobs month=2025-03 loaded 1\n"


def test_source_error_exits_2_with_the_message_only(env, sources, landing, capsys):
    # A malformed job line is quarantined; a header without a required field is not.
    write(sources, "slurm/hpc1/sacct_2025-01.txt", SACCT.replace("|NodeList", "|Nodes", 1))
    assert main(["slurm", "--month", "2025-01"]) == 2
    err = capsys.readouterr().err
    assert (
        "error: slurm/hpc1/sacct_2025-01.txt, line 1: header lacks required field(s) NodeList"
        in err
    )
    assert "Traceback" not in err
    assert not (landing / "slurm").exists()


def test_config_error_exits_2(env, monkeypatch, tmp_path, landing, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("organisation: {name: X}\n")
    monkeypatch.setenv("AI_CARBON_CONFIG", str(bad))
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert "organisation.reporting_year: required key is missing" in err
    assert not landing.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["slurm", "--month", "2025-13"],
        ["slurm"],
        ["all", "--from-month", "2025-03", "--to-month", "2025-01"],
        ["all", "--to-month", "2025-01", "--month", "2025-01"],
        ["nonsense", "--month", "2025-01"],
    ],
)
def test_bad_arguments_exit_2(env, argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_python_dash_m_entry_point(env, sources):
    # GIVEN a real interpreter running the module as a user would
    write(
        sources,
        "inference/requests_2025-01.csv",
        "timestamp,service,requests,tokens\n2025-01-01T00:00:00Z,chat-api,5,7\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "extractors", "inference", "--month", "2025-01", "--quiet"],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "inference requests month=2025-01 loaded 1\n"
    assert result.stderr == ""
