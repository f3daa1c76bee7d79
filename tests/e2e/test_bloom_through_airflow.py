"""The BLOOM worked example (Luccioni et al. 2023), through the normal inputs.

GIVEN a Slurm accounting file of the Jean Zay cluster with 1,082,990 A100-hours
of BLOOM training jobs, the cluster configured to draw 400 W per GPU, a site of
PUE 1.2 on a 57 gCO2e/kWh grid (the paper's factor, shipped as factor set
`luccioni_2023`),
WHEN the nightly DAG runs through Airflow (`airflow dags test`),
THEN the published warehouse holds, computed by hand:

  GPU-hours        3,898,764,000 GPU-s / 3600           = 1,082,990
  training IT      1,082,990 h x 400 W / 1000            =   433,196    kWh
  PUE overhead     433,196 x (1.2 - 1)                   =    86,639.2  kWh
  training         433,196 x 0.057                       =    24,692.172 kg  (24.69 t)
  overhead         86,639.2 x 0.057                      =     4,938.4344 kg (4.94 t)
  Scope 2 total    24,692.172 + 4,938.4344               =    29,630.6064 kg
"""

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from helpers import BIN, run

pytestmark = pytest.mark.e2e

GPU_SECONDS = 1_082_990 * 3600  # 3,898,764,000
HEADER = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|ConsumedEnergyRaw|NodeList"
BIG_TRES = "billing=3072,cpu=3072,gres/gpu:a100=384,gres/gpu=384,mem=23040G,node=48"
SMALL_TRES = "billing=64,cpu=64,gres/gpu:a100=8,gres/gpu=8,mem=480G,node=1"

CONFIG = """
organisation: {name: BigScience BLOOM worked example, reporting_year: 2022}
methodology: {grid_factor_set: luccioni_2023, gpu_utilisation_default: 0.5, allocation_basis: cost}
systems:
  - id: bloom-176b
    name: BLOOM 176B
    kind: training_pipeline
    owner: bigscience
    description: Training of BLOOM on Jean Zay, 2022.
    match: {slurm_job_name: ["bloom-*"]}
sites:
  - id: jean-zay
    name: Jean Zay (IDRIS)
    grid_zone: FR
    country: FR
    pue: [{from: 2022-01-01, value: 1.2}]
clusters:
  - {name: jean-zay, site: jean-zay, gpu_model: A100, gpu_power_w: 400}
sources:
  slurm: {clusters: [jean-zay]}
"""


def bloom_jobs() -> list[tuple[str, dt.datetime, int, str]]:
    """12 jobs of 384 GPUs (846,086 s each but the last, 846,085 s: 10,153,031 s in
    all = 3,898,763,904 GPU-s) plus one 8-GPU job of 12 s (96 GPU-s), three per
    month from March to June 2022, each inside its month."""
    jobs = []
    for index in range(12):
        month_start = dt.datetime(2022, 3 + index // 3, 1)
        start = month_start + dt.timedelta(seconds=(index % 3) * 846_086)
        jobs.append((f"bloom-176b-{index}", start, 846_086 if index < 11 else 846_085, BIG_TRES))
    jobs.append(("bloom-176b-tail", dt.datetime(2022, 6, 30, 12), 12, SMALL_TRES))
    assert sum(s * (384 if t == BIG_TRES else 8) for _, _, s, t in jobs) == GPU_SECONDS
    return jobs


def write_sources(sources: Path) -> None:
    by_month: dict[str, list[str]] = {}
    for job_id, (name, start, seconds, tres) in enumerate(bloom_jobs(), start=1000):
        end = start + dt.timedelta(seconds=seconds)
        line = "|".join(
            [
                str(job_id),
                name,
                "bigscience",
                "six",
                "gpu_p5",
                "COMPLETED",
                start.isoformat(),
                end.isoformat(),
                str(seconds),
                tres,
                "0",
                "jean-zay-iam[01-48]",
            ]
        )
        by_month.setdefault(start.strftime("%Y-%m"), []).append(line)
    folder = sources / "slurm" / "jean-zay"
    folder.mkdir(parents=True)
    for month, lines in by_month.items():
        (folder / f"sacct_{month}.txt").write_text("\n".join([HEADER, *lines]) + "\n")


@pytest.fixture(scope="module")
def bloom_warehouse(airflow_db, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("bloom")
    write_sources(work / "sources")
    (work / "org.yml").write_text(CONFIG)
    env = {
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_LANDING": str(work / "landing"),
        "AI_CARBON_WAREHOUSE": str(work / "warehouse" / "ai_carbon.duckdb"),
        "AI_CARBON_CONFIG": str(work / "org.yml"),
    }
    conf = json.dumps({"from_month": "2022-03", "to_month": "2022-06"})
    run([str(BIN / "airflow"), "dags", "test", "ai_carbon_nightly", "2022-07-01", "-c", conf], env)
    return work / "warehouse" / "ai_carbon.duckdb"


def query(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_training_energy_and_emissions_match_the_paper(bloom_warehouse):
    [(kwh, kg)] = query(
        bloom_warehouse,
        "select sum(energy_kwh), sum(kg_co2e) from fct_emissions "
        "where emission_category = 'training' and method = 'location'",
    )
    assert kwh == pytest.approx(433_196, abs=1e-3)
    assert kg == pytest.approx(24_692.172, abs=1e-3)


def test_pue_overhead_is_data_and_infrastructure(bloom_warehouse):
    [(kwh, kg)] = query(
        bloom_warehouse,
        "select sum(energy_kwh), sum(kg_co2e) from fct_emissions "
        "where emission_category = 'data_infrastructure' and activity = 'facility_overhead' "
        "and method = 'location'",
    )
    assert kwh == pytest.approx(86_639.2, abs=1e-3)
    assert kg == pytest.approx(4_938.4344, abs=1e-3)


def test_annual_disclosure_reports_scope_2_both_methods(bloom_warehouse):
    rows = query(
        bloom_warehouse,
        "select ghg_scope, location_based_tco2e, market_based_tco2e "
        "from reporting.annual_disclosure where year = 2022 order by ghg_scope",
    )
    assert [r[0] for r in rows] == [2]
    # No contractual instrument and no residual mix for FR: market falls back to location.
    assert rows[0][1] == pytest.approx(29.6306064, abs=1e-6)
    assert rows[0][2] == pytest.approx(29.6306064, abs=1e-6)


def test_market_based_fallback_is_flagged(bloom_warehouse):
    [(flagged,)] = query(
        bloom_warehouse,
        "select bool_and(market_fallback_to_location) from fct_emissions where method = 'market'",
    )
    assert flagged is True
