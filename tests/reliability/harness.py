"""The reliability suite's harness: a demo organisation in a temporary folder,
the pipeline run the way production runs it, and snapshots to compare.

A ``Workspace`` is one installation: sources, landing, warehouse and its own
copy of the organisation config, all under one folder. ``extract`` and
``build`` call the same functions as the CLI and the DAG (``extractors.__main__``
and ``transform.build``) with the workspace's paths; ``python`` runs a
separate process with them (for the faults that need one to die).

The snapshots are what every test compares before and after its fault:
``landed`` (rows and the conserved measure of each landing dataset, per
month), ``parquet_digest`` (every landed byte), ``figures`` (the published
warehouse's totals per month) and ``sha256`` of the published file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import duckdb

from extractors.demo.generate import generate
from helpers import ROOT

MONTHS = ("2025-01", "2025-02")
EXAMPLE_CONFIG = ROOT / "config" / "org.example.yml"

# Landing dataset -> the column whose total must survive every fault (None:
# rows only; Slurm lands text, MLflow runs have no amount).
MEASURES = {
    "aws_cur/line_items": "line_item_unblended_cost",
    "aws_carbon/emissions": "total_lbm_emissions_value",
    "gcp_billing/billing_export": "cost",
    "gcp_carbon/carbon_footprint": "carbon_footprint_total_kgCO2e.location_based",
    "slurm/jobs": None,
    "mlflow/runs": None,
    "inference/requests": "requests",
}


# Hostile input every installation of the suite carries: names, owners, tags,
# services and job names with quotes, SQL, path separators, `..`, LIKE
# wildcards and non-ASCII text. It must reach the warehouse verbatim and
# never a query or a path unescaped.
HOSTILE_SERVICE = "svc'; DROP TABLE fct_emissions; --"
HOSTILE_JOB = "hpc1'--\"; DELETE FROM stg_slurm__jobs; /* ../../etc */"
HOSTILE_SYSTEMS = [
    {
        "id": "robert.tables_-1",
        "name": "Robert'); DROP TABLE fct_emissions; --",
        "kind": "production_inference",
        "owner": "o'brien@helio.example",
        "description": "quotes \" ' \\ `tick` ../../etc/passwd %_ 日本語 ✓",
        "match": {
            "inference_service": [HOSTILE_SERVICE],
            "aws_tag": {"team'\"/..": ["../../*"]},
        },
    },
    {
        "id": "select",
        "name": "SELECT * FROM information_schema.tables -- ${AI_CARBON_LANDING}",
        "kind": "training_pipeline",
        "owner": "{{ env_var('AWS_SECRET_ACCESS_KEY') }}",
        "match": {
            "slurm_job_name": ["hpc1'--\"; DELETE*"],
            "gcp_label": {"..": ["%_\\"]},
        },
    },
]
HOSTILE_METHODOLOGY = {"grid_factor_set": "default'; DROP TABLE grid_intensity; --"}
HOSTILE_ORGANISATION = "Helio'; ATTACH '/tmp/x.duckdb' AS x; --"


def add_hostile_input(workspace: Workspace) -> None:
    """Put the hostile names into the config, and rows that use them into the sources."""
    import yaml

    config = yaml.safe_load(workspace.config.read_text(encoding="utf-8"))
    config["systems"].extend(HOSTILE_SYSTEMS)
    config["methodology"].update(HOSTILE_METHODOLOGY)
    config["organisation"]["name"] = HOSTILE_ORGANISATION
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with (workspace.sources / "inference" / "requests_2025-01.csv").open("a") as handle:
        handle.write(f'2025-01-10T10:00:00Z,"{HOSTILE_SERVICE}",1000,\n')
        handle.write(f'2025-01-10T11:00:00Z,"{HOSTILE_SERVICE}",234,\n')
    with (workspace.sources / "slurm" / "hpc1" / "sacct_2025-01.txt").open("a") as handle:
        handle.write(
            f"99001|{HOSTILE_JOB}|mallory|ml-research|gpu-a100|COMPLETED|"
            "2025-01-12T10:00:00|2025-01-12T12:00:00|7200|"
            "billing=8,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=64G,node=1|0|gpu-a01\n"
        )


# A 4-GPU job from 22:00 on 31 January to 02:00 on 1 February: sacct lists it
# in both months' files; it is 8 GPU-hours in each month, 16 in all.
CROSSING_JOB = (
    "99002|month-end-job|eve|ml-research|gpu-a100|COMPLETED|2025-01-31T22:00:00|"
    "2025-02-01T02:00:00|14400|billing=32,cpu=32,gres/gpu:a100=4,gres/gpu=4,mem=256G,node=1|"
    "0|gpu-a02"
)
# A line no one can use: requests "NaN". Quarantined with its file, line, reason.
UNUSABLE_LINE = "2025-02-03T04:00:00Z,llm-chat-api,NaN,\n"


def add_awkward_rows(workspace: Workspace) -> None:
    for month in MONTHS:
        with (workspace.sources / "slurm" / "hpc1" / f"sacct_{month}.txt").open("a") as handle:
            handle.write(CROSSING_JOB + "\n")
    with (workspace.sources / "inference" / "requests_2025-02.csv").open("a") as handle:
        handle.write(UNUSABLE_LINE)


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "ai_carbon.duckdb"

    @property
    def config(self) -> Path:
        return self.root / "org.yml"

    @classmethod
    def create(cls, root: Path, months: int = len(MONTHS), awkward: bool = True) -> Workspace:
        """A new installation with the demo organisation's sources from 2025-01,
        plus (``awkward``) the hostile input, a job across the month end and an
        unusable line."""
        workspace = cls(root)
        generate(workspace.sources, start_month=MONTHS[0], months=months)
        shutil.copyfile(EXAMPLE_CONFIG, workspace.config)
        if awkward:
            add_hostile_input(workspace)
            add_awkward_rows(workspace)
        return workspace

    def copy(self, root: Path) -> Workspace:
        """A private copy, without dbt's own files (thousands, and rebuilt by a build)."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns(".build"))
        return Workspace(root)

    def env(self) -> dict[str, str]:
        return {
            "AI_CARBON_SOURCES": str(self.sources),
            "AI_CARBON_LANDING": str(self.landing),
            "AI_CARBON_WAREHOUSE": str(self.warehouse),
            "AI_CARBON_CONFIG": str(self.config),
            "AI_CARBON_DISCLOSURES": str(self.root / "disclosures"),
        }

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """This workspace's paths in os.environ (what Settings.from_env() reads)."""
        with mock.patch.dict(os.environ, self.env()):
            yield

    # --- the pipeline ---------------------------------------------------------

    def extract(self, command: str = "all", months: tuple[str, ...] = MONTHS) -> None:
        """``python -m extractors <command>`` for ``months``, in this process."""
        from extractors.__main__ import run
        from extractors.catalog import months_between
        from extractors.settings import Settings

        with self.active():
            run(command, months_between(months[0], months[-1]), Settings.from_env())

    def build(self, run_id: str = "manual") -> Path:
        """``transform.build.build_and_publish``: dbt on a copy, then the rename."""
        from transform.build import build_and_publish

        with self.active():
            return build_and_publish(run_id)

    def python(self, *args: str, **kwargs) -> subprocess.Popen:
        """A separate ``python <args>`` process with this workspace's paths."""
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, **self.env(), "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )


# --- a live source that misbehaves --------------------------------------------------


class FakeUpstream:
    """An HTTP server on 127.0.0.1 answering every request with ``answer(headers)``:
    a (status, body, extra headers) triple. Records each request's headers."""

    def __init__(self, answer) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, str]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = dict(self.headers.items())
                upstream.requests.append(headers)
                status, body, extra = answer(headers)
                data = body.encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- snapshots --------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parquet_digest(landing: Path) -> dict[str, str]:
    """Every landed Parquet file (quarantine included) and its sha256."""
    return {str(p.relative_to(landing)): sha256(p) for p in sorted(landing.rglob("*.parquet"))}


def landed(landing: Path) -> dict[str, dict[str, tuple[int, float | None]]]:
    """dataset -> month -> (rows, total of its measure), as dbt would read them."""
    out: dict[str, dict[str, tuple[int, float | None]]] = {}
    with duckdb.connect() as con:
        for dataset, measure in MEASURES.items():
            # dbt's own glob (dbt_project/models/staging/*/_*__sources.yml)
            files = sorted((landing / dataset).glob("*/*.parquet"))
            if not files:
                continue
            total = f"sum({measure})" if measure else "null"
            rows = con.execute(
                f"select month, count(*), {total} from read_parquet(?, hive_partitioning = true) "
                "group by month order by month",
                [[str(f) for f in files]],
            ).fetchall()
            out[dataset] = {month: (count, value) for month, count, value in rows}
    return out


def totals(snapshot: dict[str, dict[str, tuple[int, float | None]]]) -> dict[str, tuple]:
    """dataset -> (rows, total) over all months of a ``landed`` snapshot."""
    return {
        dataset: (
            sum(rows for rows, _ in months.values()),
            None
            if any(v is None for _, v in months.values())
            else round(sum(v for _, v in months.values()), 6),
        )
        for dataset, months in snapshot.items()
    }


def figures(warehouse: Path) -> dict[str, tuple]:
    """The published warehouse per month: fact rows, tCO2e and energy (location-based) and cost."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select strftime(month, '%Y-%m'), count(*), "
            "round(sum(kg_co2e) filter (where method = 'location'), 6), "
            "round(sum(energy_kwh) filter (where method = 'location'), 6), "
            "round(sum(cost) filter (where method = 'location'), 6) "
            "from fct_emissions group by all order by all"
        ).fetchall()
    return {month: tuple(values) for month, *values in rows}


def ledger_lines(landing: Path) -> list[str]:
    return (landing / "_ledger" / "loads.jsonl").read_text(encoding="utf-8").splitlines()


def files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    """Files under ``root`` that are not under one of ``allowed``."""
    allowed = [a.resolve() for a in allowed]
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not any(path.resolve().is_relative_to(a) for a in allowed)
    ]
