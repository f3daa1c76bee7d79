"""Benchmark: dbt as one Airflow task vs one dbt invocation per model.

astronomer-cosmos's local execution mode runs one ``dbt run --select <model>``
(and its tests) per Airflow task. This measures that cost against the single
``dbt build`` the nightly DAG runs, on the same landing data and machine, side
by side, with the peak memory of the dbt processes.

    python bench/dbt_task_granularity.py --landing landing [--repeat 1]

Writes bench/results/dbt_task_granularity.json. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transform.build import DBT_PROJECT_DIR, dbt_env  # noqa: E402

DBT = Path(sys.executable).with_name("dbt")


def dbt(args: list[str], warehouse: Path) -> None:
    subprocess.run(
        [str(DBT), *args, "--project-dir", str(DBT_PROJECT_DIR), "--quiet"],
        cwd=DBT_PROJECT_DIR,
        env=dbt_env(warehouse),
        check=True,
    )


def models_in_dependency_order(warehouse: Path) -> list[str]:
    """Model names, parents first, from the manifest ``dbt parse`` writes."""
    from graphlib import TopologicalSorter

    dbt(["parse"], warehouse)
    manifest = json.loads(
        (Path(dbt_env(warehouse)["DBT_TARGET_PATH"]) / "manifest.json").read_text()
    )
    nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    graph = {k: [d for d in v["depends_on"]["nodes"] if d in nodes] for k, v in nodes.items()}
    return [nodes[k]["name"] for k in TopologicalSorter(graph).static_order()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    args = parser.parse_args()
    import os

    os.environ["AI_CARBON_LANDING"] = str(args.landing.resolve())
    work = Path(tempfile.mkdtemp(prefix="bench-granularity-"))

    one = work / "one" / "ai_carbon.duckdb"
    one.parent.mkdir()
    started = time.perf_counter()
    dbt(["build"], one)
    single_s = time.perf_counter() - started

    per = work / "per" / "ai_carbon.duckdb"
    per.parent.mkdir()
    names = models_in_dependency_order(per)
    started = time.perf_counter()
    dbt(["seed"], per)
    for name in names:
        dbt(["run", "--select", name], per)
        dbt(["test", "--select", name, "--indirect-selection", "cautious"], per)
    per_model_s = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "models": len(names),
        "single_build_seconds": round(single_s, 2),
        "per_model_seconds": round(per_model_s, 2),
        "per_model_ratio": round(per_model_s / single_s, 2),
        "peak_rss_mb_dbt_process": round(peak_mb, 1),
    }
    out = ROOT / "bench" / "results" / "dbt_task_granularity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
