"""The telemetry chain is incremental by month: a month of DCGM read again
recomputes that month's device-hours and their matching to workloads alone,
a delivery of Slurm jobs recomputes the matching of the months those jobs can
claim, and the result is that of a full rebuild (macros/incremental_telemetry.sql).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import yaml
from test_incremental import (
    CHAINED_MODELS,
    DEVICE_MODELS,
    _full_refresh_figures,
    every_mart_and_view,
    every_row,
    last_build_log,
)

# Two GPUs on each of two of the demo cluster's A100 nodes, which its Slurm jobs use.
DEVICE_GPUS = (("gpu-a01", "0"), ("gpu-a01", "1"), ("gpu-a02", "0"), ("gpu-a02", "1"))
# The demo's job across the month end (harness.CROSSING_JOB, 22:00 on 31 January
# to 02:00 on 1 February on gpu-a02) is named by gpu-a02's DCGM label in those hours.
CROSSING_JOB_ID, CROSSING_HOST = "99002", "gpu-a02"
CROSSING_SPAN = (
    dt.datetime(2025, 1, 31, 22, tzinfo=dt.UTC),
    dt.datetime(2025, 2, 1, 2, tzinfo=dt.UTC),
)


def land_dcgm(workspace, month: str, watts: float) -> None:
    """DCGM's hourly rows of DEVICE_GPUS for every hour of ``month``, each GPU
    drawing ``watts`` all hour, landed as the DCGM extractor lands them."""
    import pyarrow as pa

    from extractors import prometheus_dcgm
    from extractors.landing import land_table, month_partition

    start = dt.datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    hours = [start + dt.timedelta(hours=n) for n in range((end - start) // dt.timedelta(hours=1))]
    rows = [(hour, host, gpu) for hour in hours for host, gpu in DEVICE_GPUS]
    count = len(rows)
    table = pa.Table.from_pydict(
        {
            "hour": [hour for hour, _, _ in rows],
            "uuid": [f"GPU-{host}-{gpu}" for _, host, gpu in rows],
            "hostname": [host for _, host, _ in rows],
            "gpu": [gpu for _, _, gpu in rows],
            "model_name": ["NVIDIA A100-SXM4-80GB"] * count,
            "pod": [None] * count,
            "namespace": [None] * count,
            "container": [None] * count,
            "hpc_job": [
                CROSSING_JOB_ID
                if host == CROSSING_HOST and CROSSING_SPAN[0] <= hour < CROSSING_SPAN[1]
                else None
                for hour, host, _ in rows
            ],
            # W x 3,600 s = J, x 1,000 = mJ
            "energy_mj": [watts * 3600 * 1000.0] * count,
            "seconds_covered": [3600.0] * count,
            "avg_power_w": [watts] * count,
            "avg_util_pct": [50.0] * count,
            "samples": [120] * count,
            "step_seconds": [30] * count,
            "_source_file": ["test:dcgm"] * count,
        },
        schema=prometheus_dcgm.SCHEMA,
    )
    land_table(
        workspace.landing,
        source=prometheus_dcgm.SOURCE,
        dataset=prometheus_dcgm.DATASET,
        partition=month_partition(month),
        inputs=["test:dcgm"],
        table=table,
    )


def device_months(warehouse) -> dict[str, dict[str, tuple]]:
    """Per telemetry model and month: rows, kWh, GPU-hours and the stored fingerprints."""
    found = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for model in DEVICE_MODELS:
            rows = con.execute(
                f"select strftime(month, '%Y-%m'), count(*), round(sum(energy_kwh), 6), "
                "round(sum(gpu_hours), 6), min(month_fingerprint), min(inputs_fingerprint), "
                f"count(distinct month_fingerprint) from {model} group by 1 order by 1"
            ).fetchall()
            found[model] = {month: tuple(values) for month, *values in rows}
    return found


def nodes_run(workspace) -> set[str]:
    """The models, seeds and tests dbt ran in the workspace's last build."""
    results = workspace.warehouse.parent / ".build" / "dbt-target" / "run_results.json"
    return {
        result["unique_id"].split(".")[2]
        for result in json.loads(results.read_text(encoding="utf-8"))["results"]
    }


def test_telemetry_recomputes_only_the_months_a_delivery_reaches(workspace):
    # GIVEN the published warehouse, built with no telemetry landed
    assert device_months(workspace.warehouse) == {model: {} for model in DEVICE_MODELS}
    # AND the cluster's GPU hosts named in the config (they locate its devices' energy)
    config = yaml.safe_load(workspace.config.read_text(encoding="utf-8"))
    assert config["clusters"][0]["name"] == "hpc1"
    config["clusters"][0]["hosts"] = ["gpu-a*"]
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    workspace.extract("config")
    # AND DCGM's January and February at 300 W a GPU, built by the nightly run
    land_dcgm(workspace, "2025-01", watts=300.0)
    land_dcgm(workspace, "2025-02", watts=300.0)
    workspace.build("telemetry")
    before = device_months(workspace.warehouse)
    # (4 GPUs x 744 hours x 0.3 kW in January; 4 x 672 x 0.3 in February)
    for model in DEVICE_MODELS:
        assert {month: values[1:3] for month, values in before[model].items()} == {
            "2025-01": (892.8, 2976.0),
            "2025-02": (806.4, 2688.0),
        }, model
    # WHEN DCGM's February is read again at 400 W and the nightly build runs
    land_dcgm(workspace, "2025-02", watts=400.0)
    workspace.build("nightly-dcgm")
    log = last_build_log(workspace)
    # (a second build of the installation: dbt parsed only what changed, its
    # profile, which holds the working path, being the same: transform.build)
    assert "Unable to do partial parsing" not in log
    # THEN both telemetry models, and the energy and emissions after them,
    # recomputed February only
    recomputed = dict(re.findall(r"(\w+): months to recompute: ([^\n\x1b]*)", log))
    assert {
        model: recomputed.get(model) for model in DEVICE_MODELS + CHAINED_MODELS
    } == dict.fromkeys(DEVICE_MODELS + CHAINED_MODELS, "2025-02-01")
    after_dcgm = device_months(workspace.warehouse)
    for model in DEVICE_MODELS:
        # AND January is the one stored before, fingerprints included
        assert after_dcgm[model]["2025-01"] == before[model]["2025-01"], model
        # AND February holds the new reading whole: 4 x 672 x 0.4 kWh, one fingerprint
        assert after_dcgm[model]["2025-02"][1:3] == (1075.2, 2688.0), model
        assert after_dcgm[model]["2025-02"][3] != before[model]["2025-02"][3], model
        assert after_dcgm[model]["2025-02"][5] == 1, model
    # WHEN Slurm's February gains a GPU job on gpu-a01 (10 February, 10:00-12:00)
    with (workspace.sources / "slurm" / "hpc1" / "sacct_2025-02.txt").open("a") as handle:
        handle.write(
            "99003|late-delivered-job|eve|ml-research|gpu-a100|COMPLETED|2025-02-10T10:00:00|"
            "2025-02-10T12:00:00|7200|billing=16,cpu=16,gres/gpu:a100=2,gres/gpu=2,mem=128G,"
            "node=1|0|gpu-a01\n"
        )
    workspace.extract("slurm", ("2025-02",))
    workspace.build("nightly-slurm")
    log = last_build_log(workspace)
    # THEN the nodes after the Slurm jobs ran, and no other
    # (transform/nightly_selection.py): not the device-hours, which read no
    # Slurm job, nor the CUR chain
    ran = nodes_run(workspace)
    assert {"stg_slurm__jobs", "int_gpu_device_hours_matched", "fct_emissions"} <= ran
    assert not ran & {"int_gpu_device_hours_unioned", "stg_aws__cur_line_items"}
    assert not ran & {"int_aws_cur_line_items_aggregated", "int_cloud_energy_estimated"}
    # AND the matching recomputed February only (the job can claim no hour of
    # January), as did the energy and emissions
    recomputed = dict(re.findall(r"(\w+): months to recompute: ([^\n\x1b]*)", log))
    assert {model: recomputed.get(model) for model in DEVICE_MODELS + CHAINED_MODELS} == {
        "int_gpu_device_hours_unioned": None,
        "int_gpu_device_hours_matched": "2025-02-01",
        **dict.fromkeys(CHAINED_MODELS, "2025-02-01"),
    }
    after_slurm = device_months(workspace.warehouse)
    assert after_slurm["int_gpu_device_hours_unioned"] == after_dcgm["int_gpu_device_hours_unioned"]
    matched = after_slurm["int_gpu_device_hours_matched"]
    assert matched["2025-01"] == after_dcgm["int_gpu_device_hours_matched"]["2025-01"]
    # AND the new job holds gpu-a01's GPU-hours of its two hours (its two GPUs'
    # worth: 2 devices x 2 hours, as sole job on the host)
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        held = con.execute(
            "select round(sum(gpu_hours), 6) from int_gpu_device_hours_matched "
            "where workload_id = 'hpc1:99003'"
        ).fetchone()[0]
    assert held == 4.0
    # AND every row of both models, every mart and reporting view equal a full
    # rebuild from all of landing
    incremental = every_mart_and_view(workspace.warehouse)
    incremental_rows = every_row(workspace.warehouse, DEVICE_MODELS)
    # AND a night that lands nothing new builds nothing, and changes nothing
    workspace.build("nightly-quiet")
    assert "Nothing to do" in last_build_log(workspace)
    assert every_mart_and_view(workspace.warehouse) == incremental
    _full_refresh_figures(workspace)
    assert every_row(workspace.warehouse, DEVICE_MODELS) == incremental_rows
    assert every_mart_and_view(workspace.warehouse) == incremental
