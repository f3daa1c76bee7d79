"""What a nightly build selects (transform/nightly_selection.py): the sources
whose files changed since the published build, by fingerprint, and dbt's
``state:modified+``; everything when there is nothing to compare with."""

from __future__ import annotations

import os
from pathlib import Path

from transform.nightly_selection import (
    build_record,
    changed_sources,
    nightly_selection,
    read_manifest,
    selection_arguments,
    source_files_pattern,
    source_fingerprints,
)

CUR = "source.ai_carbon.aws_cur.line_items"
LEDGER = "source.ai_carbon.landing.loads"


def parquet_source(landing, source: str, table: str) -> dict:
    """A source node as dbt's manifest holds it (external_location rendered)."""
    return {
        "name": table,
        "identifier": table,
        "config": {
            "external_location": (
                f"read_parquet('{landing}/{source}/{{name}}/*/*.parquet', "
                "hive_partitioning = true, union_by_name = true)"
            )
        },
    }


def manifest_of(landing) -> dict:
    return {
        "sources": {
            CUR: parquet_source(landing, "aws_cur", "line_items"),
            LEDGER: {
                "name": "loads",
                "identifier": "loads",
                "config": {
                    "external_location": f"read_json_auto('{landing}/_ledger/{{name}}.jsonl')"
                },
            },
        }
    }


def land(path, content: bytes) -> None:
    """Write a file whole and rename it into place, as the landing does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def test_a_sources_files_are_the_glob_of_its_location_with_its_name(tmp_path):
    manifest = manifest_of(tmp_path)
    assert source_files_pattern(manifest["sources"][CUR]) == (
        f"{tmp_path}/aws_cur/line_items/*/*.parquet"
    )
    assert source_files_pattern(manifest["sources"][LEDGER]) == f"{tmp_path}/_ledger/loads.jsonl"
    assert source_files_pattern({"name": "x", "config": {}}) is None


def test_a_fingerprint_changes_with_a_new_a_replaced_or_a_removed_file_and_only_then(tmp_path):
    # GIVEN two CUR partitions and a ledger
    january = tmp_path / "aws_cur/line_items/month=2025-01/part-0.parquet"
    february = tmp_path / "aws_cur/line_items/month=2025-02/part-0.parquet"
    ledger = tmp_path / "_ledger/loads.jsonl"
    land(january, b"january")
    land(february, b"february")
    land(ledger, b'{"load": 1}\n')
    manifest = manifest_of(tmp_path)
    first = source_fingerprints(manifest)
    # THEN untouched files give the same fingerprints
    assert source_fingerprints(manifest) == first
    assert changed_sources(first, source_fingerprints(manifest)) == []
    # WHEN February is re-delivered (same size, written and renamed into place)
    land(february, b"FEBRUARY")
    second = source_fingerprints(manifest)
    # THEN only CUR changed
    assert changed_sources(first, second) == [CUR]
    # AND a new month, a removed month, a longer ledger each change their source
    land(tmp_path / "aws_cur/line_items/month=2025-03/part-0.parquet", b"march")
    third = source_fingerprints(manifest)
    assert changed_sources(second, third) == [CUR]
    january.unlink()
    assert changed_sources(third, source_fingerprints(manifest)) == [CUR]
    with ledger.open("ab") as handle:
        handle.write(b'{"load": 2}\n')
    assert changed_sources(third, source_fingerprints(manifest)) == [CUR, LEDGER]


def test_a_source_whose_files_dbt_cannot_see_is_never_unchanged():
    manifest = {"sources": {"source.ai_carbon.x.y": {"name": "y", "config": {}}}}
    assert source_fingerprints(manifest) != source_fingerprints(manifest)


def test_the_selection_is_the_changed_sources_and_the_modified_nodes_with_all_after_them():
    published = {"build": 7, **build_record({CUR: "a", LEDGER: "b"})}
    # nothing changed: only what differs from the published manifest
    assert nightly_selection(published, {CUR: "a", LEDGER: "b"}, True) == ["state:modified+"]
    # CUR re-delivered, and a source the published build did not have
    new = "source.ai_carbon.dcgm.gpu_hours"
    assert nightly_selection(published, {CUR: "c", LEDGER: "b", new: "d"}, True) == [
        "state:modified+",
        "source:aws_cur.line_items+",
        "source:dcgm.gpu_hours+",
    ]


def test_everything_is_built_when_there_is_nothing_to_compare_with():
    current = {CUR: "a"}
    published = {"build": 3, **build_record(current)}
    assert nightly_selection(published, current, True) == ["state:modified+"]
    # a record from before fingerprints were kept, no record, no manifest
    assert nightly_selection({"build": 3, "run": "manual"}, current, True) is None
    assert nightly_selection({}, current, True) is None
    assert nightly_selection(published, current, False) is None
    # another dbt, adapter or DuckDB built the published warehouse
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        versions = {**published["versions"], package: "0.0.1"}
        assert nightly_selection({**published, "versions": versions}, current, True) is None
    assert nightly_selection({"build": 3, "sources": current}, current, True) is None


def test_the_arguments_add_the_selection_and_the_published_manifests_folder(tmp_path):
    manifest = tmp_path / "published-state" / "manifest.json"
    published = build_record({CUR: "a"})
    # no manifest of the published build: nothing added, every node is built
    assert read_manifest(manifest) is None
    assert selection_arguments(published, {CUR: "b"}, None) == []
    manifest.parent.mkdir()
    # nor when it is cut short or not a manifest (dbt could not compare with it)
    for unreadable in ('{"nodes": {', "{}", "[]", '{"nodes": {}}'):
        manifest.write_text(unreadable)
        assert read_manifest(manifest) is None, unreadable
    manifest.write_text('{"nodes": {}, "sources": {}}')
    assert read_manifest(manifest) == {"nodes": {}, "sources": {}}
    assert selection_arguments(published, {CUR: "b"}, manifest.parent) == [
        "--select",
        "state:modified+",
        "source:aws_cur.line_items+",
        "--state",
        str(tmp_path / "published-state"),
    ]


def test_every_seed_is_small_enough_for_dbt_to_compare_its_contents():
    # dbt's state:modified compares a seed's contents below 1 MiB and only its
    # path above: a larger seed's new factors would not be rebuilt at night
    seeds = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
    sizes = {path.name: path.stat().st_size for path in seeds.glob("*.csv")}
    assert sizes and max(sizes.values()) < 2**20, sizes


def test_a_warehouse_put_in_place_by_hand_is_built_whole(tmp_path, monkeypatch):
    from transform import build

    # GIVEN a published warehouse, its build's manifest, and the record naming it
    warehouse = tmp_path / "warehouse" / "ai_carbon.duckdb"
    land(warehouse, b"published")
    monkeypatch.setenv("AI_CARBON_WAREHOUSE", str(warehouse))
    build.published_manifest().parent.mkdir(parents=True)
    build.published_manifest().write_text('{"nodes": {}, "sources": {}}')
    fingerprints = {CUR: "a"}
    record = {"build": 1, "warehouse": build.file_identity(warehouse), **build_record(fingerprints)}
    build._write_json(build._published_record(), record)
    # THEN a build with nothing new selects only what the project changed
    state = str(build.published_manifest().parent)
    selected = ["--select", "state:modified+", "--state", state]
    assert build.nightly_command(False, fingerprints, True) == [*build.NIGHTLY_BUILD, *selected]
    # (and every node when the manifest could not be read)
    assert build.nightly_command(False, fingerprints, False) == build.NIGHTLY_BUILD
    # WHEN another file is put in its place (a backup restored by hand)
    land(warehouse, b"restored")
    # THEN every node is built
    assert build.nightly_command(False, fingerprints, True) == build.NIGHTLY_BUILD
    # AND --full-refresh builds every node whatever the record
    full = [*build.NIGHTLY_BUILD, "--full-refresh"]
    assert build.nightly_command(True, fingerprints, True) == full
