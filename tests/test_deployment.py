"""docker-compose.yml cannot be started here (no Docker engine), so this checks
what can be checked: it parses, has the services of a production deployment,
and agrees with the code on paths, environment variables, the pool and the
Airflow version."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = [
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]


def env_vars_read_by_code() -> set[str]:
    names = set()
    for folder in ("extractors", "transform", "dags"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"\bAI_CARBON_[A-Z_]+\b", path.read_text()))
    names |= set(
        re.findall(
            r"\bAI_CARBON_[A-Z_]+\b", (ROOT / "dbt_project").joinpath("profiles.yml").read_text()
        )
    )
    return names


def test_compose_has_a_production_like_set_of_services():
    services = COMPOSE["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres"} <= set(services)
    for name in AIRFLOW_SERVICES:
        assert "postgresql" in services[name]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


# The scale-out profile (README "Past one machine"): a Celery broker and workers.
SCALE_OUT_PROFILE = "celery"
WORKER = "airflow-worker"


def test_every_airflow_service_mounts_the_project_where_its_env_points():
    for name in [*AIRFLOW_SERVICES, WORKER]:
        service = COMPOSE["services"][name]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        env = service["environment"]
        assert mounts["/opt/ai-carbon"] == "./"
        dags_folder = env["AIRFLOW__CORE__DAGS_FOLDER"]
        assert dags_folder.startswith("/opt/ai-carbon/")
        relative = Path(dags_folder).relative_to("/opt/ai-carbon")
        assert (ROOT / relative / "ai_carbon_nightly.py").exists()
        assert env["PYTHONPATH"] == "/opt/ai-carbon"
        config = Path(env["AI_CARBON_CONFIG"]).relative_to("/opt/ai-carbon")
        assert (ROOT / config).exists()
        for var in ("AI_CARBON_LANDING", "AI_CARBON_WAREHOUSE", "AI_CARBON_SOURCES"):
            assert any(
                env[var].startswith(target) for target in mounts if target != "/opt/ai-carbon"
            ), var


def test_compose_sets_every_setting_the_code_reads():
    env = COMPOSE["services"]["airflow-scheduler"]["environment"]
    missing = env_vars_read_by_code() - set(env)
    assert not missing, f"docker-compose.yml does not set {sorted(missing)}"


def test_named_volumes_are_declared():
    declared = set(COMPOSE["volumes"])
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared


def test_no_secret_is_written_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for key in ("POSTGRES_PASSWORD", "JWT_SECRET"):
        for match in re.finditer(rf"^\s*\w*{key}\s*:\s+(\S+)", text, re.M):
            assert match.group(1).startswith("${"), match.group(0)
    assert not re.search(r"://airflow:[^$]", text)


def test_pool_and_versions_agree_with_the_code():
    dag_source = (ROOT / "dags" / "ai_carbon_nightly.py").read_text()
    pool = re.search(r'WAREHOUSE_POOL = "([^"]+)"', dag_source).group(1)
    assert f"pools set {pool} 1" in COMPOSE["services"]["airflow-init"]["command"]
    airflow_pin = re.search(
        r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"apache/airflow:{airflow_pin.group(1)}-python3.11" in dockerfile


def test_scale_out_profile_switches_only_the_executor():
    services = COMPOSE["services"]
    profiled = {name for name, s in services.items() if SCALE_OUT_PROFILE in s.get("profiles", [])}
    assert profiled == {"redis", WORKER}
    # the default deployment starts without the profile
    for name in [*AIRFLOW_SERVICES, "postgres"]:
        assert "profiles" not in services[name], name
    # the workers run Celery; the scheduler follows the variable the header documents
    assert services[WORKER]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert services[WORKER]["command"] == "celery worker"
    for name in AIRFLOW_SERVICES:
        executor = services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"]
        assert executor == "${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}", name
    header = (ROOT / "docker-compose.yml").read_text().split("\n\n", 1)[0]
    assert "AIRFLOW__CORE__EXECUTOR=CeleryExecutor docker compose --profile celery up" in header


def test_scale_out_profile_shares_one_broker_without_a_written_secret():
    services = COMPOSE["services"]
    brokers = {
        services[name]["environment"]["AIRFLOW__CELERY__BROKER_URL"]
        for name in [*AIRFLOW_SERVICES, WORKER]
    }
    assert len(brokers) == 1
    broker = urlsplit(brokers.pop())
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    assert broker.password is None and broker.username is None
    assert str(broker.port) in services["redis"]["expose"]
    assert "ports" not in services["redis"], "the broker is reached on the compose network only"
    assert "redis" in services[WORKER]["depends_on"]
    backend = services[WORKER]["environment"]["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert re.search(r"://airflow:\$\{POSTGRES_PASSWORD[:?}]", backend), backend


def test_workers_hold_no_state_of_their_own():
    # GIVEN a task may run on any worker: it must see the same landing, warehouse and settings
    services = COMPOSE["services"]
    worker, scheduler = services[WORKER], services["airflow-scheduler"]
    assert worker["volumes"] == scheduler["volumes"]
    for var in env_vars_read_by_code():  # (a setting missing from both: the test above)
        assert worker["environment"].get(var) == scheduler["environment"].get(var), var
