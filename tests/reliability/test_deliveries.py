"""Deliveries that go wrong: twice, shorter, incomplete, out of order, late.

Every test compares the landing zone before and after (rows and totals per
dataset and month, and every landed byte). The warehouse is rebuilt from
landing alone, so what is proven here for landing holds for the published
figures (the end-to-end test rebuilds and compares them); the late month,
whose point is what the published figures do, is built in
test_through_airflow.py.
"""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
import yaml
from harness import MONTHS, landed, ledger_lines, parquet_digest, totals

from extractors.errors import SourceError

CUR = "aws/helio-billing/cur2/helio-cur2"
FOCUS_SAMPLE = "tests/data/focus-1.0/focus_sample.csv"


def manifest(workspace, month: str):
    return (
        workspace.sources
        / CUR
        / "metadata"
        / f"BILLING_PERIOD={month}"
        / ("helio-cur2-Manifest.json")
    )


def test_the_same_delivery_twice_lands_nothing_twice(workspace):
    # GIVEN the demo's two months landed
    before, digest = landed(workspace.landing), parquet_digest(workspace.landing)
    lines = ledger_lines(workspace.landing)
    # WHEN every source is delivered and extracted again, unchanged
    workspace.extract()
    # THEN every load is recorded "unchanged", and no landed row or byte differs
    new = [json.loads(line) for line in ledger_lines(workspace.landing)[len(lines) :]]
    assert len(new) == len(lines)
    assert {record["status"] for record in new} == {"unchanged"}
    assert landed(workspace.landing) == before
    assert parquet_digest(workspace.landing) == digest


def test_a_chunk_listed_twice_or_copied_beside_the_delivery_is_read_once(workspace):
    # GIVEN January's CUR, and a manifest that lists its first chunk twice
    # while a copy of that chunk lies beside the listed ones
    before = landed(workspace.landing)["aws_cur/line_items"]
    path = manifest(workspace, "2025-01")
    document = json.loads(path.read_text())
    document["dataFiles"].append(document["dataFiles"][0])
    path.write_text(json.dumps(document))
    chunk = workspace.sources / document["dataFiles"][0].removeprefix("s3://").replace(
        "helio-billing/", "aws/helio-billing/", 1
    )
    shutil.copyfile(chunk, chunk.with_name("helio-cur2-00001-copy.snappy.parquet"))
    # WHEN January is extracted again
    workspace.extract("aws_cur", ("2025-01",))
    # THEN it was re-landed (a new manifest) with the same rows and dollars
    assert landed(workspace.landing)["aws_cur/line_items"] == before


def test_an_export_saved_twice_under_two_names_is_not_counted_twice(workspace):
    # GIVEN FOCUS files of one provider, the export saved twice by a browser
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["focus"] = {"providers": ["acme"]}
    workspace.config.write_text(yaml.safe_dump(config))
    folder = workspace.sources / "focus" / "acme"
    folder.mkdir(parents=True)
    shutil.copyfile(FOCUS_SAMPLE, folder / "export.csv")
    september = workspace.landing / "focus" / "cost_line_items" / "month=2024-09"
    workspace.extract("focus", ("2024-09",))
    once = pq.read_table(september)
    shutil.copyfile(FOCUS_SAMPLE, folder / "export (1).csv")
    # WHEN the month is extracted again
    workspace.extract("focus", ("2024-09",))
    # THEN it holds each row once: same count, same billed cost
    twice = pq.read_table(september)
    assert twice.num_rows == once.num_rows == 999
    assert sum(twice["BilledCost"].to_pylist()) == pytest.approx(
        sum(once["BilledCost"].to_pylist()), rel=1e-12
    )


def test_a_redelivered_month_with_fewer_files_replaces_the_month_whole(workspace):
    # GIVEN January's CUR landed from two chunks
    path = manifest(workspace, "2025-01")
    document = json.loads(path.read_text())
    assert len(document["dataFiles"]) == 2
    before = landed(workspace.landing)
    # WHEN AWS redelivers January as one chunk (the second one)
    kept = document["dataFiles"][1]
    document["dataFiles"] = [kept]
    document["executionId"] = "redelivery"
    path.write_text(json.dumps(document))
    workspace.extract("aws_cur", ("2025-01",))
    # THEN January holds exactly that chunk: no row of the dropped chunk stays
    chunk = workspace.sources / "aws" / kept.removeprefix("s3://")
    expected = pq.read_table(chunk)
    after = landed(workspace.landing)
    rows, cost = after["aws_cur/line_items"]["2025-01"]
    assert rows == expected.num_rows < before["aws_cur/line_items"]["2025-01"][0]
    assert cost == pytest.approx(sum(expected["line_item_unblended_cost"].to_pylist()))
    # and nothing else moved
    after["aws_cur/line_items"].pop("2025-01")
    before["aws_cur/line_items"].pop("2025-01")
    assert after == before
    # (unit level: tests/extractors/test_aws_cur.py::test_redelivery_with_fewer_chunks_replaces_the_month_whole)


def test_a_manifest_that_lists_a_missing_file_fails_and_keeps_the_month(workspace):
    # GIVEN February landed, then a redelivery whose manifest lists a chunk
    # that never arrived
    before, digest = landed(workspace.landing), parquet_digest(workspace.landing)
    lines = ledger_lines(workspace.landing)
    path = manifest(workspace, "2025-02")
    document = json.loads(path.read_text())
    document["dataFiles"].append(document["dataFiles"][0].replace("00001", "00009"))
    path.write_text(json.dumps(document))
    # WHEN February is extracted
    with pytest.raises(SourceError, match=r"helio-cur2-00009.*missing.*previous partition is kept"):
        workspace.extract("aws_cur", ("2025-02",))
    # THEN the landed February, every other byte and the ledger are as they were
    assert landed(workspace.landing) == before
    assert parquet_digest(workspace.landing) == digest
    assert ledger_lines(workspace.landing) == lines


def test_months_arriving_out_of_order_land_as_if_in_order(baseline, tmp_path):
    # GIVEN a new installation that receives February before January
    fresh = baseline.copy(tmp_path / "install")
    shutil.rmtree(fresh.landing)
    february_only = tmp_path / "january-later"
    for path in fresh.sources.rglob("*"):
        if path.is_file() and ("2025-01" in str(path) or "202501" in str(path)):
            target = february_only / path.relative_to(fresh.sources)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    fresh.extract("all", ("2025-02",))
    fresh.extract("all", ("2025-01",))  # January not delivered yet: nothing
    assert {month for d in landed(fresh.landing).values() for month in d} == {"2025-02"}
    # WHEN January arrives afterwards and both months are extracted
    shutil.copytree(february_only, fresh.sources, dirs_exist_ok=True)
    fresh.extract("all", MONTHS)
    # THEN landing holds the same rows, totals and bytes as in-order delivery
    assert landed(fresh.landing) == landed(baseline.landing)
    assert totals(landed(fresh.landing)) == totals(landed(baseline.landing))
    assert parquet_digest(fresh.landing) == parquet_digest(baseline.landing)


EID_HEADER = (
    "dateKey,enrollmentId,subscriptionId,subscriptionName,azureServiceName,subService,"
    "azureRegionName,scope,scopeId,totalEmissions"
)


def test_two_overlapping_history_exports_are_refused_not_summed(workspace):
    # GIVEN the Emissions Impact Dashboard exported twice into the folder: a
    # January-February history, and later a January-March one (Jan restated),
    # in place of the demo's own export
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["azure_emissions_export"] = {}
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True))
    folder = workspace.sources / "azure" / "emissions_export"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    january = workspace.landing / "azure_carbon" / "emissions_export" / "month=2025-01"
    before = parquet_digest(workspace.landing)
    row = "{},E1,sub-1,ML,Virtual Machines,NCv3,West Europe,Scope 2,2,{}"
    (folder / "history-2025-02.csv").write_text(
        "\n".join([EID_HEADER, row.format(20250101, 1.25), row.format(20250201, 2.5)]) + "\n"
    )
    (folder / "history-2025-03.csv").write_text(
        "\n".join(
            [
                EID_HEADER,
                row.format(20250101, 1.5),
                row.format(20250201, 2.5),
                row.format(20250301, 3.0),
            ]
        )
        + "\n"
    )
    # WHEN January is extracted THEN it is refused naming both files: summed,
    # January would be 2.75 t instead of 1.5 or 1.25
    with pytest.raises(
        SourceError,
        match=r"history-2025-02.csv, .*history-2025-03.csv all hold 2025-01 of enrollment E1",
    ):
        workspace.extract("azure_emissions_export", ("2025-01",))
    assert parquet_digest(workspace.landing) == before
    # AND once the older export is removed, January lands from the newer one
    (folder / "history-2025-02.csv").unlink()
    workspace.extract("azure_emissions_export", ("2025-01",))
    table = pq.read_table(january / "part-0.parquet")
    assert table["totalEmissions"].to_pylist() == [1.5]
