"""sacct run on a login host (a fake ``sacct`` on PATH), and quarantined lines."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from extractors import slurm
from extractors.errors import SourceError
from extractors.org_config import load_config
from extractors.remote import SourceUnavailable
from extractors.settings import Settings

pytest_plugins = ["workload_fixtures"]

MONTH = "2025-01"
HEADER = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|ConsumedEnergyRaw|NodeList"
# What `sacct -a -X -P` prints for allocations: an array task, both components
# of a heterogeneous job, a job cancelled by uid 123, one killed for memory,
# one preempted, one lost with its node, one over time, one spanning midnight
# into the month, and a line whose job name held a '|' (line 11).
OUTPUT = (
    f"{HEADER}\n"
    "123_7|lm-sweep|alice|research|gpu-a100|COMPLETED|2025-01-03T08:00:00|2025-01-03T10:00:00|7200|billing=8,cpu=8,gres/gpu:a100=1,gres/gpu=1,mem=64G,node=1|720000|gpu-a01\n"
    "124+0|het-lm|bob|research|gpu-h100|COMPLETED|2025-01-04T00:00:00|2025-01-04T01:00:00|3600|cpu=16,gres/gpu:h100=2,gres/gpu=2,mem=128G,node=1||gpu-h01\n"
    "124+1|het-lm|bob|research|cpu|COMPLETED|2025-01-04T00:00:00|2025-01-04T01:00:00|3600|cpu=4,mem=16G,node=1||cpu-01\n"
    "125|eval|carol|research|gpu-a100|CANCELLED by 123|2025-01-05T01:00:00|2025-01-05T01:20:00|1200|cpu=8,gres/gpu=1,mem=64G,node=1||gpu-a02\n"
    "126|lm-big|alice|research|gpu-h100|OUT_OF_MEMORY|2025-01-06T10:00:00|2025-01-06T10:05:00|300|cpu=32,gres/gpu:h100=4,gres/gpu=4,mem=256G,node=1|90000|gpu-h02\n"
    "127|lm-low|dave|teaching|gpu-a100|PREEMPTED|2025-01-07T10:00:00|2025-01-07T12:00:00|7200|cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=64G,node=1||gpu-a03\n"
    "128|lm-node|dave|teaching|gpu-a100|NODE_FAIL|2025-01-08T10:00:00|2025-01-08T11:00:00|3600|cpu=8,gres/gpu=1,mem=64G,node=1||gpu-a04\n"
    "129|lm-long|alice|research|gpu-h100|TIMEOUT|2025-01-09T00:00:00|2025-01-10T00:00:00|86400|cpu=32,gres/gpu:h100=8,gres/gpu=8,mem=1T,node=1|3456000000|gpu-h03\n"
    "130|lm-nye|alice|research|gpu-h100|COMPLETED|2024-12-31T22:00:00|2025-01-01T02:00:00|14400|cpu=8,gres/gpu:h100=1,gres/gpu=1,mem=64G,node=1||gpu-h04\n"
    "131|eval|nightly|carol|research|gpu-a100|FAILED|2025-01-11T01:00:00|2025-01-11T01:01:00|60|cpu=1,gres/gpu=1,node=1|0|gpu-a02\n"
)


@pytest.fixture
def command_settings(config_doc, write_config, sources, landing):
    def make(clusters=("hpc1",), **options):
        config_doc["sources"]["slurm"] = {
            "clusters": list(clusters),
            "command": ["sacct"],
            **options,
        }
        config = load_config(write_config(config_doc))
        return Settings(sources=sources, landing=landing, config=config.path), config

    return make


def test_sacct_on_the_login_host_lands_every_state_and_quarantines_the_bad_line(
    fake_sacct, command_settings, landed, landing
):
    # GIVEN a login host whose sacct prints the month
    fake_sacct.output(OUTPUT)
    settings, config = command_settings()
    # WHEN the month is extracted through the configured command
    [record] = slurm.extract(MONTH, settings, config)
    # THEN sacct was asked for the month's allocations, in UTC, without a shell
    [call] = fake_sacct.calls()
    assert call == [
        "TZ=UTC",
        "-a",
        "-X",
        "-P",
        "-S",
        "2025-01-01T00:00:00",
        "-E",
        "2025-02-01T00:00:00",
        f"--format={slurm.SACCT_FORMAT}",
    ]
    # AND nine jobs land verbatim; line 11 waits in quarantine
    assert (record.status, record.rows, record.quarantined) == ("loaded", 9, 1)
    rows = landed.table("slurm", "jobs").to_pylist()
    assert [r["JobID"] for r in rows] == [
        "123_7",
        "124+0",
        "124+1",
        "125",
        "126",
        "127",
        "128",
        "129",
        "130",
    ]
    assert [r["State"] for r in rows][3:8] == [
        "CANCELLED by 123",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "NODE_FAIL",
        "TIMEOUT",
    ]
    assert {r["_source_file"] for r in rows} == {"sacct@hpc1"}
    assert rows[8]["Start"] == "2024-12-31T22:00:00"  # staging splits it at midnight
    [bad] = pq.read_table(landing / "_quarantine/slurm/jobs/month=2025-01").to_pylist()
    assert bad == {
        "source": "slurm",
        "dataset": "jobs",
        "partition": "month=2025-01",
        "file": "sacct@hpc1",
        "line_number": 11,
        "field": None,
        "reason": "expected 12 '|'-separated fields, got 13",
        "raw": OUTPUT.splitlines()[10],
    }


def test_several_clusters_are_asked_one_by_one(fake_sacct, command_settings, landed):
    fake_sacct.output(OUTPUT)
    settings, config = command_settings(clusters=("hpc1", "hpc2"))
    [record] = slurm.extract(MONTH, settings, config)
    assert [call[-2:] for call in fake_sacct.calls()] == [["-M", "hpc1"], ["-M", "hpc2"]]
    assert record.rows == 18 and record.quarantined == 2
    assert record.files == ["sacct@hpc1", "sacct@hpc2"]


def test_same_output_again_is_unchanged(fake_sacct, command_settings, landed, ledger):
    fake_sacct.output(OUTPUT)
    settings, config = command_settings()
    slurm.extract(MONTH, settings, config)
    before = landed.path("slurm", "jobs").read_bytes()
    [record] = slurm.extract(MONTH, settings, config)
    assert (record.status, record.quarantined) == ("unchanged", 1)
    assert landed.path("slurm", "jobs").read_bytes() == before


def test_failing_sacct_names_the_command_and_its_stderr(
    fake_sacct, command_settings, monkeypatch, landing
):
    monkeypatch.setenv("FAKE_SACCT_FAIL", "1")
    fake_sacct.output(OUTPUT)
    settings, config = command_settings()
    with pytest.raises(SourceUnavailable) as error:
        slurm.extract(MONTH, settings, config)
    message = str(error.value)
    assert "`sacct -a -X -P -S 2025-01-01T00:00:00" in message
    assert "exited with status 1" in message
    assert "Problem talking to the database: Connection refused" in message
    assert not landing.exists()


def test_a_hanging_sacct_times_out(fake_sacct, command_settings, monkeypatch, landing):
    monkeypatch.setenv("FAKE_SACCT_SLEEP", "5")
    fake_sacct.output(OUTPUT)
    settings, config = command_settings(timeout_seconds=0.3)
    with pytest.raises(SourceUnavailable, match=r"did not finish within 0\.3s"):
        slurm.extract(MONTH, settings, config)
    assert not landing.exists()


def test_a_command_not_on_path_is_named(command_settings, config_doc, write_config, landing):
    settings, _ = command_settings()
    config_doc["sources"]["slurm"]["command"] = ["no-such-sacct-here"]
    config = load_config(write_config(config_doc))
    with pytest.raises(SourceError, match=r"sources\.slurm\.command: 'no-such-sacct-here' was not"):
        slurm.extract(MONTH, settings, config)
    assert not landing.exists()


def test_missing_header_field_still_stops_the_month(fake_sacct, command_settings, landing):
    fake_sacct.output(OUTPUT.replace("|ConsumedEnergyRaw", "", 1))
    settings, config = command_settings()
    with pytest.raises(SourceError, match=r"sacct@hpc1, line 1: header lacks .*ConsumedEnergyRaw"):
        slurm.extract(MONTH, settings, config)
    assert not landing.exists()


def test_a_line_without_a_job_id_is_quarantined_by_field(fake_sacct, command_settings, landing):
    fake_sacct.output(f"{HEADER}\n|x|u|a|p|COMPLETED|s|e|1|cpu=1|0|n1\n")
    settings, config = command_settings()
    [record] = slurm.extract(MONTH, settings, config)
    assert (record.rows, record.quarantined) == (0, 1)
    [bad] = pq.read_table(landing / "_quarantine/slurm/jobs/month=2025-01").to_pylist()
    assert (bad["line_number"], bad["field"], bad["reason"]) == (
        2,
        "JobID",
        "expected a job id, got nothing",
    )
