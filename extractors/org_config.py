"""The organisation config: validate the YAML file, then land the org tables.

Reads one YAML file (``config/org.example.yml`` for the demo) describing the
organisation's AI systems and their attribution rules, on-premises sites (PUE,
energy instruments), Slurm clusters, server hardware and where each source is
delivered. ``load_config`` checks the whole file and reports every mistake at
once, each naming its key path (``systems[2].kind: expected one of ...``);
``land_config`` writes ``landing/org/<table>/snapshot=current/part-0.parquet``
for the tables of docs/data-contract.md.

Must never write a table unless the whole file is valid, never open the
warehouse, and never carry credentials: the file holds none, and unknown keys
are errors, so a stray ``password:`` is rejected rather than passed along.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from extractors.errors import ConfigError
from extractors.landing import LoadRecord, land

log = logging.getLogger(__name__)

SYSTEM_KINDS = ("production_inference", "training_pipeline", "fine_tuning_workflow")
# Rule types, in the order the contract lists them; the keyed ones (tags and
# labels of cloud billing rows) need a key.
RULE_TYPES = (
    "aws_tag",
    "gcp_label",
    # Azure resource tags (FOCUS rows of Azure)
    "azure_tag",
    "slurm_account",
    "slurm_job_name",
    "mlflow_experiment",
    "inference_service",
    # Kubernetes workloads (OpenCost allocations, DCGM series with pod labels)
    "k8s_namespace",
    "k8s_pod",
    # CodeCarbon runs: project_name, experiment_id
    "codecarbon_project",
    "codecarbon_experiment",
)
KEYED_RULE_TYPES = ("aws_tag", "gcp_label", "azure_tag")
INSTRUMENT_KINDS = ("ppa", "rec", "go", "supplier_specific")
ALLOCATION_BASES = ("cost", "usage")
# Where a metered cluster idle figure was read: the cluster's own supply (IT
# energy, PUE overhead added on top) or the facility's (overhead included).
METERING_POINTS = ("it", "facility")
# dbt puts whatever no rule matches into this system, so no configured system
# may take its name.
UNATTRIBUTED = "unattributed"
# No accelerator draws more (the largest, GB300-class, draw about 1.4 kW):
# a figure above it is a typo or a unit slip (kW for W), never a GPU.
MAX_GPU_POWER_W = 3000.0

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
S3_BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BILLING_ACCOUNT_PATTERN = re.compile(r"[0-9A-Z]{6}-[0-9A-Z]{6}-[0-9A-Z]{6}")
EXPORT_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
STORAGES = ("local", "s3")
GCP_CLIENTS = ("local", "bigquery")
GCP_BILLING_TABLES = ("standard", "detailed")
AZURE_CLIENTS = ("api", "local")
AZURE_REPORT_TYPES = ("ItemDetailsReport", "MonthlySummaryReport")
AZURE_CATEGORY_TYPES = ("Resource", "ResourceGroup", "ResourceType", "Location", "Subscription")
AZURE_SCOPES = ("Scope1", "Scope2", "Scope3")
AWS_REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
ENDPOINT_PATTERN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?")
GCP_PROJECT_PATTERN = re.compile(r"[a-z0-9][a-z0-9.:-]{0,62}")
GCP_DATASET_PATTERN = re.compile(r"[A-Za-z0-9_]{1,1024}")
GCP_LOCATION_PATTERN = re.compile(r"[A-Za-z0-9-]{2,40}")
SUBSCRIPTION_PATTERN = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
ENV_NAME_PATTERN = re.compile(r"[A-Z_][A-Z0-9_]*")
# An Airflow connection id (the id, never the connection itself).
CONNECTION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,249}")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")

ORG_SOURCE = "org"
ORG_PARTITION = "snapshot=current"


# --- the validated config -----------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    name: str
    reporting_year: int


@dataclass(frozen=True)
class Methodology:
    grid_factor_set: str
    gpu_utilisation_default: float
    allocation_basis: str
    # Floor of the idle share of inference serving energy; None = not set (0).
    inference_min_idle_share: float | None = None


@dataclass(frozen=True)
class Rule:
    """One glob an AI system claims rows with; ``tag_key`` only for tags/labels."""

    source_type: str
    tag_key: str | None
    pattern: str


@dataclass(frozen=True)
class System:
    id: str
    name: str
    kind: str
    owner: str
    description: str | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class PuePeriod:
    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None = still valid
    pue: float


@dataclass(frozen=True)
class Instrument:
    id: str
    kind: str
    valid_from: dt.date
    valid_to: dt.date  # exclusive
    mwh: float
    kg_co2e_per_kwh: float


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    grid_zone: str
    country: str
    pue: tuple[PuePeriod, ...]
    instruments: tuple[Instrument, ...]


@dataclass(frozen=True)
class IdleEnergy:
    """A metered figure of the cluster's idle consumption over [valid_from, valid_to)."""

    valid_from: dt.date
    valid_to: dt.date  # exclusive
    kwh: float
    source: str
    metered_at: str = "it"  # it | facility


@dataclass(frozen=True)
class Cluster:
    name: str
    site: str
    gpu_model: str
    partitions: dict[str, str]
    gpu_power_w: float | None
    gpu_utilisation: float | None
    # Globs of the cluster's host names (DCGM / nvidia-smi hostnames -> cluster).
    hosts: tuple[str, ...] = ()
    idle_energy: tuple[IdleEnergy, ...] = ()


@dataclass(frozen=True)
class Hardware:
    id: str
    site: str
    server_model: str
    gpu_model: str
    gpus_per_server: int
    servers: int
    acquired_on: dt.date
    lifetime_years: float
    use_share: float


@dataclass(frozen=True)
class Target:
    """Emissions of target_year at most (100 - reduction_pct) % of baseline_year's."""

    id: str
    baseline_year: int
    target_year: int
    reduction_pct: float
    method: str = "location"  # location | market
    ghg_scope: int | None = None  # None = every scope


@dataclass(frozen=True)
class ExportLocation:
    """One export: ``s3://<bucket>/<prefix>/<name>/...``, read as ``role_arn`` if given."""

    name: str
    bucket: str
    prefix: str
    role_arn: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ExportSource:
    """AWS Data Exports destinations: ``s3://<bucket>/<prefix>/<export>/...``.

    ``bucket``/``prefix``/``role_arn``/``region`` are the defaults of every
    export; an export given as a mapping may override them (several payer
    accounts). ``storage`` says whether the objects are read from the local
    sources folder or from S3; credentials never appear here.
    """

    bucket: str | None
    prefix: str
    exports: tuple[str, ...]
    storage: str = "local"
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5
    locations: tuple[ExportLocation, ...] = ()
    # An Airflow connection id whose credentials the DAG hands the extractor.
    connection: str | None = None

    def __post_init__(self) -> None:
        if not self.locations and self.bucket:
            defaults = tuple(
                ExportLocation(name, self.bucket, self.prefix, self.role_arn, self.region)
                for name in self.exports
            )
            object.__setattr__(self, "locations", defaults)


@dataclass(frozen=True)
class GcpBillingSource:
    project: str
    dataset: str
    billing_account_id: str
    client: str = "local"  # local | bigquery
    table: str = "standard"  # standard | detailed (gcp_billing_export_resource_v1_...)
    repull_days: int = 3
    job_project: str | None = None  # project the query jobs run (and are billed) in
    location: str | None = None  # BigQuery location of the dataset, e.g. EU
    connection: str | None = None  # Airflow connection id (google_cloud_platform)


@dataclass(frozen=True)
class GcpCarbonSource:
    project: str
    dataset: str
    client: str = "local"  # local | bigquery
    job_project: str | None = None
    location: str | None = None
    connection: str | None = None  # Airflow connection id (google_cloud_platform)


@dataclass(frozen=True)
class FocusSource:
    """FOCUS files from any provider, one folder each under ``focus/``."""

    providers: tuple[str, ...]


@dataclass(frozen=True)
class AzureCarbonSource:
    """The Azure Carbon Optimization API; the token comes from the environment."""

    subscriptions: tuple[str, ...]
    report_type: str = "ItemDetailsReport"
    category_type: str = "Resource"
    scopes: tuple[str, ...] = ("Scope1", "Scope2", "Scope3")
    client: str = "api"  # api | local (pages already under azure/carbon_optimization/)
    base_url: str = "https://management.azure.com"
    page_size: int = 5000
    max_attempts: int = 5
    # The name of the variable holding a token, never the token itself.
    token_env: str = "AZURE_CARBON_ACCESS_TOKEN"  # noqa: S105
    connection: str | None = None  # Airflow connection id (azure: a service principal)


@dataclass(frozen=True)
class SlurmSource:
    """sacct output per cluster: dropped files, or ``command`` run on a login host."""

    clusters: tuple[str, ...]
    # argv run without a shell, e.g. ("ssh", "login1", "sacct"); None = dropped files
    command: tuple[str, ...] | None = None
    timeout_seconds: float = 300.0


@dataclass(frozen=True)
class FolderSource:
    """A source read from its fixed folder; no settings yet."""


@dataclass(frozen=True)
class DcgmSource:
    """Prometheus scraping the NVIDIA DCGM exporter."""

    url: str
    token_env: str | None = None  # name of the env var holding a bearer token
    timeout_seconds: float = 120.0
    step_seconds: int = 60
    chunk_by: str | None = None  # a label to split each day's query by (e.g. Hostname)


@dataclass(frozen=True)
class OpenCostSource:
    url: str
    token_env: str | None = None
    timeout_seconds: float = 300.0


@dataclass(frozen=True)
class NvidiaSmiSource:
    """nvidia-smi CSV logs; their timestamps are the host's local time."""

    timezone: str = "UTC"
    host_timezones: dict[str, str] = field(default_factory=dict)
    max_gap_seconds: float = 300.0


@dataclass(frozen=True)
class CodeCarbonSource:
    timezone: str = "UTC"  # for timestamps written without an offset
    # The cluster runs that no Slurm job contains ran on (site, GPU model).
    cluster: str | None = None


@dataclass(frozen=True)
class MlflowSource:
    """The MLflow tracking server's REST API; no ``tracking_uri`` = dropped files."""

    tracking_uri: str | None = None
    experiments: tuple[str, ...] = ()  # names; empty = every experiment
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    page_size: int = 1000
    max_run_days: int | None = None
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class InferencePrometheus:
    """Request (and token) counters in Prometheus, one series set per service."""

    url: str
    requests_metric: str
    service_label: str
    tokens_metric: str | None = None
    token_env: str | None = None
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class InferenceSource:
    """Hourly requests: the dropped CSV, or ``prometheus`` counters when set."""

    prometheus: InferencePrometheus | None = None


@dataclass(frozen=True)
class Sources:
    """Where each source is delivered; None = not used by this organisation."""

    aws_cur: ExportSource | None = None
    aws_carbon: ExportSource | None = None
    aws_focus: ExportSource | None = None
    gcp_billing: GcpBillingSource | None = None
    gcp_carbon: GcpCarbonSource | None = None
    azure_carbon: AzureCarbonSource | None = None
    azure_emissions_export: FolderSource | None = None
    focus: FocusSource | None = None
    slurm: SlurmSource | None = None
    mlflow: MlflowSource | None = None
    inference: InferenceSource | None = None
    dcgm: DcgmSource | None = None
    opencost: OpenCostSource | None = None
    nvidia_smi: NvidiaSmiSource | None = None
    codecarbon: CodeCarbonSource | None = None


@dataclass(frozen=True)
class OrgConfig:
    path: Path
    organisation: Organisation
    methodology: Methodology
    systems: tuple[System, ...]
    sites: tuple[Site, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    hardware: tuple[Hardware, ...] = ()
    sources: Sources = field(default_factory=Sources)
    targets: tuple[Target, ...] = ()


# --- reading the YAML ---------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults` may be overridden by the mapping's own keys
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # construct_mapping reports unhashable keys itself
        if key in seen:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: key {key!r} is given twice in one "
                f"mapping (first on line {seen[key]})"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _parse_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"organisation config {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"organisation config {path} cannot be read: {exc}") from None
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    except ConfigError as exc:
        raise ConfigError(f"organisation config {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"organisation config {path} is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _show(value: Any) -> str:
    """A value as the message shows it: strings quoted, YAML's names for the rest."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value) if isinstance(value, str) else str(value)


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Checker:
    """Collects every problem with its key path, so one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(
        self,
        value: Any,
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> dict | None:
        allowed = required + optional
        if not isinstance(value, dict):
            keys = ", ".join(allowed)
            self.fail(path, f"expected a mapping with keys {keys}, got {_show(value)}")
            return None
        for key in value:
            if key not in allowed:
                expected = ", ".join(allowed) or "none here"
                self.fail(_at(path, str(key)), f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in value:
                self.fail(_at(path, key), "required key is missing")
        return value

    def items(self, node: dict, key: str, path: str, required: bool = True) -> list:
        """The entries of a list-valued key; [] (after reporting) when it is not a list."""
        if key not in node:
            return []
        value = node[key]
        if value is None and not required:
            return []
        if not isinstance(value, list):
            self.fail(_at(path, key), f"expected a list, got {_show(value)}")
            return []
        return value

    def _get(self, node: dict, key: str, path: str, required: bool) -> tuple[bool, Any]:
        """(present, value): absent keys were reported by mapping(); null is absent."""
        value = node.get(key)
        if value is None:
            if required and key in node:
                self.fail(_at(path, key), "expected a value, got null")
            return False, None
        return True, value

    def text(
        self,
        node: dict,
        key: str,
        path: str,
        required: bool = True,
        pattern: re.Pattern | None = None,
        what: str = "",
    ) -> str | None:
        present, value = self._get(node, key, path, required)
        if not present:
            return None
        return self.string(value, _at(path, key), pattern, what)

    def string(
        self, value: Any, path: str, pattern: re.Pattern | None = None, what: str = ""
    ) -> str | None:
        """A scalar as text; numbers are accepted as their digits (ids like 1234)."""
        if isinstance(value, bool):
            self.fail(
                path,
                f"expected a string, got {_show(value)} (YAML reads bare yes/no/on/off as "
                "booleans: quote the value)",
            )
            return None
        if isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a non-empty string, got {_show(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"expected {what or pattern.pattern}, got {value!r}")
            return None
        return value

    def choice(self, node: dict, key: str, path: str, options: tuple[str, ...]) -> str | None:
        present, value = self._get(node, key, path, True)
        if not present:
            return None
        if value not in options:
            self.fail(_at(path, key), f"expected one of {', '.join(options)}, got {_show(value)}")
            return None
        return value

    def number(
        self,
        node: dict,
        key: str,
        path: str,
        required: bool = True,
        minimum: float | None = None,
        above: float | None = None,
        maximum: float | None = None,
    ) -> float | None:
        present, value = self._get(node, key, path, required)
        if not present:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(_at(path, key), f"expected a number, got {_show(value)}")
            return None
        value = float(value)
        if not math.isfinite(value):
            self.fail(_at(path, key), f"expected a finite number, got {value}")
            return None
        if minimum is not None and value < minimum:
            self.fail(_at(path, key), f"expected a number >= {minimum:g}, got {value:g}")
            return None
        if above is not None and value <= above:
            self.fail(_at(path, key), f"expected a number > {above:g}, got {value:g}")
            return None
        if maximum is not None and value > maximum:
            self.fail(_at(path, key), f"expected a number <= {maximum:g}, got {value:g}")
            return None
        return value

    def integer(
        self,
        node: dict,
        key: str,
        path: str,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        present, value = self._get(node, key, path, True)
        if not present:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(_at(path, key), f"expected a whole number, got {_show(value)}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.fail(_at(path, key), f"expected a whole number {bounds}, got {value}")
            return None
        return value

    def date(self, node: dict, key: str, path: str, required: bool = True) -> dt.date | None:
        present, value = self._get(node, key, path, required)
        if not present:
            return None
        if isinstance(value, dt.datetime):
            self.fail(_at(path, key), f"expected a date YYYY-MM-DD, got a date and time {value}")
            return None
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(_at(path, key), f"expected a date YYYY-MM-DD, got {_show(value)}")
        return None

    def unique(self, seen: dict[str, str], value: str | None, path: str, what: str) -> None:
        if value is None:
            return
        if value in seen:
            self.fail(path, f"{what} {value!r} is already used by {seen[value]}")
        else:
            seen[value] = path.rsplit(".", 1)[0]


# --- validation, section by section -------------------------------------------

TOP_REQUIRED = ("organisation", "methodology", "systems", "sources")
TOP_OPTIONAL = ("sites", "clusters", "hardware", "targets")
TARGET_METHODS = ("location", "market")


def load_config(path: Path | str) -> OrgConfig:
    """Read and validate the whole organisation config; ConfigError lists every mistake."""
    path = Path(path)
    raw = _parse_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"organisation config {path}: expected a mapping with keys "
            f"{', '.join(TOP_REQUIRED + TOP_OPTIONAL)}, got {_show(raw)}"
        )
    check = _Checker()
    root = check.mapping(raw, "", TOP_REQUIRED, TOP_OPTIONAL)

    organisation = _organisation(check, root)
    methodology = _methodology(check, root)
    systems = _systems(check, root)
    # References are checked against every id declared, valid entry or not, so
    # one mistake in a site is reported once, not again by each user of the site.
    site_ids: dict[str, str] = {}
    sites = _sites(check, root, site_ids)
    cluster_names: dict[str, str] = {}
    clusters = _clusters(check, root, set(site_ids), cluster_names)
    hardware = _hardware(check, root, set(site_ids))
    sources = _sources(check, root, set(cluster_names))
    targets = _targets(check, root)

    if check.problems:
        raise ConfigError(_report(path, check.problems))
    assert organisation is not None and methodology is not None  # implied by no problems
    for system in systems:
        if not system.rules:
            log.warning("system %s has no match rules: nothing will be attributed to it", system.id)
    return OrgConfig(
        path=path,
        organisation=organisation,
        methodology=methodology,
        systems=tuple(systems),
        sites=tuple(sites),
        clusters=tuple(clusters),
        hardware=tuple(hardware),
        sources=sources,
        targets=tuple(targets),
    )


def _report(path: Path, problems: list[str]) -> str:
    noun = "mistake" if len(problems) == 1 else "mistakes"
    lines = "\n".join(f"  {problem}" for problem in problems)
    return f"organisation config {path} has {len(problems)} {noun}; nothing was written:\n{lines}"


def _organisation(check: _Checker, root: dict) -> Organisation | None:
    if "organisation" not in root:
        return None  # reported as missing
    node = check.mapping(root["organisation"], "organisation", ("name", "reporting_year"))
    if node is None:
        return None
    name = check.text(node, "name", "organisation")
    year = check.integer(node, "reporting_year", "organisation", minimum=1990, maximum=2100)
    if name is None or year is None:
        return None
    return Organisation(name, year)


def _methodology(check: _Checker, root: dict) -> Methodology | None:
    path = "methodology"
    if path not in root:
        return None  # reported as missing
    node = check.mapping(
        root[path],
        path,
        ("grid_factor_set", "gpu_utilisation_default", "allocation_basis"),
        ("inference_min_idle_share",),
    )
    if node is None:
        return None
    factor_set = check.text(node, "grid_factor_set", path)
    utilisation = check.number(node, "gpu_utilisation_default", path, above=0, maximum=1)
    basis = check.choice(node, "allocation_basis", path, ALLOCATION_BASES)
    min_idle = check.number(
        node, "inference_min_idle_share", path, required=False, minimum=0, maximum=1
    )
    if node.get("inference_min_idle_share") is not None and min_idle is None:
        return None
    if factor_set is None or utilisation is None or basis is None:
        return None
    return Methodology(factor_set, utilisation, basis, min_idle)


def _patterns(check: _Checker, value: Any, path: str) -> list[str]:
    """A glob or a list of globs, each a non-empty string."""
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        check.fail(path, "expected at least one pattern, got an empty list")
    patterns = []
    for index, item in enumerate(values):
        where = _at(path, index) if isinstance(value, list) else path
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            check.fail(where, f"expected a pattern (a non-empty string), got {_show(item)}")
        else:
            patterns.append(str(item))
    return patterns


def _rules(check: _Checker, match: Any, path: str) -> list[tuple[Rule, str]]:
    """The system's rules in file order, each with its key path."""
    node = check.mapping(match, path, (), RULE_TYPES)
    if node is None:
        return []
    rules = []
    for source_type, value in node.items():
        if source_type not in RULE_TYPES:
            continue  # reported as an unknown key
        type_path = _at(path, source_type)
        if source_type in KEYED_RULE_TYPES:
            if not isinstance(value, dict) or not value:
                check.fail(
                    type_path,
                    f"expected a mapping of {'label' if source_type == 'gcp_label' else 'tag'} "
                    f"key to pattern(s), got {_show(value)}",
                )
                continue
            for tag_key, patterns in value.items():
                if not isinstance(tag_key, str) or not tag_key.strip():
                    check.fail(type_path, f"expected a non-empty key, got {_show(tag_key)}")
                    continue
                key_path = _at(type_path, tag_key)
                for pattern in _patterns(check, patterns, key_path):
                    rules.append((Rule(source_type, tag_key, pattern), key_path))
        else:
            for pattern in _patterns(check, value, type_path):
                rules.append((Rule(source_type, None, pattern), type_path))
    return rules


def _systems(check: _Checker, root: dict) -> list[System]:
    systems = []
    ids: dict[str, str] = {}
    claimed: dict[Rule, str] = {}
    for index, item in enumerate(check.items(root, "systems", "")):
        path = _at("systems", index)
        node = check.mapping(item, path, ("id", "name", "kind", "owner"), ("description", "match"))
        if node is None:
            continue
        system_id = check.text(
            node, "id", path, pattern=ID_PATTERN, what="an id of letters, digits, '.', '_' or '-'"
        )
        if system_id is not None and system_id.lower() == UNATTRIBUTED:
            check.fail(
                _at(path, "id"),
                f"{system_id!r} is reserved for what no rule matches; choose another id",
            )
            system_id = None
        check.unique(ids, system_id, _at(path, "id"), "system id")
        name = check.text(node, "name", path)
        kind = check.choice(node, "kind", path, SYSTEM_KINDS)
        owner = check.text(node, "owner", path)
        description = check.text(node, "description", path, required=False)
        rules = []
        if "match" in node and node["match"] is not None:
            for rule, rule_path in _rules(check, node["match"], _at(path, "match")):
                if rule in claimed:
                    check.fail(
                        rule_path,
                        f"pattern {rule.pattern!r} is already claimed by {claimed[rule]} "
                        "(the first match wins, so this rule would never apply)",
                    )
                    continue
                claimed[rule] = path
                rules.append(rule)
        if None in (system_id, name, kind, owner):
            continue
        systems.append(System(system_id, name, kind, owner, description, tuple(rules)))
    return systems


def _pue_periods(check: _Checker, node: dict, path: str) -> list[PuePeriod]:
    entries = check.items(node, "pue", path)
    if "pue" in node and isinstance(node["pue"], list) and not entries:
        check.fail(_at(path, "pue"), "expected at least one PUE period")
    periods: list[tuple[PuePeriod, str]] = []
    for index, item in enumerate(entries):
        item_path = _at(_at(path, "pue"), index)
        entry = check.mapping(item, item_path, ("from", "value"), ("to",))
        if entry is None:
            continue
        start = check.date(entry, "from", item_path)
        end = check.date(entry, "to", item_path, required=False)
        value = check.number(entry, "value", item_path, minimum=1)
        if start is not None and end is not None and end <= start:
            check.fail(_at(item_path, "to"), f"expected a date after from ({start}), got {end}")
            continue
        if start is not None and value is not None:
            periods.append((PuePeriod(start, end, value), item_path))
    periods.sort(key=lambda pair: pair[0].valid_from)
    for (earlier, earlier_path), (later, later_path) in itertools.pairwise(periods):
        if earlier.valid_to is None or earlier.valid_to > later.valid_from:
            check.fail(
                later_path,
                f"period from {later.valid_from} overlaps {earlier_path} (from "
                f"{earlier.valid_from} to {earlier.valid_to or 'open end'})",
            )
    return [period for period, _ in periods]


def _instruments(check: _Checker, node: dict, path: str, ids: dict[str, str]) -> list[Instrument]:
    instruments = []
    for index, item in enumerate(check.items(node, "instruments", path, required=False)):
        item_path = _at(_at(path, "instruments"), index)
        entry = check.mapping(
            item, item_path, ("id", "kind", "from", "to", "mwh", "kg_co2e_per_kwh")
        )
        if entry is None:
            continue
        instrument_id = check.text(entry, "id", item_path, pattern=ID_PATTERN, what="an id")
        check.unique(ids, instrument_id, _at(item_path, "id"), "instrument id")
        kind = check.choice(entry, "kind", item_path, INSTRUMENT_KINDS)
        start = check.date(entry, "from", item_path)
        end = check.date(entry, "to", item_path)
        mwh = check.number(entry, "mwh", item_path, minimum=0)
        factor = check.number(entry, "kg_co2e_per_kwh", item_path, minimum=0)
        if start is not None and end is not None and end <= start:
            check.fail(_at(item_path, "to"), f"expected a date after from ({start}), got {end}")
            continue
        values = (instrument_id, kind, start, end, mwh, factor)
        if None not in values:
            instruments.append(Instrument(*values))
    return instruments


def _sites(check: _Checker, root: dict, ids: dict[str, str]) -> list[Site]:
    """The valid sites; ``ids`` collects every declared site id."""
    sites = []
    instrument_ids: dict[str, str] = {}
    for index, item in enumerate(check.items(root, "sites", "", required=False)):
        path = _at("sites", index)
        node = check.mapping(
            item, path, ("id", "name", "grid_zone", "country", "pue"), ("instruments",)
        )
        if node is None:
            continue
        site_id = check.text(node, "id", path, pattern=ID_PATTERN, what="an id")
        check.unique(ids, site_id, _at(path, "id"), "site id")
        name = check.text(node, "name", path)
        grid_zone = check.text(node, "grid_zone", path)
        country = check.text(
            node, "country", path, pattern=COUNTRY_PATTERN, what="an ISO 3166 code like DE"
        )
        pue = _pue_periods(check, node, path)
        instruments = _instruments(check, node, path, instrument_ids)
        if None in (site_id, name, grid_zone, country) or not pue:
            continue
        sites.append(Site(site_id, name, grid_zone, country, tuple(pue), tuple(instruments)))
    return sites


def _site_ref(check: _Checker, node: dict, path: str, site_ids: set[str]) -> str | None:
    site = check.text(node, "site", path)
    if site is not None and site not in site_ids:
        known = ", ".join(sorted(site_ids)) or "none defined"
        check.fail(_at(path, "site"), f"unknown site {site!r} (sites: {known})")
        return None
    return site


def _clusters(
    check: _Checker, root: dict, site_ids: set[str], names: dict[str, str]
) -> list[Cluster]:
    """The valid clusters; ``names`` collects every declared cluster name."""
    clusters = []
    for index, item in enumerate(check.items(root, "clusters", "", required=False)):
        path = _at("clusters", index)
        node = check.mapping(
            item,
            path,
            ("name", "site", "gpu_model"),
            ("partitions", "gpu_power_w", "gpu_utilisation", "hosts", "idle_energy"),
        )
        if node is None:
            continue
        name = check.text(node, "name", path, pattern=ID_PATTERN, what="a cluster name")
        check.unique(names, name, _at(path, "name"), "cluster name")
        site = _site_ref(check, node, path, site_ids)
        gpu_model = check.text(node, "gpu_model", path)
        power = check.number(
            node, "gpu_power_w", path, required=False, above=0, maximum=MAX_GPU_POWER_W
        )
        utilisation = check.number(
            node, "gpu_utilisation", path, required=False, above=0, maximum=1
        )
        partitions: dict[str, str] = {}
        raw_partitions = node.get("partitions")
        if raw_partitions is not None:
            if not isinstance(raw_partitions, dict):
                check.fail(
                    _at(path, "partitions"),
                    f"expected a mapping of partition to GPU model, got {_show(raw_partitions)}",
                )
            else:
                for partition in raw_partitions:
                    model = check.text(raw_partitions, partition, _at(path, "partitions"))
                    if model is not None:
                        partitions[str(partition)] = model
        hosts: list[str] = []
        if node.get("hosts") is not None:
            hosts = _patterns(check, node["hosts"], _at(path, "hosts"))
        problems = len(check.problems)
        idle_energy = _idle_energy(check, node, path)
        if None in (name, site, gpu_model) or len(check.problems) > problems:
            continue
        clusters.append(
            Cluster(
                name,
                site,
                gpu_model,
                partitions,
                power,
                utilisation,
                tuple(hosts),
                tuple(idle_energy),
            )
        )
    return clusters


def _idle_energy(check: _Checker, node: dict, path: str) -> list[IdleEnergy]:
    """Metered idle consumption of a cluster: non-overlapping periods, each with its source."""
    periods: list[tuple[IdleEnergy, str]] = []
    for index, item in enumerate(check.items(node, "idle_energy", path, required=False)):
        item_path = _at(_at(path, "idle_energy"), index)
        entry = check.mapping(item, item_path, ("from", "to", "kwh", "source"), ("metered_at",))
        if entry is None:
            continue
        start = check.date(entry, "from", item_path)
        end = check.date(entry, "to", item_path)
        kwh = check.number(entry, "kwh", item_path, minimum=0)
        source = check.text(entry, "source", item_path)
        metered_at = IdleEnergy.metered_at
        if entry.get("metered_at") is not None:
            metered_at = check.choice(entry, "metered_at", item_path, METERING_POINTS)
        if start is not None and end is not None and end <= start:
            check.fail(_at(item_path, "to"), f"expected a date after from ({start}), got {end}")
            continue
        if None not in (start, end, kwh, source, metered_at):
            periods.append((IdleEnergy(start, end, kwh, source, metered_at), item_path))
    periods.sort(key=lambda pair: pair[0].valid_from)
    for (earlier, earlier_path), (later, later_path) in itertools.pairwise(periods):
        if earlier.valid_to > later.valid_from:
            check.fail(
                later_path,
                f"period from {later.valid_from} overlaps {earlier_path} (from "
                f"{earlier.valid_from} to {earlier.valid_to}): the same energy would count twice",
            )
    return [period for period, _ in periods]


def _hardware(check: _Checker, root: dict, site_ids: set[str]) -> list[Hardware]:
    hardware = []
    ids: dict[str, str] = {}
    for index, item in enumerate(check.items(root, "hardware", "", required=False)):
        path = _at("hardware", index)
        node = check.mapping(
            item,
            path,
            (
                "id",
                "site",
                "server_model",
                "gpu_model",
                "gpus_per_server",
                "servers",
                "acquired_on",
                "lifetime_years",
                "use_share",
            ),
        )
        if node is None:
            continue
        hardware_id = check.text(node, "id", path, pattern=ID_PATTERN, what="an id")
        check.unique(ids, hardware_id, _at(path, "id"), "hardware id")
        values = (
            hardware_id,
            _site_ref(check, node, path, site_ids),
            check.text(node, "server_model", path),
            check.text(node, "gpu_model", path),
            check.integer(node, "gpus_per_server", path, minimum=1),
            check.integer(node, "servers", path, minimum=1),
            check.date(node, "acquired_on", path),
            check.number(node, "lifetime_years", path, above=0),
            check.number(node, "use_share", path, above=0, maximum=1),
        )
        if None not in values:
            hardware.append(Hardware(*values))
    return hardware


def _targets(check: _Checker, root: dict) -> list[Target]:
    """Reduction targets; the maturity view tracks the measured emissions against them."""
    targets = []
    ids: dict[str, str] = {}
    for index, item in enumerate(check.items(root, "targets", "", required=False)):
        path = _at("targets", index)
        node = check.mapping(
            item,
            path,
            ("id", "baseline_year", "target_year", "reduction_pct"),
            ("method", "ghg_scope"),
        )
        if node is None:
            continue
        problems = len(check.problems)
        target_id = check.text(node, "id", path, pattern=ID_PATTERN, what="an id")
        check.unique(ids, target_id, _at(path, "id"), "target id")
        baseline = check.integer(node, "baseline_year", path, minimum=1990, maximum=2100)
        year = check.integer(node, "target_year", path, minimum=1990, maximum=2100)
        reduction = check.number(node, "reduction_pct", path, above=0, maximum=100)
        method = _optional_choice(check, node, "method", path, TARGET_METHODS)
        scope = None
        if node.get("ghg_scope") is not None:
            scope = check.integer(node, "ghg_scope", path, minimum=1, maximum=3)
        if baseline is not None and year is not None and year <= baseline:
            check.fail(
                _at(path, "target_year"),
                f"expected a year after baseline_year ({baseline}), got {year}",
            )
        if len(check.problems) > problems:
            continue
        targets.append(Target(target_id, baseline, year, reduction, method, scope))
    return targets


def _relative_prefix(check: _Checker, node: dict, path: str, default: str = "") -> str | None:
    """An S3 key prefix: '' allowed, surrounding slashes dropped, no '..' parts."""
    value = node.get("prefix")
    if value is None:
        return default
    if not isinstance(value, str):
        check.fail(_at(path, "prefix"), f"expected a string, got {_show(value)}")
        return None
    prefix = value.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        check.fail(_at(path, "prefix"), f"expected a key prefix like cur2, got {value!r}")
        return None
    return prefix


def _optional_text(
    check: _Checker, node: dict, key: str, path: str, pattern: re.Pattern, what: str
) -> tuple[bool, str | None]:
    """(ok, value) of an optional string key; ok is False after reporting a bad value."""
    if node.get(key) is None:
        return True, None
    value = check.text(node, key, path, pattern=pattern, what=what)
    return value is not None, value


def _optional_choice(
    check: _Checker, node: dict, key: str, path: str, options: tuple[str, ...]
) -> str | None:
    """An optional choice: the first option when absent, None after reporting a bad value."""
    if node.get(key) is None:
        return options[0]
    return check.choice(node, key, path, options)


def _optional_integer(
    check: _Checker, node: dict, key: str, path: str, default: int, minimum: int, maximum: int
) -> int | None:
    if node.get(key) is None:
        return default
    return check.integer(node, key, path, minimum=minimum, maximum=maximum)


def _url(check: _Checker, node: dict, key: str, path: str) -> tuple[bool, str | None]:
    """An optional http(s) URL; one carrying credentials is refused without echoing it."""
    value = node.get(key)
    if isinstance(value, str) and "@" in value:
        check.fail(_at(path, key), "expected an http(s) URL without credentials (user:password@)")
        return False, None
    return _optional_text(
        check, node, key, path, ENDPOINT_PATTERN, "an http(s) URL without credentials"
    )


def _connection(check: _Checker, node: dict, path: str) -> tuple[bool, str | None]:
    """An optional Airflow connection id; the connection itself lives in Airflow."""
    return _optional_text(
        check, node, "connection", path, CONNECTION_ID_PATTERN, "an Airflow connection id"
    )


EXPORT_OPTIONAL = (
    "prefix",
    "storage",
    "region",
    "profile",
    "role_arn",
    "endpoint_url",
    "max_attempts",
    "connection",
)
EXPORT_ENTRY_KEYS = ("bucket", "prefix", "role_arn", "region")


def _export_entry(
    check: _Checker, item: Any, where: str, defaults: dict[str, Any]
) -> ExportLocation | None:
    """One entry of ``exports``: a name, or a mapping overriding the section's defaults."""
    if not isinstance(item, dict):
        name = check.string(item, where, EXPORT_NAME_PATTERN, "an export name")
        if name is None:
            return None
        if not defaults["bucket"]:
            check.fail(where, "no bucket: give sources.<name>.bucket or {name, bucket} here")
            return None
        return ExportLocation(
            name, defaults["bucket"], defaults["prefix"], defaults["role_arn"], defaults["region"]
        )
    node = check.mapping(item, where, ("name",), EXPORT_ENTRY_KEYS)
    if node is None:
        return None
    name = check.text(node, "name", where, pattern=EXPORT_NAME_PATTERN, what="an export name")
    bucket = defaults["bucket"]
    if node.get("bucket") is not None:
        bucket = check.text(
            node, "bucket", where, pattern=S3_BUCKET_PATTERN, what="an S3 bucket name"
        )
    elif not bucket:
        check.fail(_at(where, "bucket"), "required here (sources.<name>.bucket is not given)")
    prefix = _relative_prefix(check, node, where, default=defaults["prefix"])
    role_ok, role_arn = _optional_text(
        check, node, "role_arn", where, ROLE_ARN_PATTERN, "an IAM role ARN"
    )
    region_ok, region = _optional_text(
        check, node, "region", where, AWS_REGION_PATTERN, "an AWS region like eu-west-1"
    )
    if None in (name, bucket, prefix) or not (role_ok and region_ok):
        return None
    return ExportLocation(
        name, bucket, prefix, role_arn or defaults["role_arn"], region or defaults["region"]
    )


def _export_source(check: _Checker, value: Any, path: str) -> ExportSource | None:
    node = check.mapping(value, path, ("exports",), ("bucket", *EXPORT_OPTIONAL))
    if node is None:
        return None
    bucket_ok, bucket = _optional_text(
        check, node, "bucket", path, S3_BUCKET_PATTERN, "an S3 bucket name"
    )
    prefix = _relative_prefix(check, node, path)
    storage = _optional_choice(check, node, "storage", path, STORAGES)
    region_ok, region = _optional_text(
        check, node, "region", path, AWS_REGION_PATTERN, "an AWS region like eu-west-1"
    )
    profile_ok, profile = _optional_text(
        check, node, "profile", path, re.compile(r"[A-Za-z0-9_.@+-]+"), "an AWS profile name"
    )
    role_ok, role_arn = _optional_text(
        check, node, "role_arn", path, ROLE_ARN_PATTERN, "an IAM role ARN"
    )
    endpoint_ok, endpoint_url = _url(check, node, "endpoint_url", path)
    max_attempts = _optional_integer(check, node, "max_attempts", path, 5, 1, 20)
    connection_ok, connection = _connection(check, node, path)
    defaults = {"bucket": bucket, "prefix": prefix or "", "role_arn": role_arn, "region": region}
    locations: list[ExportLocation] = []
    seen: set[tuple[str, str, str]] = set()
    for index, item in enumerate(check.items(node, "exports", path)):
        where = _at(_at(path, "exports"), index)
        location = _export_entry(check, item, where, defaults)
        if location is None:
            continue
        identity = (location.bucket, location.prefix, location.name)
        if identity in seen:
            check.fail(where, f"export {location.name!r} is listed twice")
        else:
            seen.add(identity)
            locations.append(location)
    if "exports" in node and isinstance(node["exports"], list) and not node["exports"]:
        check.fail(_at(path, "exports"), "expected at least one export name")
    settings_ok = (
        bucket_ok and region_ok and profile_ok and role_ok and endpoint_ok and connection_ok
    )
    if prefix is None or storage is None or max_attempts is None or not settings_ok:
        return None
    if not locations:
        return None
    return ExportSource(
        bucket,
        prefix,
        tuple(location.name for location in locations),
        storage=storage,
        region=region,
        profile=profile,
        role_arn=role_arn,
        endpoint_url=endpoint_url,
        max_attempts=max_attempts,
        locations=tuple(locations),
        connection=connection,
    )


def _sources(check: _Checker, root: dict, cluster_names: set[str]) -> Sources:
    path = "sources"
    if path not in root:
        return Sources()  # reported as missing
    node = check.mapping(root[path], path, (), tuple(Sources.__dataclass_fields__))
    if node is None:
        return Sources()
    found: dict[str, Any] = {}
    readers: dict[str, Callable[[Any, str], Any]] = {
        "aws_cur": lambda value, where: _export_source(check, value, where),
        "aws_carbon": lambda value, where: _export_source(check, value, where),
        "aws_focus": lambda value, where: _export_source(check, value, where),
        "gcp_billing": lambda value, where: _gcp_billing(check, value, where),
        "gcp_carbon": lambda value, where: _gcp_carbon(check, value, where),
        "azure_carbon": lambda value, where: _azure_carbon(check, value, where),
        "azure_emissions_export": lambda value, where: _folder(check, value, where),
        "focus": lambda value, where: _focus(check, value, where),
        "slurm": lambda value, where: _slurm(check, value, where, cluster_names),
        "mlflow": lambda value, where: _mlflow(check, value, where),
        "inference": lambda value, where: _inference(check, value, where),
        "dcgm": lambda value, where: _dcgm(check, value, where),
        "opencost": lambda value, where: _opencost(check, value, where),
        "nvidia_smi": lambda value, where: _nvidia_smi(check, value, where),
        "codecarbon": lambda value, where: _codecarbon(check, value, where, cluster_names),
    }
    for name, reader in readers.items():
        if name in node:
            found[name] = reader(node[name], _at(path, name))
    return Sources(**found)


def _bigquery_names(check: _Checker, node: dict, path: str, client: str | None) -> tuple:
    """project and dataset; with the BigQuery client they go into SQL as identifiers,
    so only the characters BigQuery allows in them are accepted."""
    if client != "bigquery":
        return check.text(node, "project", path), check.text(node, "dataset", path)
    return (
        check.text(node, "project", path, pattern=GCP_PROJECT_PATTERN, what="a GCP project id"),
        check.text(node, "dataset", path, pattern=GCP_DATASET_PATTERN, what="a dataset name"),
    )


def _bigquery_job(check: _Checker, node: dict, path: str) -> tuple[bool, str | None, str | None]:
    project_ok, job_project = _optional_text(
        check, node, "job_project", path, GCP_PROJECT_PATTERN, "a GCP project id"
    )
    location_ok, location = _optional_text(
        check, node, "location", path, GCP_LOCATION_PATTERN, "a BigQuery location like EU"
    )
    return project_ok and location_ok, job_project, location


def _gcp_billing(check: _Checker, value: Any, path: str) -> GcpBillingSource | None:
    node = check.mapping(
        value,
        path,
        ("project", "dataset", "billing_account_id"),
        ("client", "table", "repull_days", "job_project", "location", "connection"),
    )
    if node is None:
        return None
    client = _optional_choice(check, node, "client", path, GCP_CLIENTS)
    project, dataset = _bigquery_names(check, node, path, client)
    account = check.text(
        node,
        "billing_account_id",
        path,
        pattern=BILLING_ACCOUNT_PATTERN,
        what="a billing account id like 01ABCD-234567-89EFGH",
    )
    table = _optional_choice(check, node, "table", path, GCP_BILLING_TABLES)
    repull_days = _optional_integer(check, node, "repull_days", path, 3, 0, 60)
    job_ok, job_project, location = _bigquery_job(check, node, path)
    connection_ok, connection = _connection(check, node, path)
    values = (project, dataset, account, client, table, repull_days)
    if None in values or not (job_ok and connection_ok):
        return None
    return GcpBillingSource(
        *values, job_project=job_project, location=location, connection=connection
    )


def _gcp_carbon(check: _Checker, value: Any, path: str) -> GcpCarbonSource | None:
    node = check.mapping(
        value, path, ("project", "dataset"), ("client", "job_project", "location", "connection")
    )
    if node is None:
        return None
    client = _optional_choice(check, node, "client", path, GCP_CLIENTS)
    project, dataset = _bigquery_names(check, node, path, client)
    job_ok, job_project, location = _bigquery_job(check, node, path)
    connection_ok, connection = _connection(check, node, path)
    if None in (project, dataset, client) or not (job_ok and connection_ok):
        return None
    return GcpCarbonSource(
        project, dataset, client, job_project=job_project, location=location, connection=connection
    )


def _focus(check: _Checker, value: Any, path: str) -> FocusSource | None:
    node = check.mapping(value, path, ("providers",))
    if node is None:
        return None
    names: list[str] = []
    for index, item in enumerate(check.items(node, "providers", path)):
        where = _at(_at(path, "providers"), index)
        name = check.string(item, where, ID_PATTERN, "a folder name under focus/")
        if name in names:
            check.fail(where, f"provider {name!r} is listed twice")
        elif name is not None:
            names.append(name)
    if "providers" in node and isinstance(node["providers"], list) and not node["providers"]:
        check.fail(_at(path, "providers"), "expected at least one provider folder")
    return FocusSource(tuple(names)) if names else None


def _azure_carbon(check: _Checker, value: Any, path: str) -> AzureCarbonSource | None:
    node = check.mapping(
        value,
        path,
        ("subscriptions",),
        (
            "report_type",
            "category_type",
            "scopes",
            "client",
            "base_url",
            "page_size",
            "max_attempts",
            "token_env",
            "connection",
        ),
    )
    if node is None:
        return None
    subscriptions: list[str] = []
    items = check.items(node, "subscriptions", path)
    for index, item in enumerate(items):
        where = _at(_at(path, "subscriptions"), index)
        found = check.string(item, where, SUBSCRIPTION_PATTERN, "a subscription id (a GUID)")
        if found is not None and found.lower() in subscriptions:
            check.fail(where, f"subscription {found!r} is listed twice")
        elif found is not None:
            subscriptions.append(found.lower())
    if "subscriptions" in node and isinstance(node["subscriptions"], list):
        if not node["subscriptions"]:
            check.fail(_at(path, "subscriptions"), "expected at least one subscription id")
        elif len(node["subscriptions"]) > 100:
            check.fail(_at(path, "subscriptions"), "the API takes at most 100 subscriptions")
    scopes: list[str] = []
    if node.get("scopes") is not None:
        for index, item in enumerate(check.items(node, "scopes", path)):
            where = _at(_at(path, "scopes"), index)
            if item not in AZURE_SCOPES:
                check.fail(where, f"expected one of {', '.join(AZURE_SCOPES)}, got {_show(item)}")
            elif item in scopes:
                check.fail(where, f"scope {item!r} is listed twice")
            else:
                scopes.append(item)
    base_ok, base_url = _url(check, node, "base_url", path)
    env_ok, token_env = _optional_text(
        check, node, "token_env", path, ENV_NAME_PATTERN, "an environment variable name"
    )
    values = (
        _optional_choice(check, node, "report_type", path, AZURE_REPORT_TYPES),
        _optional_choice(check, node, "category_type", path, AZURE_CATEGORY_TYPES),
        _optional_choice(check, node, "client", path, AZURE_CLIENTS),
        _optional_integer(check, node, "page_size", path, 5000, 1, 5000),
        _optional_integer(check, node, "max_attempts", path, 5, 1, 20),
    )
    connection_ok, connection = _connection(check, node, path)
    if None in values or not (base_ok and env_ok and connection_ok and subscriptions):
        return None
    if node.get("scopes") is not None and not scopes:
        return None
    report_type, category_type, client, page_size, max_attempts = values
    defaults = AzureCarbonSource(())
    return AzureCarbonSource(
        tuple(subscriptions),
        report_type=report_type,
        category_type=category_type,
        scopes=tuple(scopes) or defaults.scopes,
        client=client,
        base_url=(base_url or defaults.base_url).rstrip("/"),
        page_size=page_size,
        max_attempts=max_attempts,
        token_env=token_env or defaults.token_env,
        connection=connection,
    )


def _slurm(check: _Checker, value: Any, path: str, cluster_names: set[str]) -> SlurmSource | None:
    node = check.mapping(value, path, ("clusters",), ("command", "timeout_seconds"))
    if node is None:
        return None
    names = []
    for index, item in enumerate(check.items(node, "clusters", path)):
        where = _at(_at(path, "clusters"), index)
        if not isinstance(item, str) or item not in cluster_names:
            known = ", ".join(sorted(cluster_names)) or "none defined"
            check.fail(where, f"unknown cluster {_show(item)} (clusters: {known})")
        else:
            names.append(item)
    command = None
    if node.get("command") is not None:
        raw = node["command"]
        if not isinstance(raw, list) or not raw:
            check.fail(
                _at(path, "command"),
                "expected a list of arguments like [ssh, login1, sacct] (run without a "
                f"shell), got {_show(raw)}",
            )
        else:
            parts = [
                check.string(item, _at(_at(path, "command"), index))
                for index, item in enumerate(raw)
            ]
            command = tuple(parts) if None not in parts else None
    timeout = _seconds(check, node, path, SlurmSource.timeout_seconds)
    return SlurmSource(tuple(names), command, timeout)


def _folder(check: _Checker, value: Any, path: str) -> FolderSource | None:
    if value is None:
        return FolderSource()
    return FolderSource() if check.mapping(value, path, ()) is not None else None


# --- AI workload sources (HTTP APIs, and files with settings) ----------------

PROMETHEUS_LABEL_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PROMETHEUS_METRIC_PATTERN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def _http_url(
    check: _Checker, node: dict, key: str, path: str, required: bool = True
) -> str | None:
    """An http(s) base URL without credentials, query or fragment."""
    value = check.text(node, key, path, required=required)
    if value is None:
        return None
    where = _at(path, key)
    # Anywhere, not only before the first "/": a password may hold "/" (AWS keys do).
    if "@" in value:
        check.fail(
            where,
            "expected a URL without credentials (name an environment variable holding "
            "the secret instead)",
        )
        return None
    if not ENDPOINT_PATTERN.fullmatch(value):
        check.fail(where, f"expected an http(s) URL like http://prometheus:9090, got {value!r}")
        return None
    return value.rstrip("/")


def _secret_env(check: _Checker, node: dict, key: str, path: str) -> str | None:
    """The name of the environment variable holding a secret (never the secret)."""
    return check.text(
        node,
        key,
        path,
        required=False,
        pattern=ENV_NAME_PATTERN,
        what="the name of an environment variable like PROMETHEUS_TOKEN (the secret "
        "itself never goes in this file)",
    )


def _seconds(check: _Checker, node: dict, path: str, default: float) -> float:
    value = check.number(node, "timeout_seconds", path, required=False, above=0, maximum=3600)
    return default if value is None else value


def _time_zone(check: _Checker, value: Any, path: str) -> str | None:
    name = check.string(value, path)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.fail(path, f"expected an IANA time zone like Europe/Berlin or UTC, got {name!r}")
        return None
    return name


def _dcgm(check: _Checker, value: Any, path: str) -> DcgmSource | None:
    node = check.mapping(
        value, path, ("url",), ("token_env", "timeout_seconds", "step_seconds", "chunk_by")
    )
    if node is None:
        return None
    url = _http_url(check, node, "url", path)
    token_env = _secret_env(check, node, "token_env", path)
    timeout = _seconds(check, node, path, DcgmSource.timeout_seconds)
    step = DcgmSource.step_seconds
    if node.get("step_seconds") is not None:
        step = check.integer(node, "step_seconds", path, minimum=1, maximum=3600)
    chunk_by = check.text(
        node,
        "chunk_by",
        path,
        required=False,
        pattern=PROMETHEUS_LABEL_PATTERN,
        what="a Prometheus label name like Hostname",
    )
    if url is None or step is None or (node.get("chunk_by") is not None and chunk_by is None):
        return None
    return DcgmSource(url, token_env, timeout, step, chunk_by)


def _opencost(check: _Checker, value: Any, path: str) -> OpenCostSource | None:
    node = check.mapping(value, path, ("url",), ("token_env", "timeout_seconds"))
    if node is None:
        return None
    url = _http_url(check, node, "url", path)
    token_env = _secret_env(check, node, "token_env", path)
    timeout = _seconds(check, node, path, OpenCostSource.timeout_seconds)
    return OpenCostSource(url, token_env, timeout) if url is not None else None


def _nvidia_smi(check: _Checker, value: Any, path: str) -> NvidiaSmiSource | None:
    if value is None:
        return NvidiaSmiSource()
    node = check.mapping(value, path, (), ("timezone", "host_timezones", "max_gap_seconds"))
    if node is None:
        return None
    problems = len(check.problems)
    timezone = NvidiaSmiSource.timezone
    if node.get("timezone") is not None:
        timezone = _time_zone(check, node["timezone"], _at(path, "timezone"))
    hosts: dict[str, str] = {}
    raw_hosts = node.get("host_timezones")
    if raw_hosts is not None and not isinstance(raw_hosts, dict):
        check.fail(
            _at(path, "host_timezones"),
            f"expected a mapping of host folder to time zone, got {_show(raw_hosts)}",
        )
    elif raw_hosts is not None:
        for host, zone in raw_hosts.items():
            name = _time_zone(check, zone, _at(_at(path, "host_timezones"), str(host)))
            if name is not None:
                hosts[str(host)] = name
    gap = check.number(node, "max_gap_seconds", path, required=False, above=0, maximum=86400)
    if len(check.problems) > problems or timezone is None:
        return None
    return NvidiaSmiSource(timezone, hosts, NvidiaSmiSource.max_gap_seconds if gap is None else gap)


def _codecarbon(
    check: _Checker, value: Any, path: str, cluster_names: set[str]
) -> CodeCarbonSource | None:
    if value is None:
        return CodeCarbonSource()
    node = check.mapping(value, path, (), ("timezone", "cluster"))
    if node is None:
        return None
    timezone = CodeCarbonSource.timezone
    if node.get("timezone") is not None:
        timezone = _time_zone(check, node["timezone"], _at(path, "timezone"))
    cluster = None
    if node.get("cluster") is not None:
        cluster = check.text(node, "cluster", path)
        if cluster is not None and cluster not in cluster_names:
            known = ", ".join(sorted(cluster_names)) or "none defined"
            check.fail(_at(path, "cluster"), f"unknown cluster {cluster!r} (clusters: {known})")
            return None
    if timezone is None or (node.get("cluster") is not None and cluster is None):
        return None
    return CodeCarbonSource(timezone, cluster)


MLFLOW_API_ONLY_KEYS = ("experiments", "token_env", "username_env", "password_env", "page_size")


def _mlflow(check: _Checker, value: Any, path: str) -> MlflowSource | None:
    if value is None:
        return MlflowSource()
    node = check.mapping(
        value,
        path,
        (),
        ("tracking_uri", *MLFLOW_API_ONLY_KEYS, "max_run_days", "timeout_seconds"),
    )
    if node is None:
        return None
    problems = len(check.problems)
    uri = _http_url(check, node, "tracking_uri", path, required=False)
    experiments: list[str] = []
    for index, item in enumerate(check.items(node, "experiments", path, required=False)):
        where = _at(_at(path, "experiments"), index)
        name = check.string(item, where)
        if name is not None and name in experiments:
            check.fail(where, f"experiment {name!r} is listed twice")
        elif name is not None:
            experiments.append(name)
    token_env = _secret_env(check, node, "token_env", path)
    username_env = _secret_env(check, node, "username_env", path)
    password_env = _secret_env(check, node, "password_env", path)
    if ("username_env" in node) != ("password_env" in node):
        missing = "username_env" if "password_env" in node else "password_env"
        check.fail(_at(path, missing), "basic auth needs both username_env and password_env")
    if "token_env" in node and "username_env" in node:
        check.fail(_at(path, "token_env"), "use either token_env or username_env/password_env")
    page_size = MlflowSource.page_size
    if node.get("page_size") is not None:
        page_size = check.integer(node, "page_size", path, minimum=1, maximum=50000)
    max_run_days = None
    if node.get("max_run_days") is not None:
        max_run_days = check.integer(node, "max_run_days", path, minimum=1, maximum=3660)
    timeout = _seconds(check, node, path, MlflowSource.timeout_seconds)
    if "tracking_uri" not in node:
        for key in (*MLFLOW_API_ONLY_KEYS, "max_run_days", "timeout_seconds"):
            if key in node:
                check.fail(_at(path, key), "only applies with tracking_uri (the REST API)")
    if len(check.problems) > problems:
        return None
    return MlflowSource(
        uri,
        tuple(experiments),
        token_env,
        username_env,
        password_env,
        page_size,
        max_run_days,
        timeout,
    )


def _inference(check: _Checker, value: Any, path: str) -> InferenceSource | None:
    if value is None:
        return InferenceSource()
    node = check.mapping(value, path, (), ("prometheus",))
    if node is None:
        return None
    if node.get("prometheus") is None:
        return InferenceSource()
    where = _at(path, "prometheus")
    prom = check.mapping(
        node["prometheus"],
        where,
        ("url", "requests_metric", "service_label"),
        ("tokens_metric", "token_env", "timeout_seconds"),
    )
    if prom is None:
        return None
    problems = len(check.problems)
    metric = "a Prometheus metric name like http_requests_total"
    url = _http_url(check, prom, "url", where)
    requests_metric = check.text(
        prom, "requests_metric", where, pattern=PROMETHEUS_METRIC_PATTERN, what=metric
    )
    service_label = check.text(
        prom,
        "service_label",
        where,
        pattern=PROMETHEUS_LABEL_PATTERN,
        what="a Prometheus label name like service",
    )
    tokens_metric = check.text(
        prom, "tokens_metric", where, required=False, pattern=PROMETHEUS_METRIC_PATTERN, what=metric
    )
    token_env = _secret_env(check, prom, "token_env", where)
    timeout = _seconds(check, prom, where, InferencePrometheus.timeout_seconds)
    if len(check.problems) > problems or None in (url, requests_metric, service_label):
        return None
    return InferenceSource(
        InferencePrometheus(url, requests_metric, service_label, tokens_metric, token_env, timeout)
    )


# --- the org tables -----------------------------------------------------------

STRING = pa.string()
DOUBLE = pa.float64()
INT64 = pa.int64()
DATE = pa.date32()

ORG_SCHEMAS: dict[str, pa.Schema] = {
    "systems": pa.schema(
        [
            ("system_id", STRING),
            ("name", STRING),
            ("kind", STRING),
            ("owner", STRING),
            ("description", STRING),
        ]
    ),
    "attribution_rules": pa.schema(
        [
            ("rule_order", INT64),
            ("system_id", STRING),
            ("source_type", STRING),
            ("tag_key", STRING),
            ("like_pattern", STRING),
        ]
    ),
    "sites": pa.schema(
        [("site_id", STRING), ("name", STRING), ("grid_zone", STRING), ("country", STRING)]
    ),
    "site_pue": pa.schema(
        [("site_id", STRING), ("valid_from", DATE), ("valid_to", DATE), ("pue", DOUBLE)]
    ),
    "clusters": pa.schema(
        [
            ("cluster", STRING),
            ("site_id", STRING),
            ("gpu_model", STRING),
            ("gpu_power_w", DOUBLE),
            ("gpu_utilisation", DOUBLE),
        ]
    ),
    "cluster_partitions": pa.schema(
        [("cluster", STRING), ("partition", STRING), ("gpu_model", STRING)]
    ),
    "cluster_hosts": pa.schema([("cluster", STRING), ("like_pattern", STRING)]),
    "cluster_idle_energy": pa.schema(
        [
            ("cluster", STRING),
            ("valid_from", DATE),
            ("valid_to", DATE),
            ("kwh", DOUBLE),
            ("source", STRING),
            ("metered_at", STRING),
        ]
    ),
    "instruments": pa.schema(
        [
            ("instrument_id", STRING),
            ("site_id", STRING),
            ("kind", STRING),
            ("valid_from", DATE),
            ("valid_to", DATE),
            ("mwh", DOUBLE),
            ("kg_co2e_per_kwh", DOUBLE),
        ]
    ),
    "hardware": pa.schema(
        [
            ("hardware_id", STRING),
            ("site_id", STRING),
            ("server_model", STRING),
            ("gpu_model", STRING),
            ("gpus_per_server", INT64),
            ("servers", INT64),
            ("acquired_on", DATE),
            ("lifetime_years", DOUBLE),
            ("use_share", DOUBLE),
        ]
    ),
    "settings": pa.schema([("key", STRING), ("value", STRING)]),
    "targets": pa.schema(
        [
            ("target_id", STRING),
            ("baseline_year", INT64),
            ("target_year", INT64),
            ("reduction_pct", DOUBLE),
            ("method", STRING),
            ("ghg_scope", INT64),
        ]
    ),
}


def glob_to_like(glob: str) -> str:
    r"""The SQL LIKE pattern (escape character ``\``) matching what ``glob`` matches.

    ``*`` is any text and ``?`` one character; every other character is
    literal, so LIKE's own ``%``, ``_`` and the escape ``\`` are escaped first.
    """
    out = []
    for char in glob:
        if char in "\\%_":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def org_tables(config: OrgConfig) -> dict[str, pa.Table]:
    """Every org table of the contract, built in memory from a validated config."""
    rows: dict[str, list[dict]] = {name: [] for name in ORG_SCHEMAS}
    rule_order = 0
    for system in config.systems:
        rows["systems"].append(
            {
                "system_id": system.id,
                "name": system.name,
                "kind": system.kind,
                "owner": system.owner,
                "description": system.description,
            }
        )
        for rule in system.rules:
            rule_order += 1
            rows["attribution_rules"].append(
                {
                    "rule_order": rule_order,
                    "system_id": system.id,
                    "source_type": rule.source_type,
                    "tag_key": rule.tag_key,
                    "like_pattern": glob_to_like(rule.pattern),
                }
            )
    for site in config.sites:
        rows["sites"].append(
            {
                "site_id": site.id,
                "name": site.name,
                "grid_zone": site.grid_zone,
                "country": site.country,
            }
        )
        for period in site.pue:
            rows["site_pue"].append(
                {
                    "site_id": site.id,
                    "valid_from": period.valid_from,
                    "valid_to": period.valid_to,
                    "pue": period.pue,
                }
            )
        for instrument in site.instruments:
            rows["instruments"].append(
                {
                    "instrument_id": instrument.id,
                    "site_id": site.id,
                    "kind": instrument.kind,
                    "valid_from": instrument.valid_from,
                    "valid_to": instrument.valid_to,
                    "mwh": instrument.mwh,
                    "kg_co2e_per_kwh": instrument.kg_co2e_per_kwh,
                }
            )
    for cluster in config.clusters:
        rows["clusters"].append(
            {
                "cluster": cluster.name,
                "site_id": cluster.site,
                "gpu_model": cluster.gpu_model,
                "gpu_power_w": cluster.gpu_power_w,
                "gpu_utilisation": cluster.gpu_utilisation,
            }
        )
        for partition, gpu_model in cluster.partitions.items():
            rows["cluster_partitions"].append(
                {"cluster": cluster.name, "partition": partition, "gpu_model": gpu_model}
            )
        for host in cluster.hosts:
            rows["cluster_hosts"].append(
                {"cluster": cluster.name, "like_pattern": glob_to_like(host)}
            )
        for idle in cluster.idle_energy:
            rows["cluster_idle_energy"].append(
                {
                    "cluster": cluster.name,
                    "valid_from": idle.valid_from,
                    "valid_to": idle.valid_to,
                    "kwh": idle.kwh,
                    "source": idle.source,
                    "metered_at": idle.metered_at,
                }
            )
    for item in config.hardware:
        rows["hardware"].append(
            {
                "hardware_id": item.id,
                "site_id": item.site,
                "server_model": item.server_model,
                "gpu_model": item.gpu_model,
                "gpus_per_server": item.gpus_per_server,
                "servers": item.servers,
                "acquired_on": item.acquired_on,
                "lifetime_years": item.lifetime_years,
                "use_share": item.use_share,
            }
        )
    settings = {
        "grid_factor_set": config.methodology.grid_factor_set,
        "gpu_utilisation_default": repr(config.methodology.gpu_utilisation_default),
        "allocation_basis": config.methodology.allocation_basis,
        "organisation_name": config.organisation.name,
        "reporting_year": str(config.organisation.reporting_year),
    }
    # Optional settings are written only when configured; dbt applies the defaults.
    if config.methodology.inference_min_idle_share is not None:
        settings["inference_min_idle_share"] = repr(config.methodology.inference_min_idle_share)
    codecarbon = config.sources.codecarbon
    if codecarbon is not None and codecarbon.cluster is not None:
        settings["codecarbon_cluster"] = codecarbon.cluster
    rows["settings"] = [{"key": key, "value": value} for key, value in settings.items()]
    rows["targets"] = [
        {
            "target_id": target.id,
            "baseline_year": target.baseline_year,
            "target_year": target.target_year,
            "reduction_pct": target.reduction_pct,
            "method": target.method,
            "ghg_scope": target.ghg_scope,
        }
        for target in config.targets
    ]
    return {
        name: pa.Table.from_pylist(rows[name], schema=schema)
        for name, schema in ORG_SCHEMAS.items()
    }


def land_config(config: OrgConfig, landing: Path | str) -> list[LoadRecord]:
    """Replace every org table from a validated config; one ledger record per table."""
    tables = org_tables(config)  # all built before the first write
    records = []
    for name, table in tables.items():
        records.append(
            land(
                landing,
                source=ORG_SOURCE,
                dataset=name,
                partition=ORG_PARTITION,
                files=[config.path],
                relative_to=config.path.parent,
                build_table=lambda table=table: table,
            )
        )
    return records
