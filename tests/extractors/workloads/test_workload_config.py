"""Config keys of the AI-workload sources: each mistake named by its key, nothing written."""

from __future__ import annotations

import pyarrow as pa
import pytest

from extractors.errors import ConfigError
from extractors.landing import (
    QUARANTINE_SCHEMA,
    Quarantine,
    land_table,
    quarantine_file,
    write_quarantine,
)
from extractors.org_config import (
    CodeCarbonSource,
    DcgmSource,
    InferencePrometheus,
    MlflowSource,
    NvidiaSmiSource,
    OpenCostSource,
    land_config,
    load_config,
)

pytest_plugins = ["workload_fixtures"]

FULL = {
    "slurm": {
        "clusters": ["hpc1"],
        "command": ["ssh", "login1.example.org", "sacct"],
        "timeout_seconds": 120,
    },
    "dcgm": {
        "url": "http://prometheus.monitoring:9090/",
        "token_env": "PROMETHEUS_TOKEN",
        "step_seconds": 30,
        "chunk_by": "Hostname",
    },
    "opencost": {"url": "http://opencost.opencost:9003", "timeout_seconds": 600},
    "nvidia_smi": {
        "timezone": "Europe/Berlin",
        "host_timezones": {"gpu-ws-1": "America/New_York"},
        "max_gap_seconds": 120,
    },
    "codecarbon": {"timezone": "Europe/Paris"},
    "mlflow": {
        "tracking_uri": "https://mlflow.example.org",
        "experiments": ["lm-pretrain"],
        "username_env": "MLFLOW_TRACKING_USERNAME",
        "password_env": "MLFLOW_TRACKING_PASSWORD",
        "page_size": 500,
        "max_run_days": 60,
    },
    "inference": {
        "prometheus": {
            "url": "http://prometheus.monitoring:9090",
            "requests_metric": "vllm:request_success_total",
            "tokens_metric": "vllm:generation_tokens_total",
            "service_label": "model_name",
        }
    },
}


def test_every_workload_key_is_read(config_doc, write_config):
    config_doc["sources"].update(FULL)
    sources = load_config(write_config(config_doc)).sources
    assert sources.slurm.command == ("ssh", "login1.example.org", "sacct")
    assert sources.slurm.timeout_seconds == 120
    assert sources.dcgm == DcgmSource(
        "http://prometheus.monitoring:9090", "PROMETHEUS_TOKEN", 120.0, 30, "Hostname"
    )
    assert sources.opencost == OpenCostSource("http://opencost.opencost:9003", None, 600)
    assert sources.nvidia_smi == NvidiaSmiSource(
        "Europe/Berlin", {"gpu-ws-1": "America/New_York"}, 120
    )
    assert sources.codecarbon == CodeCarbonSource("Europe/Paris")
    assert sources.mlflow == MlflowSource(
        "https://mlflow.example.org",
        ("lm-pretrain",),
        None,
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        500,
        60,
    )
    assert sources.inference.prometheus == InferencePrometheus(
        "http://prometheus.monitoring:9090",
        "vllm:request_success_total",
        "model_name",
        "vllm:generation_tokens_total",
    )


def test_empty_sections_take_the_defaults(config_doc, write_config):
    config_doc["sources"].update(nvidia_smi=None, codecarbon={}, mlflow={}, inference={})
    sources = load_config(write_config(config_doc)).sources
    assert sources.nvidia_smi == NvidiaSmiSource()
    assert sources.codecarbon == CodeCarbonSource()
    assert sources.mlflow.tracking_uri is None and sources.inference.prometheus is None
    assert sources.slurm.command is None


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("dcgm", {}, "sources.dcgm.url: required key is missing"),
        (
            "dcgm",
            {"url": "http://admin:pw@prometheus:9090"},
            "sources.dcgm.url: expected a URL without credentials",
        ),
        ("dcgm", {"url": "prometheus:9090"}, "sources.dcgm.url: expected an http(s) URL"),
        (
            "dcgm",
            {"url": "http://p:9090", "step_seconds": 0},
            "sources.dcgm.step_seconds: expected a whole number between 1 and 3600, got 0",
        ),
        (
            "dcgm",
            {"url": "http://p:9090", "token_env": "s3cr3t token"},
            "sources.dcgm.token_env: expected the name of an environment variable",
        ),
        (
            "dcgm",
            {"url": "http://p:9090", "chunk_by": "host-name"},
            "sources.dcgm.chunk_by: expected a Prometheus label name",
        ),
        ("dcgm", {"url": "http://p:9090", "password": "x"}, "sources.dcgm.password: unknown key"),
        (
            "opencost",
            {"url": "http://o:9003", "timeout_seconds": 0},
            "sources.opencost.timeout_seconds: expected a number > 0, got 0",
        ),
        (
            "nvidia_smi",
            {"timezone": "Mars/Olympus"},
            "sources.nvidia_smi.timezone: expected an IANA time zone",
        ),
        (
            "nvidia_smi",
            {"host_timezones": {"ws1": "Nowhere/Town"}},
            "sources.nvidia_smi.host_timezones.ws1: expected an IANA time zone",
        ),
        (
            "nvidia_smi",
            {"max_gap_seconds": -5},
            "sources.nvidia_smi.max_gap_seconds: expected a number > 0, got -5",
        ),
        ("codecarbon", {"timezone": "CEST+2"}, "sources.codecarbon.timezone: expected an IANA"),
        (
            "mlflow",
            {"experiments": ["a"]},
            "sources.mlflow.experiments: only applies with tracking_uri",
        ),
        (
            "mlflow",
            {"tracking_uri": "http://m:5000", "username_env": "U"},
            "sources.mlflow.password_env: basic auth needs both",
        ),
        (
            "mlflow",
            {"tracking_uri": "http://m:5000", "page_size": 100000},
            "sources.mlflow.page_size: expected a whole number between 1 and 50000",
        ),
        (
            "mlflow",
            {"tracking_uri": "http://m:5000", "experiments": ["a", "a"]},
            "sources.mlflow.experiments[1]: experiment 'a' is listed twice",
        ),
        (
            "inference",
            {"prometheus": {"url": "http://p:9090", "requests_metric": "x_total"}},
            "sources.inference.prometheus.service_label: required key is missing",
        ),
        (
            "inference",
            {
                "prometheus": {
                    "url": "http://p:9090",
                    "requests_metric": "rate(x[5m])",
                    "service_label": "service",
                }
            },
            "sources.inference.prometheus.requests_metric: expected a Prometheus metric name",
        ),
    ],
)
def test_each_mistake_names_its_key(config_doc, write_config, landing, section, value, message):
    config_doc["sources"][section] = value
    with pytest.raises(ConfigError) as error:
        land_config(load_config(write_config(config_doc)), landing)
    assert message in str(error.value)
    assert "1 mistake;" in str(error.value)
    assert not landing.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ssh login1 sacct", "sources.slurm.command: expected a list of arguments"),
        ([], "sources.slurm.command: expected a list of arguments"),
        (["ssh", ""], "sources.slurm.command[1]: expected a non-empty string"),
    ],
)
def test_slurm_command_must_be_an_argv(config_doc, write_config, value, message):
    config_doc["sources"]["slurm"]["command"] = value
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(write_config(config_doc))


def test_write_quarantine_replaces_then_removes(tmp_path):
    q = Quarantine("s", "d", "month=2025-01")
    q.add("f.csv", "bad", line_number=3, field="x", raw="1,2")
    written = write_quarantine(tmp_path, "s", "d", "month=2025-01", q.table())
    assert written == quarantine_file(tmp_path, "s", "d", "month=2025-01")
    assert [p.name for p in written.parent.iterdir()] == ["part-0.parquet"]
    assert (
        write_quarantine(tmp_path, "s", "d", "month=2025-01", QUARANTINE_SCHEMA.empty_table())
        is None
    )
    assert not written.exists() and not (tmp_path / "_quarantine" / "s").exists()


def test_land_table_checksums_what_was_fetched(tmp_path):
    table = pa.table({"x": [1, 2]})
    first = land_table(
        tmp_path, source="s", dataset="d", partition="month=2025-01", inputs=["u"], table=table
    )
    again = land_table(
        tmp_path, source="s", dataset="d", partition="month=2025-01", inputs=["u"], table=table
    )
    other = land_table(
        tmp_path,
        source="s",
        dataset="d",
        partition="month=2025-01",
        inputs=["u"],
        table=pa.table({"x": [3]}),
    )
    assert [first.status, again.status, other.status] == ["loaded", "unchanged", "loaded"]
    assert first.checksum == again.checksum != other.checksum
