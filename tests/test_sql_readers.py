"""People's SQL connections: read-only, and never disturbed by a build.

GIVEN a published warehouse and a read-only connection an analyst opened on it,
WHEN transform.build builds a new warehouse on its private copy (dbt is
replaced here by a stand-in that changes one figure) and publishes it by a rename,
THEN the open connection keeps reading the warehouse it opened, a connection
opened afterwards (another process, as another analyst) reads the new one, and
neither a read-only connection nor `python -m transform.sql` can write.
"""

import subprocess
import sys

import duckdb
import pytest

from helpers import ROOT
from transform import build


def figure(con) -> float:
    return con.execute("select kg_co2e from fct_emissions").fetchone()[0]


def figure_in_another_process(path) -> float:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select kg_co2e from fct_emissions').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


@pytest.fixture
def published(tmp_path, monkeypatch):
    path = tmp_path / "warehouse" / "ai_carbon.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as con:
        con.execute("create table fct_emissions as select 1.0 as kg_co2e")
    monkeypatch.setenv("AI_CARBON_WAREHOUSE", str(path))

    def stand_in_for_dbt(args, warehouse, settings=None):
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update fct_emissions set kg_co2e = 2.0")
        return "PASS=1"

    monkeypatch.setattr(build, "run_dbt", stand_in_for_dbt)
    return path


def test_an_open_reader_keeps_its_warehouse_while_a_build_publishes_a_new_one(published):
    reader = duckdb.connect(str(published), read_only=True)
    try:
        assert figure(reader) == 1.0
        built = build.build("reader-test")
        assert figure(reader) == 1.0  # the build wrote its private copy only
        assert build.publish(built) == published
        assert figure(reader) == 1.0  # still the file it opened
        assert figure_in_another_process(published) == 2.0
    finally:
        reader.close()


def test_a_read_only_connection_cannot_write(published):
    with duckdb.connect(str(published), read_only=True) as reader:
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("update fct_emissions set kg_co2e = 0")
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("create table notes as select 1 as n")
    result = subprocess.run(
        [sys.executable, "-m", "transform.sql", "drop table fct_emissions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "read-only" in result.stderr
    assert figure_in_another_process(published) == 1.0
