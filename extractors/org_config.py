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
# Rule types, in the order the contract lists them; the first two need a key.
RULE_TYPES = (
    "aws_tag",
    "gcp_label",
    "slurm_account",
    "slurm_job_name",
    "mlflow_experiment",
    "inference_service",
)
KEYED_RULE_TYPES = ("aws_tag", "gcp_label")
INSTRUMENT_KINDS = ("ppa", "rec", "go", "supplier_specific")
ALLOCATION_BASES = ("cost", "usage")
# dbt puts whatever no rule matches into this system, so no configured system
# may take its name.
UNATTRIBUTED = "unattributed"

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
S3_BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BILLING_ACCOUNT_PATTERN = re.compile(r"[0-9A-Z]{6}-[0-9A-Z]{6}-[0-9A-Z]{6}")
EXPORT_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
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
class Cluster:
    name: str
    site: str
    gpu_model: str
    partitions: dict[str, str]
    gpu_power_w: float | None
    gpu_utilisation: float | None


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
class ExportSource:
    """An AWS Data Exports destination: ``s3://<bucket>/<prefix>/<export>/...``."""

    bucket: str
    prefix: str
    exports: tuple[str, ...]


@dataclass(frozen=True)
class GcpBillingSource:
    project: str
    dataset: str
    billing_account_id: str


@dataclass(frozen=True)
class GcpCarbonSource:
    project: str
    dataset: str


@dataclass(frozen=True)
class SlurmSource:
    clusters: tuple[str, ...]


@dataclass(frozen=True)
class FolderSource:
    """A source read from its fixed folder; no settings yet."""


@dataclass(frozen=True)
class Sources:
    """Where each source is delivered; None = not used by this organisation."""

    aws_cur: ExportSource | None = None
    aws_carbon: ExportSource | None = None
    gcp_billing: GcpBillingSource | None = None
    gcp_carbon: GcpCarbonSource | None = None
    slurm: SlurmSource | None = None
    mlflow: FolderSource | None = None
    inference: FolderSource | None = None


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
TOP_OPTIONAL = ("sites", "clusters", "hardware")


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
    )
    if node is None:
        return None
    factor_set = check.text(node, "grid_factor_set", path)
    utilisation = check.number(node, "gpu_utilisation_default", path, above=0, maximum=1)
    basis = check.choice(node, "allocation_basis", path, ALLOCATION_BASES)
    if factor_set is None or utilisation is None or basis is None:
        return None
    return Methodology(factor_set, utilisation, basis)


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
                    f"expected a mapping of {'tag' if source_type == 'aws_tag' else 'label'} "
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
            ("partitions", "gpu_power_w", "gpu_utilisation"),
        )
        if node is None:
            continue
        name = check.text(node, "name", path, pattern=ID_PATTERN, what="a cluster name")
        check.unique(names, name, _at(path, "name"), "cluster name")
        site = _site_ref(check, node, path, site_ids)
        gpu_model = check.text(node, "gpu_model", path)
        power = check.number(node, "gpu_power_w", path, required=False, above=0)
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
        if None in (name, site, gpu_model):
            continue
        clusters.append(Cluster(name, site, gpu_model, partitions, power, utilisation))
    return clusters


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


def _relative_prefix(check: _Checker, node: dict, path: str) -> str | None:
    """An S3 key prefix: '' allowed, surrounding slashes dropped, no '..' parts."""
    value = node.get("prefix")
    if value is None:
        return ""
    if not isinstance(value, str):
        check.fail(_at(path, "prefix"), f"expected a string, got {_show(value)}")
        return None
    prefix = value.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        check.fail(_at(path, "prefix"), f"expected a key prefix like cur2, got {value!r}")
        return None
    return prefix


def _export_source(check: _Checker, value: Any, path: str) -> ExportSource | None:
    node = check.mapping(value, path, ("bucket", "exports"), ("prefix",))
    if node is None:
        return None
    bucket = check.text(node, "bucket", path, pattern=S3_BUCKET_PATTERN, what="an S3 bucket name")
    prefix = _relative_prefix(check, node, path)
    exports = []
    for index, item in enumerate(check.items(node, "exports", path)):
        where = _at(_at(path, "exports"), index)
        name = check.string(item, where, EXPORT_NAME_PATTERN, "an export name")
        if name in exports:
            check.fail(where, f"export {name!r} is listed twice")
        elif name is not None:
            exports.append(name)
    if "exports" in node and isinstance(node["exports"], list) and not node["exports"]:
        check.fail(_at(path, "exports"), "expected at least one export name")
    if bucket is None or prefix is None or not exports:
        return None
    return ExportSource(bucket, prefix, tuple(exports))


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
        "gcp_billing": lambda value, where: _gcp_billing(check, value, where),
        "gcp_carbon": lambda value, where: _gcp_carbon(check, value, where),
        "slurm": lambda value, where: _slurm(check, value, where, cluster_names),
        "mlflow": lambda value, where: _folder(check, value, where),
        "inference": lambda value, where: _folder(check, value, where),
    }
    for name, reader in readers.items():
        if name in node:
            found[name] = reader(node[name], _at(path, name))
    return Sources(**found)


def _gcp_billing(check: _Checker, value: Any, path: str) -> GcpBillingSource | None:
    node = check.mapping(value, path, ("project", "dataset", "billing_account_id"))
    if node is None:
        return None
    values = (
        check.text(node, "project", path),
        check.text(node, "dataset", path),
        check.text(
            node,
            "billing_account_id",
            path,
            pattern=BILLING_ACCOUNT_PATTERN,
            what="a billing account id like 01ABCD-234567-89EFGH",
        ),
    )
    return GcpBillingSource(*values) if None not in values else None


def _gcp_carbon(check: _Checker, value: Any, path: str) -> GcpCarbonSource | None:
    node = check.mapping(value, path, ("project", "dataset"))
    if node is None:
        return None
    values = (check.text(node, "project", path), check.text(node, "dataset", path))
    return GcpCarbonSource(*values) if None not in values else None


def _slurm(check: _Checker, value: Any, path: str, cluster_names: set[str]) -> SlurmSource | None:
    node = check.mapping(value, path, ("clusters",))
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
    return SlurmSource(tuple(names))


def _folder(check: _Checker, value: Any, path: str) -> FolderSource | None:
    if value is None:
        return FolderSource()
    return FolderSource() if check.mapping(value, path, ()) is not None else None


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
    rows["settings"] = [{"key": key, "value": value} for key, value in settings.items()]
    return {
        name: pa.Table.from_pylist(rows[name], schema=schema)
        for name, schema in ORG_SCHEMAS.items()
    }


def land_config(config: OrgConfig, landing: Path) -> list[LoadRecord]:
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
