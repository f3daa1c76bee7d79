"""Slurm sacct extractor: text lands verbatim; malformed lines are quarantined."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import slurm
from extractors.errors import SourceError

pytest_plugins = ["extractor_fixtures"]

MONTH = "2025-01"
HEADER = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|ConsumedEnergyRaw|NodeList"
# Real sacct -P output shapes: a cancelled job names who cancelled it, an array
# task, a heterogeneous job component still running (End=Unknown), and empty
# ConsumedEnergyRaw where the node shares no energy counter.
SACCT_HPC1 = (
    f"{HEADER}\n"
    "4101|lm-pretrain-v7|alice|research|gpu-a100|COMPLETED|2025-01-03T08:00:00|2025-01-04T20:00:00|129600|billing=64,cpu=64,gres/gpu:a100=8,gres/gpu=8,mem=512G,node=1|3456000000|gpu-a01\n"
    "4102|eval-nightly|bob|research|gpu-a100|CANCELLED by 1234|2025-01-05T01:00:00|2025-01-05T01:20:00|1200|billing=8,cpu=8,gres/gpu:a100=1,gres/gpu=1,mem=64G,node=1||gpu-a02\n"
    "4103_7|sweep|carol|teaching|gpu-a100|FAILED|2025-01-06T10:00:00|2025-01-06T10:05:00|300|cpu=4,gres/gpu=1,mem=16G,node=1|0|gpu-a03\n"
    "4104+1|het-job|dave|research|gpu-h100|RUNNING|2025-01-31T22:00:00|Unknown|7200|cpu=16,gres/gpu:h100=2,gres/gpu=2,mem=128G,node=1||gpu-h01\n"
)
SACCT_HPC2 = (
    f"{HEADER}\n"
    "77|lm-pretrain-v7|alice|research|h100|TIMEOUT|2025-01-10T00:00:00|2025-01-11T00:00:00|86400|cpu=32,gres/gpu:h100=4,gres/gpu=4,mem=256G,node=1|1000|h-[01-02]\n"
)


def write_sacct(sources: Path, cluster: str, text: str, month: str = MONTH) -> Path:
    path = sources / "slurm" / cluster / f"sacct_{month}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_parse_sacct_keeps_every_value_as_printed():
    # WHEN the text of a real sacct -P call is parsed
    jobs = slurm.parse_sacct(SACCT_HPC1)
    # THEN one dict per job, values verbatim
    assert [job["JobID"] for job in jobs] == ["4101", "4102", "4103_7", "4104+1"]
    assert jobs[1]["State"] == "CANCELLED by 1234"
    assert jobs[1]["ConsumedEnergyRaw"] == ""
    assert jobs[3]["End"] == "Unknown"
    assert jobs[0]["AllocTRES"] == "billing=64,cpu=64,gres/gpu:a100=8,gres/gpu=8,mem=512G,node=1"


def test_parse_sacct_accepts_lower_case_p_trailing_bar_and_crlf():
    text = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|ConsumedEnergyRaw|NodeList|\r\n"
    text += "9|x|u|a|p|COMPLETED|s|e|1|cpu=1|0|n1|\r\n"
    assert slurm.parse_sacct(text) == [
        dict(
            zip(
                HEADER.split("|"),
                ["9", "x", "u", "a", "p", "COMPLETED", "s", "e", "1", "cpu=1", "0", "n1"],
                strict=True,
            )
        )
    ]


def test_both_clusters_land_as_strings_with_lineage(sources, settings, org_config, landed):
    # GIVEN a month of sacct output for two clusters
    write_sacct(sources, "hpc1", SACCT_HPC1)
    write_sacct(sources, "hpc2", SACCT_HPC2)
    # WHEN the month is extracted
    [record] = slurm.extract(MONTH, settings, org_config)
    # THEN five jobs land, each with its cluster, file and line number
    assert (record.source, record.dataset, record.status, record.rows) == (
        "slurm",
        "jobs",
        "loaded",
        5,
    )
    table = landed.table("slurm", "jobs")
    assert table.column_names == ["cluster", *HEADER.split("|"), "_source_file", "_line_number"]
    assert all(table.schema.field(name).type == pa.string() for name in HEADER.split("|"))
    assert table.schema.field("_line_number").type == pa.int64()
    rows = table.to_pylist()
    assert [(r["cluster"], r["JobID"], r["_line_number"]) for r in rows] == [
        ("hpc1", "4101", 2),
        ("hpc1", "4102", 3),
        ("hpc1", "4103_7", 4),
        ("hpc1", "4104+1", 5),
        ("hpc2", "77", 2),
    ]
    assert rows[1]["State"] == "CANCELLED by 1234"
    assert rows[3]["End"] == "Unknown"
    assert rows[4]["_source_file"] == "slurm/hpc2/sacct_2025-01.txt"


def test_rerun_is_unchanged_and_byte_identical(sources, settings, org_config, landed, ledger):
    write_sacct(sources, "hpc1", SACCT_HPC1)
    slurm.extract(MONTH, settings, org_config)
    before = landed.path("slurm", "jobs").read_bytes()
    [record] = slurm.extract(MONTH, settings, org_config)
    assert (record.status, record.rows) == ("unchanged", 4)
    assert [r["status"] for r in ledger()] == ["loaded", "unchanged"]
    assert landed.path("slurm", "jobs").read_bytes() == before


def test_line_with_wrong_field_count_is_quarantined_and_the_rest_lands(
    sources, settings, org_config, landed, landing
):
    # GIVEN a job name containing '|' (sacct -P does not escape it), on line 3
    lines = SACCT_HPC1.splitlines()
    lines[2] = lines[2].replace("eval-nightly", "eval|nightly")
    write_sacct(sources, "hpc1", "\n".join(lines) + "\n")
    # WHEN the month is extracted
    [record] = slurm.extract(MONTH, settings, org_config)
    # THEN the other three jobs land, and line 3 is quarantined with why
    assert (record.status, record.rows, record.quarantined) == ("loaded", 3, 1)
    assert landed.table("slurm", "jobs")["JobID"].to_pylist() == ["4101", "4103_7", "4104+1"]
    [bad] = pq.read_table(
        landing / "_quarantine" / "slurm" / "jobs" / "month=2025-01" / "part-0.parquet"
    ).to_pylist()
    assert bad == {
        "source": "slurm",
        "dataset": "jobs",
        "partition": "month=2025-01",
        "file": "slurm/hpc1/sacct_2025-01.txt",
        "line_number": 3,
        "field": None,
        "reason": "expected 12 '|'-separated fields, got 13",
        "raw": lines[2],
    }


def test_parse_sacct_without_a_quarantine_raises_on_a_bad_line():
    with pytest.raises(SourceError, match=r"x\.txt, line 2: expected 12 '\|'-separated fields"):
        slurm.parse_sacct(HEADER + "\n1|broken\n", "x.txt")


def test_header_without_a_required_field_is_refused(sources, settings, org_config):
    write_sacct(sources, "hpc1", SACCT_HPC1.replace("|ConsumedEnergyRaw|", "|Energy|", 1))
    with pytest.raises(
        SourceError, match=r"line 1: header lacks required field.* ConsumedEnergyRaw"
    ):
        slurm.extract(MONTH, settings, org_config)


def test_extra_sacct_field_lands_too(sources, settings, org_config, landed):
    # GIVEN output asked with one more field (Cluster) than the contract needs
    text = f"{HEADER}|Cluster\n" + "".join(f"{line}|hpc1\n" for line in SACCT_HPC1.splitlines()[1:])
    write_sacct(sources, "hpc1", text)
    slurm.extract(MONTH, settings, org_config)
    assert landed.table("slurm", "jobs")["Cluster"].to_pylist() == ["hpc1"] * 4


def test_header_only_lands_an_empty_month(sources, settings, org_config, landed):
    write_sacct(sources, "hpc1", HEADER + "\n")
    [record] = slurm.extract(MONTH, settings, org_config)
    assert record.rows == 0
    assert "JobID" in landed.table("slurm", "jobs").column_names


def test_cluster_not_delivered_is_skipped(sources, settings, org_config, landed, caplog):
    # GIVEN only hpc1 delivered its month
    write_sacct(sources, "hpc1", SACCT_HPC1)
    with caplog.at_level(logging.INFO, logger="extractors.slurm"):
        [record] = slurm.extract(MONTH, settings, org_config)
    assert record.rows == 4
    assert "cluster hpc2 not delivered" in caplog.text


def test_no_cluster_delivered_lands_nothing(settings, org_config, landing):
    assert slurm.extract(MONTH, settings, org_config) == []
    assert not landing.exists()


def test_non_utf8_line_is_quarantined(sources, settings, org_config, landing):
    path = write_sacct(sources, "hpc1", SACCT_HPC1)
    path.write_bytes(path.read_bytes().replace(b"carol", b"car\xffl"))
    [record] = slurm.extract(MONTH, settings, org_config)
    assert (record.rows, record.quarantined) == (3, 1)
    [bad] = pq.read_table(landing / "_quarantine/slurm/jobs/month=2025-01").to_pylist()
    assert (bad["line_number"], bad["reason"]) == (4, "not UTF-8 (invalid start byte at byte 16)")
    assert "car\\xffl" in bad["raw"]


def test_non_utf8_header_is_refused(sources, settings, org_config, landing):
    path = write_sacct(sources, "hpc1", SACCT_HPC1)
    path.write_bytes(b"\xff" + path.read_bytes())
    with pytest.raises(SourceError, match=r"sacct_2025-01\.txt, line 1: header is not UTF-8"):
        slurm.extract(MONTH, settings, org_config)
    assert not landing.exists()
