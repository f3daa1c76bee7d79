"""Bad data: schema drift, wrong units, absurd values, NaN and NULL, time zones,
month ends, bytes that are not UTF-8, empty and huge files.

The rule every test checks: a value the product would have to guess at never
lands. Either the row is quarantined (line-oriented sources: it is counted,
with its file, line and reason, and the rest lands), or the whole delivery is
refused naming file, column or line, and what was landed before stays as it
was, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from harness import (
    CROSSING_JOB,
    MONTHS,
    UNUSABLE_LINE,
    landed,
    ledger_lines,
    parquet_digest,
)

from extractors.errors import ConfigError, SourceError
from extractors.org_config import load_config

CUR_CHUNK = (
    "aws/helio-billing/cur2/helio-cur2/data/BILLING_PERIOD=2025-01/helio-cur2-00001.snappy.parquet"
)
GCP_BILLING = (
    "gcp/helio-finops/billing/gcp_billing_export_v1_01ABCD_234567_89EFGH/invoice_month=202501.jsonl"
)


class Unchanged:
    """Asserts on exit that landing holds exactly what it held on entry."""

    def __init__(self, workspace) -> None:
        self.landing = workspace.landing

    def __enter__(self) -> Unchanged:
        self.before = landed(self.landing), parquet_digest(self.landing)
        self.lines = ledger_lines(self.landing)
        return self

    def __exit__(self, *exc) -> None:
        assert (landed(self.landing), parquet_digest(self.landing)) == self.before
        assert ledger_lines(self.landing) == self.lines


def rewrite_chunk(workspace, change) -> None:
    path = workspace.sources / CUR_CHUNK
    pq.write_table(change(pq.read_table(path)), path)


DRIFTS = {
    "added": lambda t: t.append_column("line_item_new_field", pa.array(["x"] * t.num_rows)),
    "removed": lambda t: t.drop_columns(["line_item_usage_amount"]),
    "renamed": lambda t: t.rename_columns(
        ["lineItemUnblendedCost" if n == "line_item_unblended_cost" else n for n in t.column_names]
    ),
    "retyped": lambda t: t.set_column(
        t.column_names.index("line_item_unblended_cost"),
        "line_item_unblended_cost",
        pc.cast(t["line_item_unblended_cost"], pa.string()),
    ),
    "retyped to text": lambda t: t.set_column(
        t.column_names.index("line_item_unblended_cost"),
        "line_item_unblended_cost",
        pa.array(["12.50 USD"] * t.num_rows),
    ),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_schema_drift_lands_what_it_can_read_and_refuses_what_it_cannot(workspace, drift):
    # GIVEN January's CUR landed, then redelivered with a column added,
    # removed, renamed, or retyped (numbers as text, or text that is no number)
    before = landed(workspace.landing)
    rewrite_chunk(workspace, DRIFTS[drift])
    if drift in ("added", "retyped"):
        # WHEN extracted THEN an added column lands as delivered, numbers as
        # text are read as numbers: same rows, same dollars
        workspace.extract("aws_cur", ("2025-01",))
        assert landed(workspace.landing) == before
        return
    # WHEN extracted THEN the load is refused naming the file and the column,
    # and January stays as landed
    expected = {
        "removed": "required column line_item_usage_amount is missing",
        "renamed": "required column line_item_unblended_cost is missing",
        "retyped to text": "column line_item_unblended_cost: expected double",
    }[drift]
    with Unchanged(workspace), pytest.raises(SourceError, match=expected) as failure:
        workspace.extract("aws_cur", ("2025-01",))
    assert "helio-cur2-00001.snappy.parquet" in str(failure.value)


def test_emissions_in_the_wrong_unit_are_refused(workspace, later_sources):
    # GIVEN January's AWS carbon export, one file of it in kilograms, not MTCO2e
    shutil.copytree(
        later_sources / "aws" / "helio-billing" / "carbon",
        workspace.sources / "aws" / "helio-billing" / "carbon",
    )
    path = next(
        (workspace.sources / "aws").rglob("model_version=v3.0.0/usage_period=2025-01/*.parquet")
    )
    table = pq.read_table(path)
    column = table.column_names.index("total_lbm_emissions_unit")
    pq.write_table(
        table.set_column(column, "total_lbm_emissions_unit", pa.array(["kgCO2e"] * table.num_rows)),
        path,
    )
    # WHEN it is extracted THEN the month is refused naming file, column and value
    with (
        Unchanged(workspace),
        pytest.raises(SourceError, match=r"total_lbm_emissions_unit.*kgCO2e"),
    ):
        workspace.extract("aws_carbon", ("2025-01",))
    # (unit level: tests/extractors/test_aws_carbon.py::test_unknown_unit_names_file_column_and_value)


def test_negative_and_absurd_values_are_refused_or_quarantined(workspace, tmp_path):
    from extractors import nvidia_smi
    from extractors.settings import Settings

    # GIVEN a cluster configured with a GPU "drawing" 70 kW (W typed for kW)
    config = yaml.safe_load(workspace.config.read_text())
    config["clusters"][0]["gpu_power_w"] = 70000
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(config))
    # WHEN the config is loaded THEN it is refused naming the key
    with pytest.raises(ConfigError, match=r"gpu_power_w: expected a number <= 3000, got 70000"):
        load_config(bad)
    # GIVEN nvidia-smi samples of 70,000 W and of -5 requests in inference
    config = yaml.safe_load(workspace.config.read_text())
    config["sources"]["nvidia_smi"] = {}
    workspace.config.write_text(yaml.safe_dump(config, allow_unicode=True))
    host = workspace.sources / "nvidia_smi" / "gpu-a01"
    host.mkdir(parents=True)
    (host / "2025-01-15.csv").write_text(
        "timestamp, name, uuid, power.draw [W], utilization.gpu [%]\n"
        "2025/01/15 10:00:00.000, NVIDIA A100, GPU-1, 250.00 W, 90 %\n"
        "2025/01/15 10:01:00.000, NVIDIA A100, GPU-1, 70000.00 W, 90 %\n"
        "2025/01/15 10:02:00.000, NVIDIA A100, GPU-1, 260.00 W, 90 %\n"
    )
    with (workspace.sources / "inference" / "requests_2025-01.csv").open("a") as handle:
        handle.write("2025-01-20T00:00:00Z,llm-chat-api,-5,\n")
    # WHEN they are extracted
    with workspace.active():
        settings = Settings.from_env()
        [smi] = nvidia_smi.extract("2025-01", settings, load_config(settings.config))
    before = landed(workspace.landing)["inference/requests"]["2025-01"]
    workspace.extract("inference", ("2025-01",))
    # THEN each bad line is quarantined with its reason, the rest lands
    assert (smi.rows, smi.quarantined) == (1, 1)
    assert landed(workspace.landing)["inference/requests"]["2025-01"] == before
    reasons = pq.read_table(workspace.landing / "_quarantine").column("reason").to_pylist()
    assert any("more than a GPU draws (3000 W)" in r for r in reasons)
    assert any("expected a whole number >= 0, got '-5'" in r for r in reasons)


@pytest.mark.parametrize("source", ["aws_cur", "gcp_billing"])
def test_nan_in_an_amount_is_refused_not_summed(workspace, source):
    # GIVEN a delivery with one cost of NaN (it would make every sum NaN)
    if source == "aws_cur":

        def nan_cost(table):
            costs = table["line_item_unblended_cost"].to_pylist()
            costs[3] = float("nan")
            index = table.column_names.index("line_item_unblended_cost")
            return table.set_column(
                index, "line_item_unblended_cost", pa.array(costs, pa.float64())
            )

        rewrite_chunk(workspace, nan_cost)
        expected = r"column line_item_unblended_cost, data row 4: expected a finite number, got nan"
    else:
        path = workspace.sources / GCP_BILLING
        lines = path.read_text().splitlines()
        row = json.loads(lines[5])
        row["cost"] = float("nan")
        lines[5] = json.dumps(row)  # Python writes NaN, as some exporters do
        path.write_text("\n".join(lines) + "\n")
        expected = r"line 6, field cost: expected a finite number, got nan"
    # WHEN it is extracted THEN it is refused, naming where, and nothing moves
    with Unchanged(workspace), pytest.raises(SourceError, match=expected):
        workspace.extract(source, ("2025-01",))


def test_null_spellings_are_null_where_allowed_and_quarantined_where_not(workspace):
    # GIVEN inference lines with "NULL", "NaN", an empty count and an empty token count
    rows = [
        "2025-01-21T00:00:00Z,llm-chat-api,NULL,",
        "2025-01-21T01:00:00Z,llm-chat-api,NaN,",
        "2025-01-21T02:00:00Z,llm-chat-api,,",
        "2025-01-21T03:00:00Z,llm-chat-api,7,NULL",
        "2025-01-21T04:00:00Z,llm-chat-api,11,",
    ]
    with (workspace.sources / "inference" / "requests_2025-01.csv").open("a") as handle:
        handle.write("\n".join(rows) + "\n")
    rows_before, requests_before = landed(workspace.landing)["inference/requests"]["2025-01"]
    # WHEN January is extracted
    workspace.extract("inference", ("2025-01",))
    # THEN the empty token count lands as null with its 11 requests, the four
    # lines with a count no one can read are quarantined (not zero, not dropped)
    rows_after, requests_after = landed(workspace.landing)["inference/requests"]["2025-01"]
    assert (rows_after, requests_after) == (rows_before + 1, requests_before + 11)
    quarantine = pq.read_table(
        workspace.landing / "_quarantine" / "inference" / "requests" / "month=2025-01"
    ).to_pylist()
    assert [q["raw"] for q in quarantine] == rows[:4]
    assert all(
        q["file"] == "inference/requests_2025-01.csv" and q["line_number"] for q in quarantine
    )


def test_time_zones_dst_and_month_ends_keep_every_hour_once(workspace):
    # GIVEN March traffic logged in Berlin time across the DST change
    # (02:00 does not exist on 30 March), one line without a zone (UTC by
    # contract), and one hour that is February in UTC
    lines = ["timestamp,service,requests,tokens"]
    berlin_day = [
        ("2025-03-30T00:00:00+01:00", 1),
        ("2025-03-30T01:00:00+01:00", 2),
        ("2025-03-30T03:00:00+02:00", 4),
        ("2025-03-30T04:00:00+02:00", 8),
        ("2025-03-31T12:00:00", 16),
        ("2025-03-01T00:30:00+01:00", 32),
    ]
    lines += [f"{stamp},dst-svc,{count}," for stamp, count in berlin_day]
    (workspace.sources / "inference" / "requests_2025-03.csv").write_text("\n".join(lines) + "\n")
    # WHEN March is extracted
    workspace.extract("inference", ("2025-03",))
    # THEN four distinct UTC hours on the 29th-30th, one on the 31st, and the
    # hour that belongs to February is quarantined, not moved or dropped
    table = pq.read_table(workspace.landing / "inference" / "requests" / "month=2025-03")
    hours = table["timestamp"].to_pylist()
    assert [h.astimezone(dt.UTC).isoformat() for h in hours] == [
        "2025-03-29T23:00:00+00:00",
        "2025-03-30T00:00:00+00:00",
        "2025-03-30T01:00:00+00:00",
        "2025-03-30T02:00:00+00:00",
        "2025-03-31T12:00:00+00:00",
    ]
    assert sum(table["requests"].to_pylist()) == 1 + 2 + 4 + 8 + 16
    [quarantined] = pq.read_table(
        workspace.landing / "_quarantine" / "inference" / "requests" / "month=2025-03"
    ).to_pylist()
    assert "outside the file's month 2025-03" in quarantined["reason"]


def test_a_job_across_the_month_end_counts_once_split_between_the_months(baseline):
    import duckdb

    # GIVEN a 4-GPU job from 31 January 22:00 to 1 February 02:00, listed in
    # both months' sacct files (baseline), WHEN built,
    job_id = CROSSING_JOB.split("|")[0]
    for month in MONTHS:
        slurm = pq.read_table(baseline.landing / "slurm" / "jobs" / f"month={month}")
        assert slurm["JobID"].to_pylist().count(job_id) == 1
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        # THEN staging holds it once
        assert con.execute(
            "select count(*) from stg_slurm__jobs where job_id = ?", [job_id]
        ).fetchone() == (1,)
        # AND the facts hold every GPU-hour of every job once: the sum of
        # GPUs x hours of each job within Jan-Feb (16 for this one, 8 a month)
        [(expected,)] = con.execute(
            "select sum(gpu_count * (epoch(least(coalesce(ended_at, timestamp '2025-03-01'), "
            "timestamp '2025-03-01')) - epoch(greatest(started_at, timestamp '2025-01-01'))) / 3600) "
            "from stg_slurm__jobs where gpu_count > 0 and started_at < timestamp '2025-03-01' "
            "and coalesce(ended_at, timestamp '2025-03-01') > timestamp '2025-01-01'"
        ).fetchall()
        [(facts,)] = con.execute(
            "select sum(gpu_hours) from fct_gpu_usage where source = 'slurm'"
        ).fetchall()
    assert facts == pytest.approx(expected, rel=1e-9)


def test_bytes_that_are_not_utf8(workspace):
    # GIVEN a sacct line with a Latin-1 job name, and an inference file in Latin-1
    sacct = workspace.sources / "slurm" / "hpc1" / "sacct_2025-01.txt"
    fields = sacct.read_text().splitlines()[1].split("|")
    fields[0], fields[1] = "77001", "r\xe9sum\xe9-train"
    with sacct.open("ab") as handle:
        handle.write("|".join(fields).encode("latin-1") + b"\n")
    rows_before = landed(workspace.landing)["slurm/jobs"]["2025-01"][0]
    # WHEN Slurm is extracted THEN that line is quarantined, every other lands
    workspace.extract("slurm", ("2025-01",))
    assert landed(workspace.landing)["slurm/jobs"]["2025-01"][0] == rows_before
    [bad] = pq.read_table(workspace.landing / "_quarantine" / "slurm").to_pylist()
    assert "not UTF-8" in bad["reason"] and bad["raw"].startswith("77001|r\\xe9sum")
    # AND a whole file that is not UTF-8 is refused, naming it
    inference = workspace.sources / "inference" / "requests_2025-02.csv"
    inference.write_bytes(
        inference.read_bytes() + "2025-02-05T00:00:00Z,caf\xe9,1,\n".encode("latin-1")
    )
    with Unchanged(workspace), pytest.raises(SourceError, match=r"requests_2025-02.csv: not UTF-8"):
        workspace.extract("inference", ("2025-02",))


@pytest.mark.parametrize(
    "relative",
    [
        CUR_CHUNK,
        "slurm/hpc1/sacct_2025-01.txt",
        "inference/requests_2025-01.csv",
        "mlflow/runs_2025-01.json",
        GCP_BILLING,
    ],
)
def test_a_zero_byte_file_never_replaces_a_landed_month(workspace, relative):
    # GIVEN January landed, then one source's file redelivered as 0 bytes (an
    # interrupted copy)
    (workspace.sources / relative).write_bytes(b"")
    source = {"aws": "aws_cur", "gcp": "gcp_billing"}.get(
        relative.split("/")[0], relative.split("/")[0]
    )
    # WHEN it is extracted THEN the load is refused naming the file, and the
    # landed month keeps every row
    with Unchanged(workspace), pytest.raises(SourceError, match=relative.split("/")[-1]):
        workspace.extract(source, ("2025-01",))


def test_a_huge_file_lands_every_row_exactly(workspace):
    # GIVEN a month of hourly traffic for 400 services: 297,600 lines, ~12 MB
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    path = workspace.sources / "inference" / "requests_2025-01.csv"
    with path.open("w") as handle:
        handle.write("timestamp,service,requests,tokens\n")
        for hour in range(744):
            stamp = (start + dt.timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for service in range(400):
                handle.write(f"{stamp},svc-{service},{hour + service},{service}\n")
    # WHEN January is extracted THEN every row and request is landed, once
    workspace.extract("inference", ("2025-01",))
    rows, requests = landed(workspace.landing)["inference/requests"]["2025-01"]
    assert rows == 744 * 400
    assert requests == sum(h + s for h in range(744) for s in range(400))


def test_unusable_rows_are_quarantined_counted_and_visible_in_the_warehouse(baseline):
    import duckdb

    # GIVEN February's inference file with one line no one can read (baseline)
    quarantine = pq.read_table(baseline.landing / "_quarantine").to_pylist()
    # THEN it is in the quarantine table with source, location and reason
    [row] = [q for q in quarantine if q["source"] == "inference"]
    assert row["raw"] == UNUSABLE_LINE.strip()
    assert (row["dataset"], row["partition"], row["file"]) == (
        "requests",
        "month=2025-02",
        "inference/requests_2025-02.csv",
    )
    assert row["line_number"] > 1 and "expected a whole number" in row["reason"]
    # AND counted in the ledger (the DAG's run summary reads these counts)
    loads = [json.loads(line) for line in ledger_lines(baseline.landing)]
    [load] = [r for r in loads if (r["source"], r["partition"]) == ("inference", "month=2025-02")]
    assert load["quarantined"] == 1
    # AND, where the warehouse models the quarantine, it is there too
    with duckdb.connect(str(baseline.warehouse), read_only=True) as con:
        models = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
        model = next((m for m in models if m.startswith("stg_landing__quarantine")), None)
        if model is None:
            pytest.skip("no staging model over landing/_quarantine in this warehouse yet")
        found = con.execute(
            f"select count(*) from {model} where reason like 'expected a whole number%'"
        ).fetchone()
    assert found == (1,)
