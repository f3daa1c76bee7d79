"""A year of GPU telemetry in the nightly run: one project against another.

A benchmark, not a test. The main bench (``bench/run.py``) lands a month of
telemetry, as the month-alone build does, so the nightly run and its baseline
pay the telemetry chain alike. This one lands twelve months of the same DCGM
telemetry (``bench/generate_scale.py``: 1,000 GPUs, 8.76M device-hours) and
the example organisation's config, no billing, and measures for each dbt
project in turn, each step a fresh process with its wall and CPU seconds and
peak RSS (the same measure as ``bench/run.py``):

1. the full build (``dbt run``; seeds loaded and the project parsed
   beforehand, untimed), then its data tests (untimed: a first build runs
   them, and the nightly build's tests start from what they passed);
2. the nightly build after December is read again (other readings of the
   month, as when the open month gains a day), as the pipeline runs it
   (``transform/build.py`` build()): the copy of the published warehouse it
   starts from (``copy_seconds``), then ``dbt build`` of seeds, models and
   data tests (``NIGHTLY_BUILD``; its seconds alone: ``dbt_seconds``); for
   the measured project, as this pipeline runs it: ``dbt parse``, then the
   build of what changed since the last build and all after it
   (``transform/nightly_selection.py``), both in ``dbt_seconds``; the
   baseline builds every node, as the pipeline did before;
3. that build with nothing to do;

and, for the measured project, the issue's baseline for a nightly run: the
same build on a new warehouse over a landing that holds only December (its
telemetry and the config), ``month_alone``.

Every project reads the same landing at each step. The figures are set side
by side as ratios (``--project`` over ``--baseline``; ``nightly_to_month_alone``
the measured project's nightly over its month alone) and written to
``bench/results_telemetry_year.json``.

    python bench/telemetry_year.py --baseline <git ref> [--project HEAD] [--seed 42] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    BENCH,
    DATA,
    DBT,
    EXCLUDE_UNIT_TESTS,
    NIGHTLY,
    PYTHON,
    ROOT,
    Measured,
    bench_config,
    combined,
    copy_published,
    duckdb_env,
    measure,
    needs_parse,
    nightly_command,
    pipeline_seconds,
    project_copy,
    record_published,
)
from transform.nightly_selection import source_fingerprints

RESULTS = BENCH / "results_telemetry_year.json"
STEPS = ("full_build", "nightly", "noop")


def land_telemetry(landing: Path, seed: int, months: list) -> int:
    """The bench's DCGM telemetry of ``months`` landed as the extractor lands it."""
    from bench.generate_scale import telemetry
    from extractors import prometheus_dcgm
    from extractors.landing import land_table, month_partition

    rows = 0
    for month in months:
        record = land_table(
            landing,
            source=prometheus_dcgm.SOURCE,
            dataset=prometheus_dcgm.DATASET,
            partition=month_partition(month.label),
            inputs=[f"bench:generate_scale seed {seed}"],
            table=telemetry(month, seed),
            force=True,
        )
        rows += record.rows
    return rows


class Project:
    """One dbt project measured on the shared landing, with its own warehouse."""

    def __init__(
        self, ref: str, work: Path, env: dict[str, str], name: str = "", select: bool = True
    ) -> None:
        self.select = select
        self.folder = work / (name or ref.replace("/", "_"))
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.project, self.label = project_copy(ref, self.folder)
        self.env = {
            **env,
            "AI_CARBON_WAREHOUSE": str(self.folder / "ai_carbon.duckdb"),
            "AI_CARBON_DUCKDB_TEMP_DIR": str(self.folder / "duckdb-tmp"),
            "DBT_PROFILES_DIR": str(self.project),
            "DBT_TARGET_PATH": str(self.folder / "dbt-target"),
            "DBT_LOG_PATH": str(self.folder / "dbt-logs"),
        }
        (self.folder / "duckdb-tmp").mkdir()
        self.measured: dict[str, Measured] = {}
        self.copies: dict[str, dict] = {}

    def dbt(self, name: str, command: str) -> Measured:
        argv = [DBT, *command.split(), "--project-dir", str(self.project)]
        run = measure(argv, self.env, self.folder / "logs" / f"{name}.log", cwd=self.project)
        print(f"   {self.label} {name}: {run.seconds:.1f} s ({run.cpu_seconds:.1f} CPU s)")
        return run

    def prepare(self) -> None:
        self.dbt("seed", "seed")
        self.dbt("parse", "parse")

    def step(self, name: str, command: str = NIGHTLY) -> None:
        if command == NIGHTLY:
            # as the pipeline's build: from a copy of the published warehouse
            warehouse = Path(self.env["AI_CARBON_WAREHOUSE"])
            self.copies[name] = copy_published(warehouse, self.env, self.folder / "logs", name)
            if self.select:
                self.measured[name] = self.selective(name)
                return
        self.measured[name] = self.dbt(name, command)

    def selective(self, name: str) -> Measured:
        """The nightly build of what changed since the last (a first build
        parses the project before it: ``bench/run.py`` ``Bench.nightly``)."""
        target, state = self.folder / "dbt-target", self.folder / "published-state"
        parse = self.dbt(f"{name}-parse", "parse") if needs_parse(state) else None
        command, fingerprints = nightly_command(target, state)
        run = self.dbt(name, command)
        record_published(target, state, fingerprints)
        return combined(parse, run) if parse else run

    def publish_first_build(self) -> None:
        """What the next build compares with: this build and the landing it read."""
        if self.select:
            target = self.folder / "dbt-target"
            manifest = json.loads((target / "manifest.json").read_text())
            record_published(target, self.folder / "published-state", source_fingerprints(manifest))

    def seconds(self, step: str) -> float:
        return pipeline_seconds(self.measured[step], self.copies.get(step))

    def figures(self) -> dict:
        figures: dict = {"project": self.label}
        for step, run in self.measured.items():
            figures[step] = {
                "seconds": round(self.seconds(step), 2),
                "dbt_seconds": round(run.seconds, 2),
                "cpu_seconds": round(run.cpu_seconds, 2),
                "peak_rss_mb": round(run.peak_rss_mb),
                "load_average_at_start": round(run.load_average, 2),
            }
            if step in self.copies:  # (the full build starts from nothing)
                figures[step]["copy_seconds"] = round(self.copies[step]["seconds"], 2)
                figures[step]["warehouse_mb"] = round(self.copies[step]["mb"])
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default="HEAD")
    parser.add_argument("--baseline", required=True, help="the git ref to compare against")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the landing and warehouses")
    args = parser.parse_args()

    from bench.generate_scale import FIRST_PERIOD, PERIODS

    months = [FIRST_PERIOD.shift(index) for index in range(PERIODS)]
    work = DATA / f"telemetry-year-s{args.seed}"
    shutil.rmtree(work, ignore_errors=True)
    landing = work / "landing"
    env = {
        **os.environ,
        **duckdb_env(),
        "AI_CARBON_LANDING": str(landing),
        "AI_CARBON_SOURCES": str(work / "sources"),
        "AI_CARBON_CONFIG": str(bench_config(work)),
        "PYTHONPATH": str(ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    print(">> landing the organisation's config and 12 months of telemetry", flush=True)
    measure([PYTHON, "-m", "extractors", "config", "-q"], env, work / "extract-config.log", ROOT)
    rows = land_telemetry(landing, args.seed, months)
    projects = [
        Project(args.baseline, work, env, select=False),
        Project(args.project, work, env),
    ]
    for project in projects:
        project.prepare()
    print(f">> full build over {rows:,} device-hours", flush=True)
    for project in projects:
        project.step("full_build", "run")
        # the first build's data tests, untimed: the nightly build's tests start from them
        project.dbt("data_tests", f"test {EXCLUDE_UNIT_TESTS}")
        project.publish_first_build()
    print(f">> {months[-1].label} read again, then the nightly run", flush=True)
    land_telemetry(landing, args.seed + 1, months[-1:])
    for project in projects:
        project.step("nightly")
    print(">> a run with nothing to do", flush=True)
    for project in projects:
        project.step("noop")
    print(
        f">> {months[-1].label} alone: the nightly build over a landing of that month", flush=True
    )
    alone_landing = work / "landing-month-alone"
    alone_env = {**env, "AI_CARBON_LANDING": str(alone_landing)}
    config = [PYTHON, "-m", "extractors", "config", "-q"]
    measure(config, alone_env, work / "alone-config.log", ROOT)
    land_telemetry(alone_landing, args.seed + 1, months[-1:])
    alone = Project(args.project, work, alone_env, name="month-alone")
    alone.prepare()
    alone.step("month_alone")

    baseline, measured = projects
    results = {
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device_hours": rows,
        "months": len(months),
        "duckdb": {key: env[key] for key in duckdb_env()},
        "baseline": baseline.figures(),
        "measured": measured.figures(),
        "ratio": {
            step: round(measured.seconds(step) / baseline.seconds(step), 3) for step in STEPS
        },
        "month_alone": alone.figures()["month_alone"],
        "nightly_to_month_alone": round(
            measured.seconds("nightly") / alone.seconds("month_alone"), 3
        ),
        "nightly_to_month_alone_dbt_only": round(
            measured.measured["nightly"].seconds / alone.measured["month_alone"].seconds, 3
        ),
        "ratio_cpu": {
            step: round(
                measured.measured[step].cpu_seconds / baseline.measured[step].cpu_seconds, 3
            )
            for step in STEPS
        },
        "note": (
            "ratio: the measured project's seconds over the baseline's, per step; "
            "full_build: dbt run; nightly, noop and month_alone: the pipeline's nightly "
            "build (transform/build.py build()): the copy of the published warehouse "
            f"(copy_seconds), then dbt {NIGHTLY} (NIGHTLY_BUILD, dbt_seconds), for the "
            "measured project after dbt parse and of what changed since the last build "
            "(transform/nightly_selection.py; the baseline builds every node); "
            "nightly: the build after December's telemetry is landed again"
        ),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(f"{'step':<12}{baseline.label:>24}{measured.label:>24}{'ratio':>8}")
    for step in STEPS:
        print(
            f"{step:<12}{baseline.seconds(step):>22.1f} s"
            f"{measured.seconds(step):>22.1f} s{results['ratio'][step]:>8.2f}"
        )
    print(
        f"{measured.label}: nightly {measured.seconds('nightly'):.1f} s over "
        f"{months[-1].label} alone {alone.seconds('month_alone'):.1f} s = "
        f"{results['nightly_to_month_alone']:.2f} (with the copy of the published "
        f"warehouse, {measured.copies['nightly']['mb']:.0f} MB in "
        f"{measured.copies['nightly']['seconds']:.2f} s; without it "
        f"{results['nightly_to_month_alone_dbt_only']:.2f})"
    )
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
