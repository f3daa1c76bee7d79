"""Freeze an annual disclosure so that it never changes afterwards.

A disclosure version is a folder outside the warehouse (the warehouse is
rebuilt from landing every night; a disclosure must not be)::

    <AI_CARBON_DISCLOSURES>/<year>/v<N>/
        annual_disclosure.parquet     the year's lines of reporting.annual_disclosure
        annual_disclosure.csv         the same lines, for spreadsheets
        fct_emissions_<year>.parquet  every fct_emissions row of the year: the
                                      evidence a restatement is explained from
        manifest.json                 year, version, frozen_at, data_as_of,
                                      methodology_version, factor sets, and the
                                      sha256 of each file

A version is written into a temporary folder beside the others and renamed into
place, so a crash leaves no half version; an existing version is never touched
(its files are made read-only). Freezing a year again writes v<N+1> only when
the figures differ from v<N> (by the rule of the dbt macro figures_differ);
otherwise it reports "unchanged" and writes nothing.

dbt reads the versions back as the ``disclosures`` source: after the next
build, ``reporting.restatements`` compares every version with the current
facts, and ``reporting.annual_disclosure.is_restatement`` flags lines that moved.

Reads the *published* warehouse read-only and never writes it. Never imports
Airflow: the ``ai_carbon_disclosure`` DAG, ``make`` and a shell call the same
functions (``python -m transform.disclosure freeze --year 2025``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transform.build import disclosures_path, published_path

ANNUAL_FILE = "annual_disclosure.parquet"
ANNUAL_CSV = "annual_disclosure.csv"
MANIFEST = "manifest.json"
# Columns of a line that are not its figures: a new freeze is "unchanged" when
# everything else is equal (data_as_of moves every night even when nothing else does).
NOT_FIGURES = {"year", "data_as_of", "is_restatement", "disclosure_version", "frozen_at"}
VERSION_DIR = re.compile(r"^v(\d+)$")


class DisclosureError(RuntimeError):
    """Nothing to freeze, or a frozen version is not what its manifest says."""


@dataclass(frozen=True)
class FreezeResult:
    year: int
    version: int
    path: Path
    status: str  # "frozen" (a new version) or "unchanged" (the last version holds)
    manifest: dict[str, Any]

    def describe(self) -> str:
        if self.status == "unchanged":
            return (
                f"{self.year}: unchanged, figures as in v{self.version} "
                f"(frozen {self.manifest['frozen_at']}): {self.path}"
            )
        return f"{self.year}: frozen as v{self.version}: {self.path}"


# Columns of fct_emissions that record what its incremental build read
# (dbt_project/macros/incremental_months.sql); left out of a frozen version.
INCREMENTAL_STATE = ("month_fingerprint", "inputs_fingerprint")


def fct_file(year: int) -> str:
    return f"fct_emissions_{year}.parquet"


def year_dir(year: int, root: Path | None = None) -> Path:
    return (root or disclosures_path()) / f"{year:04d}"


def versions(year: int, root: Path | None = None) -> list[int]:
    """Complete versions of ``year`` (those with a manifest), oldest first."""
    folder = year_dir(year, root)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = VERSION_DIR.match(child.name)
        if match and (child / MANIFEST).is_file():
            found.append(int(match.group(1)))
    return sorted(found)


def version_dir(year: int, version: int, root: Path | None = None) -> Path:
    return year_dir(year, root) / f"v{version}"


def read_manifest(year: int, version: int, root: Path | None = None) -> dict[str, Any]:
    return json.loads((version_dir(year, version, root) / MANIFEST).read_text())


def all_manifests(root: Path | None = None) -> list[dict[str, Any]]:
    """Every frozen version under the disclosures folder, by year then version."""
    base = root or disclosures_path()
    manifests = []
    if base.is_dir():
        for child in sorted(base.iterdir()):
            if child.is_dir() and child.name.isdigit():
                year = int(child.name)
                manifests += [read_manifest(year, v, base) for v in versions(year, base)]
    return manifests


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _year_lock(year: int, root: Path | None) -> Iterator[None]:
    """One freeze of a year at a time (two would both pick the same v<N+1>)."""
    folder = year_dir(year, root)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".freeze.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _figures_differ(left: Any, right: Any) -> bool:
    """The dbt macro figures_differ for numbers (null counts as 0); equality otherwise."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left != right
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = float(left or 0), float(right or 0)
        return abs(a - b) > max(1e-6, 1e-9 * max(abs(a), abs(b)))
    return left != right


def lines_differ(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[str]:
    """What differs between two sets of annual lines, as readable strings."""

    def key(line: dict[str, Any]) -> tuple:
        return (line.get("ghg_scope"), line.get("scope3_category") or 0)

    before = {key(line): line for line in previous}
    after = {key(line): line for line in current}
    changes = []
    for line_key in sorted(before.keys() | after.keys(), key=lambda k: (k[0] or 0, k[1])):
        old, new = before.get(line_key), after.get(line_key)
        label = f"scope {line_key[0]}" + (f" cat {line_key[1]}" if line_key[1] else "")
        if old is None or new is None:
            changes.append(f"{label}: line {'added' if old is None else 'removed'}")
            continue
        for column in sorted((old.keys() | new.keys()) - NOT_FIGURES):
            if _figures_differ(old.get(column), new.get(column)):
                changes.append(f"{label}: {column} {old.get(column)!r} -> {new.get(column)!r}")
    return changes


def _read_lines(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def _current_figures(year: int, warehouse: Path):
    """The year's annual lines and fact rows from the published warehouse (read-only)."""
    import duckdb

    if not warehouse.exists():
        raise DisclosureError(f"no published warehouse at {warehouse}: run the nightly DAG first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = con.sql(
            "select * from reporting.annual_disclosure where year = $year "
            "order by ghg_scope, scope3_category nulls first",
            params={"year": year},
        ).to_arrow_table()
        facts = con.sql(
            "select * from main.fct_emissions where reporting_year = $year order by emission_id",
            params={"year": year},
        ).to_arrow_table()
    # the fingerprints of the incremental build are its state, not figures
    facts = facts.drop_columns([name for name in INCREMENTAL_STATE if name in facts.column_names])
    if lines.num_rows == 0:
        raise DisclosureError(f"the warehouse has no annual disclosure lines for {year}")
    return lines, facts


def _with_version(table, version: int, frozen_at: dt.datetime):
    import pyarrow as pa

    table = table.append_column(
        "disclosure_version", pa.array([version] * table.num_rows, pa.int32())
    )
    return table.append_column(
        "frozen_at", pa.array([frozen_at.replace(tzinfo=None)] * table.num_rows, pa.timestamp("us"))
    )


def _write_version(
    folder: Path, year: int, version: int, lines, facts, frozen_at: dt.datetime, warehouse: Path
) -> dict[str, Any]:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    lines = _with_version(lines, version, frozen_at)
    facts = _with_version(facts, version, frozen_at)
    files = {
        ANNUAL_FILE: lines,
        fct_file(year): facts,
    }
    for name, table in files.items():
        pq.write_table(table, folder / name, compression="zstd")
    pa_csv.write_csv(lines, folder / ANNUAL_CSV)
    rows = {ANNUAL_FILE: lines.num_rows, ANNUAL_CSV: lines.num_rows, fct_file(year): facts.num_rows}
    line_rows = lines.to_pylist()
    data_as_of = max((r["data_as_of"] for r in line_rows if r.get("data_as_of")), default=None)
    manifest = {
        "year": year,
        "version": version,
        "frozen_at": frozen_at.isoformat(timespec="seconds"),
        "data_as_of": data_as_of.isoformat() if data_as_of else None,
        "methodology_version": sorted(
            {r["methodology_version"] for r in line_rows if r.get("methodology_version")}
        ),
        "factor_sets": sorted({f for f in facts.column("factor_set").to_pylist() if f}),
        "totals_tco2e": {
            "location_based": sum(r["location_based_tco2e"] or 0 for r in line_rows),
            "market_based": sum(r["market_based_tco2e"] or 0 for r in line_rows),
        },
        "warehouse": str(warehouse),
        "files": {
            name: {"sha256": _sha256(folder / name), "rows": rows[name]}
            for name in (ANNUAL_FILE, ANNUAL_CSV, fct_file(year))
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
        path.chmod(0o444)
    return manifest


def freeze(
    year: int,
    *,
    root: Path | None = None,
    warehouse: Path | None = None,
    now: dt.datetime | None = None,
) -> FreezeResult:
    """Freeze ``year`` from the published warehouse as a new version, unless unchanged."""
    warehouse = warehouse or published_path()
    lines, facts = _current_figures(year, warehouse)
    frozen_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    with _year_lock(year, root):
        existing = versions(year, root)
        if existing:
            last = existing[-1]
            previous = _read_lines(version_dir(year, last, root) / ANNUAL_FILE)
            if not lines_differ(previous, lines.to_pylist()):
                return FreezeResult(
                    year,
                    last,
                    version_dir(year, last, root),
                    "unchanged",
                    read_manifest(year, last, root),
                )
        version = (existing[-1] if existing else 0) + 1
        final = version_dir(year, version, root)
        if final.exists():
            raise DisclosureError(f"{final} exists without a manifest: inspect it, then remove it")
        staging = year_dir(year, root) / f".v{version}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            manifest = _write_version(staging, year, version, lines, facts, frozen_at, warehouse)
            _fsync_dir(staging)
            os.rename(staging, final)
            _fsync_dir(final.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return FreezeResult(year, version, final, "frozen", manifest)


def verify(year: int, version: int, root: Path | None = None) -> dict[str, Any]:
    """Check every file of a version against the sha256 in its manifest."""
    manifest = read_manifest(year, version, root)
    folder = version_dir(year, version, root)
    for name, expected in manifest["files"].items():
        actual = _sha256(folder / name)
        if actual != expected["sha256"]:
            raise DisclosureError(f"{folder / name} changed since it was frozen (sha256 {actual})")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Freeze, list and verify disclosure versions.")
    commands = parser.add_subparsers(dest="command", required=True)
    freeze_parser = commands.add_parser("freeze", help="freeze a year from the published warehouse")
    freeze_parser.add_argument("--year", type=int, required=True)
    commands.add_parser("list", help="list the frozen versions")
    verify_parser = commands.add_parser(
        "verify", help="check a year's files against their manifests"
    )
    verify_parser.add_argument("--year", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "freeze":
            print(freeze(args.year).describe())
        elif args.command == "list":
            for manifest in all_manifests():
                totals = manifest["totals_tco2e"]
                print(
                    f"{manifest['year']} v{manifest['version']}  frozen {manifest['frozen_at']}  "
                    f"data as of {manifest['data_as_of']}  "
                    f"location {totals['location_based']:,.3f} t  "
                    f"market {totals['market_based']:,.3f} t"
                )
        else:
            found = versions(args.year)
            if not found:
                raise DisclosureError(f"no frozen version of {args.year} in {disclosures_path()}")
            for version in found:
                verify(args.year, version)
                print(f"{args.year} v{version}: every file matches its manifest")
    except DisclosureError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
