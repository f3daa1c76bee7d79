"""The BLOOM worked example (Luccioni et al. 2023), through the normal inputs.

GIVEN a Slurm accounting file of the Jean Zay cluster with 1,082,990 A100-hours
of BLOOM training jobs, the cluster configured to draw 400 W per GPU, a site of
PUE 1.2 on a 57 gCO2e/kWh grid (the paper's factor, shipped as factor set
`luccioni_2023`), the cluster's measured idle consumption over the training
(the paper's 256,646 kWh, entered as `clusters[].idle_energy`, a figure of the
facility's meter: no PUE is added to it), and the hardware BLOOM trained on
(`hardware`: 48 servers of 8 A100, the embodied_hardware seed's 2,500 kg per
server and 150 kg per GPU, 6-year life, 85 % use),
WHEN the nightly DAG runs through Airflow (`airflow dags test`),
THEN the published warehouse holds, computed by hand:

  GPU-hours        3,898,764,000 GPU-s / 3600           = 1,082,990
  training IT      1,082,990 h x 400 W / 1000            =   433,196    kWh
  PUE overhead     433,196 x (1.2 - 1)                   =    86,639.2  kWh
  training         433,196 x 0.057                       =    24,692.172 kg  (24.69 t)
  overhead         86,639.2 x 0.057                      =     4,938.4344 kg (4.94 t)
  idle             256,646 x 0.057                       =    14,628.822 kg  (14.63 t)
  Scope 2 total    24,692.172 + 4,938.4344 + 14,628.822  =    44,259.4284 kg

  embodied, amortised per hour of use over 6 x 8,760 x 0.85 = 44,676 h:
    per server-hour   2,500 / 44,676                     = 0.0559585 kg
    per GPU-hour        150 / 44,676                     = 0.0033575 kg
    GPUs              1,082,990 GPU-h x 150 / 44,676     =  3,636.1469 kg
    servers           1,082,990 / 8 = 135,373.75 server-h
                      x 2,500 / 44,676                   =  7,575.3061 kg
    embodied                                             = 11,211.4530 kg  (11.2 t)
  dynamic + idle + embodied  24,692.172 + 14,628.822 + 11,211.453 = 50,532.447 kg (50.5 t)
  acquisition (GHG inventory, Scope 3 category 2, 2022)
                   48 x (2,500 + 8 x 150)                =   177,600 kg
"""

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from helpers import BIN, run

pytestmark = pytest.mark.e2e

GPU_SECONDS = 1_082_990 * 3600  # 3,898,764,000
GPU_HOURS = 1_082_990
EXPECTED_USE_HOURS = 6 * 8760 * 0.85  # 44,676
EMBODIED_KG = GPU_HOURS * 150 / EXPECTED_USE_HOURS + GPU_HOURS / 8 * 2500 / EXPECTED_USE_HOURS
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
  - name: jean-zay
    site: jean-zay
    gpu_model: A100
    gpu_power_w: 400
    idle_energy:
      - from: 2022-03-01
        to: 2022-07-01
        kwh: 256646
        source: Luccioni et al. 2023 (JMLR 24(253)), idle consumption of the BLOOM training
        metered_at: facility
hardware:
  - id: jean-zay-bloom-nodes
    site: jean-zay
    server_model: bloom-jean-zay-8xa100
    gpu_model: A100
    gpus_per_server: 8
    servers: 48
    acquired_on: 2022-03-01
    lifetime_years: 6
    use_share: 0.85
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
    # the dynamic consumption: busy GPUs (the idle draw is training too, as gpu_idle)
    [(kwh, kg)] = query(
        bloom_warehouse,
        "select sum(energy_kwh), sum(kg_co2e) from fct_emissions "
        "where emission_category = 'training' and activity = 'gpu' and method = 'location'",
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
        "select ghg_scope, scope3_category, location_based_tco2e, market_based_tco2e "
        "from reporting.annual_disclosure where year = 2022 order by ghg_scope",
    )
    # Scope 2: the electricity (dynamic + its PUE overhead + the metered idle draw);
    # Scope 3 category 2: the hardware, booked in the year it was acquired.
    assert [(r[0], r[1]) for r in rows] == [(2, None), (3, 2)]
    # No contractual instrument and no residual mix for FR: market falls back to location.
    assert rows[0][2] == pytest.approx(29.6306064 + 14.628822, abs=1e-6)
    assert rows[0][3] == pytest.approx(29.6306064 + 14.628822, abs=1e-6)
    assert rows[1][2] == pytest.approx(177.6, abs=1e-9)
    assert rows[1][3] == pytest.approx(177.6, abs=1e-9)


def test_market_based_fallback_is_flagged(bloom_warehouse):
    # electricity rows (embodied rows are not electricity and carry no fallback)
    [(flagged,)] = query(
        bloom_warehouse,
        "select bool_and(market_fallback_to_location) from fct_emissions "
        "where method = 'market' and accounting_basis = 'activity'",
    )
    assert flagged is True


def test_measured_idle_consumption_is_attributed_to_the_system_that_held_the_cluster(
    bloom_warehouse,
):
    rows = query(
        bloom_warehouse,
        "select system_id, emission_category, ghg_scope, tier, source, "
        "sum(energy_kwh), sum(kg_co2e) from fct_emissions "
        "where activity = 'gpu_idle' and method = 'location' group by all",
    )
    assert len(rows) == 1
    system, category, scope, tier, source, kwh, kg = rows[0]
    assert (system, category, scope, tier, source) == (
        "bloom-176b",
        "training",
        2,
        "measured",
        "cluster_idle_energy",
    )
    assert kwh == pytest.approx(256_646, abs=1e-6)
    assert kg == pytest.approx(14_628.822, abs=1e-6)  # 256,646 x 0.057


def test_embodied_emissions_are_amortised_per_hour_of_use_like_the_paper(bloom_warehouse):
    # 3,636.1469 kg (GPUs) + 7,575.3061 kg (servers) = 11,211.4530 kg
    assert abs(EMBODIED_KG - 11_211.453017) < 1e-6
    [(kg, unattributed_kg)] = query(
        bloom_warehouse,
        "select sum(case when system_id = 'bloom-176b' then kg_co2e end), "
        "coalesce(sum(case when system_id = 'unattributed' then kg_co2e end), 0) "
        "from fct_emissions where accounting_basis = 'amortised' and method = 'location'",
    )
    assert kg == pytest.approx(EMBODIED_KG, abs=1e-6)
    # BLOOM used its 384 GPUs beyond the expected 85 %: no idle capacity is left over
    assert unattributed_kg == 0
    [(server_rate, gpu_rate)] = query(
        bloom_warehouse,
        "select max(server_kg_per_server_hour), max(gpu_kg_per_gpu_hour) "
        "from int_embodied_emissions_calculated where accounting_basis = 'amortised'",
    )
    assert server_rate == pytest.approx(2500 / 44_676)  # 0.0560 kg per server-hour
    assert gpu_rate == pytest.approx(150 / 44_676)  # 0.00336 kg per GPU-hour


def test_hardware_is_booked_in_its_acquisition_year(bloom_warehouse):
    rows = query(
        bloom_warehouse,
        "select year, servers_added, gpus_added, acquired_kg_co2e, gpus_retired "
        "from fct_hardware_refresh order by year",
    )
    # acquired 2022-03-01; 6 x 8,760 h later is 2028-02-28
    assert rows == [(2022, 48, 384, pytest.approx(177_600), 0), (2028, 0, 0, 0.0, 384)]


def test_dynamic_idle_and_embodied_make_the_papers_total(bloom_warehouse):
    [(kg,)] = query(
        bloom_warehouse,
        "select sum(kg_co2e) from fct_emissions where method = 'location' and ("
        "(emission_category = 'training' and activity in ('gpu', 'gpu_idle')) "
        "or accounting_basis = 'amortised')",
    )
    assert kg == pytest.approx(24_692.172 + 14_628.822 + EMBODIED_KG, abs=1e-6)
    assert round(kg / 1000, 1) == 50.5


def test_gpu_usage_fact_and_training_runs_carry_the_dynamic_figure(bloom_warehouse):
    [(gpu_hours, kwh, tiers)] = query(
        bloom_warehouse,
        "select sum(gpu_hours), sum(it_kwh), string_agg(distinct tier, ',') from fct_gpu_usage",
    )
    assert gpu_hours == pytest.approx(GPU_HOURS, abs=1e-6)
    assert kwh == pytest.approx(433_196, abs=1e-3)
    assert tiers == "estimated"
    [(runs, statuses, kg)] = query(
        bloom_warehouse,
        "select count(*), string_agg(distinct run_status, ','), sum(kg_co2e) from fct_training_runs",
    )
    # 13 Slurm jobs of the training system, no MLflow: each a run, all completed
    assert (runs, statuses) == (13, "succeeded")
    assert kg == pytest.approx(24_692.172, abs=1e-3)


def test_model_disclosure_states_the_papers_figures(bloom_warehouse):
    # One trained model, the training pipeline: A100, 1,082,990 GPU-hours, 433,196 kWh
    # dynamic, 256,646 kWh idle, 86,639.2 kWh PUE overhead (776,481.2 kWh in all), every
    # activity row at France's 57 g/kWh; training = dynamic 24,692.172 + idle 14,628.822
    # = 39,320.994 kg, no failed run (13 jobs, all COMPLETED); embodied 11,211.453 kg.
    [row] = query(
        bloom_warehouse,
        "select system_id, kind, is_fine_tuning, runs, failed_runs, gpu_models, gpu_hours, "
        "training_it_kwh, idle_kwh, facility_overhead_kwh, energy_kwh, locations, grid_zones, "
        "location_g_co2e_per_kwh, training_kg_co2e, idle_kg_co2e, failed_runs_kg_co2e, "
        "embodied_kg_co2e, disclosure_completeness, missing_disclosures "
        "from reporting.model_disclosure",
    )
    assert row[:6] == ("bloom-176b", "training_pipeline", False, 13, 0, "A100")
    assert row[6] == pytest.approx(GPU_HOURS, abs=1e-6)
    assert row[7:11] == pytest.approx((433_196, 256_646, 86_639.2, 776_481.2), abs=1e-3)
    assert row[11:13] == ("on_prem:jean-zay", "FR")
    assert row[13] == pytest.approx(57.0, abs=1e-9)
    assert row[14:17] == pytest.approx((39_320.994, 14_628.822, 0.0), abs=1e-3)
    assert row[17] == pytest.approx(EMBODIED_KG, abs=1e-6)
    # dynamic + idle + embodied: the paper's 50.5 t
    assert round((row[14] + row[17]) / 1000, 1) == 50.5
    # all eight fields present (hardware, GPU-hours, energy, location, emissions, run
    # outcomes, training period, embodied)
    assert row[18:] == (1.0, None)
