"""Deterministic AWS CUR 2.0 and DCGM telemetry at scale, for the benchmark.

Writes, under ``--out`` (a sources folder, the layout of docs/data-contract.md):

* ``aws/<bucket>/<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-0000N.snappy.parquet``
  chunks of at most ``CHUNK_ROWS`` rows and, written last as AWS does,
  ``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``: ``--rows`` line
  items over 12 billing periods (2025-01..2025-12) with the demo's real CUR 2.0
  column set (``extractors.demo.generate.CUR_COLUMNS``), so
  ``extractors.aws_cur`` reads it through ``config/org.example.yml`` unchanged.
  Hundreds of accounts, every AWS region the seeds know, GPU and non-GPU
  instance types (some unknown to the seeds), EBS, S3, RDS, transfer, Lambda,
  tax and credits; ``resource_tags`` maps with and without the ``ai-system``
  tag that the example config's rules match (and AI-looking values no rule
  claims). The last period is month-to-date (every day but the last), as a
  nightly delivery finds it;
* with ``--redelivery``, the same export's re-delivery of the last period
  with its last day added (a new ``executionId``), in its own tree of the same
  layout, for the nightly-incremental measurement;
* ``dcgm_bench/gpu_hours_YYYY-MM.parquet``: DCGM-shaped hourly telemetry of
  1,000 GPUs over the last month, in the ``dcgm/gpu_hours`` landing schema
  (``extractors.prometheus_dcgm.SCHEMA``), which the benchmark lands.

The same arguments always give the same bytes: every draw comes from a numpy
``Generator`` seeded with (seed, period, file, batch); nothing reads the
clock. Memory stays flat whatever ``--rows`` is: rows are drawn in batches of
``BATCH_ROWS`` and streamed to the chunk file with a ``ParquetWriter``;
strings are dictionary-encoded indices into small vocabularies, maps are
built from offsets into per-kind entry tables. Parquet files carry no Arrow
schema (as AWS writes them): readers see plain strings.

    python bench/generate_scale.py --rows 1000000 --out bench/data/x/sources \
        [--seed 42] [--redelivery bench/data/x/redelivery]

Never touches a landing folder or a warehouse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.demo.generate import (  # noqa: E402
    AWS_BUCKET,
    CUR_COLUMNS,
    CUR_EXPORT,
    CUR_PREFIX,
    PAYER_ACCOUNT,
    PAYER_NAME,
    TAG_AI_SYSTEM,
    TAG_TEAM,
    Month,
)
from extractors.prometheus_dcgm import SCHEMA as DCGM_SCHEMA  # noqa: E402

GENERATOR_VERSION = 1  # bump when the output changes: the benchmark's cache key
FIRST_PERIOD = Month(2025, 1)
PERIODS = 12
CHUNK_ROWS = 2_000_000  # rows per delivered Parquet chunk
BATCH_ROWS = 250_000  # rows drawn and written at a time (one row group)
ACCOUNTS = 240
TELEMETRY_GPUS = 1_000

_S, _D, _T = pa.string(), pa.float64(), pa.timestamp("ms")
_DICT = pa.dictionary(pa.int32(), pa.string())
_MANIFEST_TYPES = {
    str(_S): "string",
    str(_D): "double",
    str(_T): "timestamp",
    "map<string, string>": "map<string,string>",
    "map<string, double>": "map<string,double>",
}
PARQUET_OPTIONS = {
    "compression": "snappy",
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    # As AWS writes them: no Arrow schema in the footer, plain strings to readers.
    "store_schema": False,
}
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 24 * MS_PER_HOUR

# --------------------------------------------------------------------------
# Reference vocabularies: regions, instance types, usage kinds, tag sets
# --------------------------------------------------------------------------

# Region code -> (usage-type prefix, CUR location name, share of usage); the
# regions of the cloud_regions seed. None: global services, tax, credits.
REGIONS: list[tuple[str, str, str, float]] = [
    ("us-east-1", "USE1", "US East (N. Virginia)", 0.30),
    ("us-east-2", "USE2", "US East (Ohio)", 0.12),
    ("us-west-1", "USW1", "US West (N. California)", 0.04),
    ("us-west-2", "USW2", "US West (Oregon)", 0.16),
    ("eu-west-1", "EUW1", "EU (Ireland)", 0.14),
    ("eu-central-1", "EUC1", "EU (Frankfurt)", 0.12),
    ("eu-west-3", "EUW3", "EU (Paris)", 0.05),
    ("ap-south-1", "APS3", "Asia Pacific (Mumbai)", 0.07),
]


@dataclass(frozen=True)
class Instance:
    name: str
    rate: float  # on-demand USD per hour
    gpus: int
    vcpus: int
    memory: str
    normalization: float


# GPU types first; the last four are unknown to the instance_types seed, as
# a real bill always has a few (they become `other` usage with no energy).
INSTANCES = [
    Instance("p5.48xlarge", 98.32, 8, 192, "2048 GiB", 384.0),
    Instance("p5e.48xlarge", 108.2, 8, 192, "2048 GiB", 384.0),
    Instance("p4d.24xlarge", 32.77, 8, 96, "1152 GiB", 192.0),
    Instance("p4de.24xlarge", 40.96, 8, 96, "1152 GiB", 192.0),
    Instance("p3.2xlarge", 3.06, 1, 8, "61 GiB", 16.0),
    Instance("g5.xlarge", 1.006, 1, 4, "16 GiB", 8.0),
    Instance("g5.2xlarge", 1.212, 1, 8, "32 GiB", 16.0),
    Instance("g5.12xlarge", 5.672, 4, 48, "192 GiB", 96.0),
    Instance("g5.48xlarge", 16.288, 8, 192, "768 GiB", 384.0),
    Instance("g6.xlarge", 0.805, 1, 4, "16 GiB", 8.0),
    Instance("g4dn.xlarge", 0.526, 1, 4, "16 GiB", 8.0),
    Instance("m5.xlarge", 0.192, 0, 4, "16 GiB", 8.0),
    Instance("m5.2xlarge", 0.384, 0, 8, "32 GiB", 16.0),
    Instance("c6i.large", 0.085, 0, 2, "4 GiB", 4.0),
    Instance("r6i.xlarge", 0.252, 0, 4, "32 GiB", 8.0),
    Instance("t3.medium", 0.0416, 0, 2, "4 GiB", 2.0),
    Instance("m7g.large", 0.0816, 0, 2, "8 GiB", 4.0),
]


@dataclass(frozen=True)
class Kind:
    """One kind of line item: what it bills and how its amount is drawn."""

    name: str
    weight: float  # share of line items
    line_type: str
    product_code: str
    usage_type: str  # after the region prefix; "" for none
    operation: str
    unit: str | None
    rate: float
    family: str | None
    description: str
    amount: str  # hours | storage | transfer | requests | none
    resource: str | None  # resource id prefix; None: no resource
    instance: Instance | None = None
    servicecode: str | None = None
    regional: bool = True
    transfer_to: str | None = None  # "External", "region" (another region)


def _instance_kinds() -> list[Kind]:
    kinds = []
    for instance in INSTANCES:
        gpu = instance.gpus > 0
        weight = (0.08 if gpu else 0.26) / (11 if gpu else 6)
        kinds.append(
            Kind(
                f"box:{instance.name}",
                weight,
                "Usage",
                "AmazonEC2",
                f"BoxUsage:{instance.name}",
                "RunInstances",
                "Hrs",
                instance.rate,
                "Compute Instance",
                f"${instance.rate:.3f} per On Demand Linux {instance.name} Instance Hour",
                "hours",
                "i-0",
                instance,
            )
        )
    for name in ("g5.xlarge", "m5.xlarge"):
        instance = next(i for i in INSTANCES if i.name == name)
        kinds.append(
            Kind(
                f"spot:{name}",
                0.02,
                "Usage",
                "AmazonEC2",
                f"SpotUsage:{name}",
                "RunInstances:SV001",
                "Hrs",
                round(instance.rate * 0.32, 4),
                "Compute Instance",
                f"${instance.rate * 0.32:.4f} per Linux/UNIX {name} spot instance-hour",
                "hours",
                "i-0",
                instance,
            )
        )
    m5 = next(i for i in INSTANCES if i.name == "m5.xlarge")
    kinds.append(
        Kind(
            "sp:m5.xlarge",
            0.03,
            "SavingsPlanCoveredUsage",
            "AmazonEC2",
            "BoxUsage:m5.xlarge",
            "RunInstances",
            "Hrs",
            m5.rate,
            "Compute Instance",
            "m5.xlarge covered by a Compute Savings Plan",
            "hours",
            "i-0",
            m5,
        )
    )
    return kinds


KINDS: list[Kind] = [
    *_instance_kinds(),
    Kind(
        "rds:db.r6g.large",
        0.03,
        "Usage",
        "AmazonRDS",
        "InstanceUsage:db.r6g.large",
        "CreateDBInstance:0014",
        "Hrs",
        0.258,
        "Database Instance",
        "$0.258 per RDS db.r6g.large instance hour (or partial hour) running PostgreSQL",
        "hours",
        "arn:aws:rds:db:",
        Instance("db.r6g.large", 0.258, 0, 2, "16 GiB", 4.0),
    ),
    Kind(
        "rds:storage",
        0.02,
        "Usage",
        "AmazonRDS",
        "RDS:GP2-Storage",
        "CreateDBInstance:0014",
        "GB-Mo",
        0.115,
        "Database Storage",
        "$0.115 per GB-month of provisioned GP2 storage running PostgreSQL",
        "storage",
        "arn:aws:rds:db:",
    ),
    Kind(
        "ebs:gp3",
        0.10,
        "Usage",
        "AmazonEC2",
        "EBS:VolumeUsage.gp3",
        "CreateVolume-Gp3",
        "GB-Mo",
        0.08,
        "Storage",
        "$0.08 per GB-month of General Purpose (gp3) provisioned storage",
        "storage",
        "vol-0",
    ),
    Kind(
        "ebs:snapshot",
        0.03,
        "Usage",
        "AmazonEC2",
        "EBS:SnapshotUsage",
        "CreateSnapshot",
        "GB-Mo",
        0.05,
        "Storage Snapshot",
        "$0.05 per GB-Month of snapshot data stored",
        "storage",
        "snap-0",
    ),
    Kind(
        "s3:storage",
        0.08,
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "StandardStorage",
        "GB-Mo",
        0.023,
        "Storage",
        "$0.023 per GB - first 50 TB / month of storage used",
        "storage",
        "bucket-",
    ),
    Kind(
        "s3:requests",
        0.04,
        "Usage",
        "AmazonS3",
        "Requests-Tier1",
        "PutObject",
        "Requests",
        0.000005,
        "API Request",
        "$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
        "requests",
        "bucket-",
    ),
    Kind(
        "transfer:internet",
        0.07,
        "Usage",
        "AmazonEC2",
        "DataTransfer-Out-Bytes",
        "RunInstances",
        "GB",
        0.09,
        "Data Transfer",
        "$0.090 per GB - first 10 TB / month data transfer out beyond the global free tier",
        "transfer",
        "i-0",
        servicecode="AWSDataTransfer",
        transfer_to="External",
    ),
    Kind(
        "transfer:inter_region",
        0.05,
        "Usage",
        "AmazonS3",
        "AWS-Out-Bytes",
        "GetObject",
        "GB",
        0.02,
        "Data Transfer",
        "$0.02 per GB - data transfer to another AWS region",
        "transfer",
        "bucket-",
        servicecode="AWSDataTransfer",
        transfer_to="region",
    ),
    Kind(
        "transfer:regional",
        0.04,
        "Usage",
        "AmazonEC2",
        "DataTransfer-Regional-Bytes",
        "InterZone-In",
        "GB",
        0.01,
        "Data Transfer",
        "$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using IPs or ELB",
        "transfer",
        "i-0",
        servicecode="AWSDataTransfer",
    ),
    Kind(
        "lambda",
        0.03,
        "Usage",
        "AWSLambda",
        "Lambda-GB-Second",
        "Invoke",
        "Lambda-GB-Second",
        0.0000166667,
        "Serverless",
        "AWS Lambda - Total Compute - per GB-Second",
        "requests",
        "arn:aws:lambda:function:",
    ),
    Kind(
        "cloudwatch",
        0.02,
        "Usage",
        "AmazonCloudWatch",
        "CW:MetricMonitorUsage",
        "MetricStorage",
        "Metrics",
        0.30,
        "Metric",
        "$0.30 per metric-month - first 10,000 metrics",
        "requests",
        None,
    ),
    Kind(
        "tax",
        0.008,
        "Tax",
        "AmazonEC2",
        "",
        "",
        None,
        0.0,
        None,
        "Tax for product code AmazonEC2",
        "none",
        None,
        regional=False,
    ),
    Kind(
        "credit",
        0.004,
        "Credit",
        "AmazonEC2",
        "",
        "",
        None,
        0.0,
        None,
        "AWS Activate Credits - Promotional",
        "none",
        None,
        regional=False,
    ),
    Kind(
        "route53",
        0.006,
        "Usage",
        "AmazonRoute53",
        "HostedZone",
        "",
        "HostedZone",
        0.50,
        "DNS Zone",
        "$0.50 per Hosted Zone for the first 25 Hosted Zones",
        "requests",
        None,
        regional=False,
    ),
]
KIND_WEIGHTS = np.array([kind.weight for kind in KINDS])
KIND_WEIGHTS = KIND_WEIGHTS / KIND_WEIGHTS.sum()

# Tag sets (user-defined keys carry CUR's `user_` prefix). The example config
# attributes `ai-system` = llm-chat-api / helio-lm-pretrain; the other
# ai-system values are AI spend no rule claims (it lands in `unattributed`).
AI_SYSTEMS = ["llm-chat-api", "helio-lm-pretrain", "recsys-ranker", "fraud-scoring"]
TEAMS = ["ml", "web", "data", "platform"]
ENVS = ["prod", "staging", "dev"]
TAG_SETS: list[list[tuple[str, str]]] = [[]]
for _system in AI_SYSTEMS:
    for _env in ENVS:
        TAG_SETS.append(sorted([(TAG_AI_SYSTEM, _system), (TAG_TEAM, "ml"), ("user_env", _env)]))
for _team in TEAMS:
    for _env in ENVS:
        TAG_SETS.append(sorted([(TAG_TEAM, _team), ("user_env", _env)]))
        TAG_SETS.append(
            sorted(
                [
                    (TAG_TEAM, _team),
                    ("user_env", _env),
                    ("user_cost-center", f"CC-{100 + TEAMS.index(_team)}"),
                    ("aws:createdBy", "AssumedRole:terraform"),
                ]
            )
        )
AI_TAG_SETS = np.arange(1, 1 + len(AI_SYSTEMS) * len(ENVS))
OTHER_TAG_SETS = np.arange(1 + len(AI_SYSTEMS) * len(ENVS), len(TAG_SETS))

BUSINESS_UNITS = ["ml", "web", "data", "platform"]


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _rng(seed: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed, *parts])


# --------------------------------------------------------------------------
# Building Arrow columns from indices
# --------------------------------------------------------------------------


def _dict(indices: np.ndarray, vocabulary: list[str | None]) -> pa.DictionaryArray:
    """Strings as indices into ``vocabulary`` (None entries give nulls)."""
    nulls = [position for position, value in enumerate(vocabulary) if value is None]
    # Parquet cannot write a null inside the dictionary: null the indices instead.
    mask = np.isin(indices, nulls) if nulls else None
    values = pa.array(["" if value is None else value for value in vocabulary], _S)
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32(), mask=mask), values)


def _constant(value: str | None, rows: int) -> pa.DictionaryArray:
    return _dict(np.zeros(rows, np.int32), [value])


def _maps(indices: np.ndarray, entries: list[list[tuple[str, object]]], item_type) -> pa.MapArray:
    """A map column: row ``r`` holds ``entries[indices[r]]``."""
    lengths = np.array([len(e) for e in entries], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat_keys = pa.array([k for e in entries for k, _ in e], _S)
    flat_items = pa.array([v for e in entries for _, v in e], item_type)
    row_lengths = lengths[indices]
    offsets = np.concatenate([[0], np.cumsum(row_lengths)]).astype(np.int32)
    total = int(offsets[-1])
    gather = np.repeat(starts[indices] - offsets[:-1], row_lengths) + np.arange(total)
    take = pa.array(gather, pa.int64())
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()), flat_keys.take(take), flat_items.take(take)
    )


def _timestamps(ms: np.ndarray) -> pa.Array:
    return pa.array(ms.astype("datetime64[ms]"), _T)


def _iso(ms: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(ms, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------
# The resource catalogue: what exists in the organisation
# --------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Every resource: its account, region, kind, tags, availability zone and id."""

    account: np.ndarray
    region: np.ndarray  # index into REGIONS, -1 for none
    kind: np.ndarray
    tag_set: np.ndarray
    az: np.ndarray  # 0..2, -1 for none
    resource_id: pa.Array
    accounts: list[str]
    account_names: list[str]
    account_units: np.ndarray

    @classmethod
    def build(cls, rows: int, seed: int) -> Catalogue:
        rng = _rng(seed, 0)
        size = int(min(max(rows // 100, 2_000), 1_000_000))
        accounts = [f"{400_000_000_000 + 7_919 * n:012d}" for n in range(ACCOUNTS)]
        names = [f"acct-{n:03d}-{BUSINESS_UNITS[n % 4]}" for n in range(ACCOUNTS)]
        kind = rng.choice(len(KINDS), size=size, p=KIND_WEIGHTS)
        region_p = np.array([r[3] for r in REGIONS])
        region = rng.choice(len(REGIONS), size=size, p=region_p / region_p.sum())
        regional = np.array([k.regional for k in KINDS])
        region = np.where(regional[kind], region, -1)
        # Accounts are unevenly busy: a few hold most resources.
        weights = 1.0 / np.arange(1, ACCOUNTS + 1) ** 0.8
        account = rng.choice(ACCOUNTS, size=size, p=weights / weights.sum())
        # GPU and ML resources carry the ai-system tag far more often.
        is_gpu = np.array([bool(k.instance and k.instance.gpus) for k in KINDS])[kind]
        ai_share = np.where(is_gpu, 0.75, 0.15)
        tagged_ai = rng.random(size) < ai_share
        untagged = rng.random(size) < 0.2
        tag_set = np.where(
            tagged_ai,
            rng.choice(AI_TAG_SETS, size=size),
            np.where(untagged, 0, rng.choice(OTHER_TAG_SETS, size=size)),
        )
        has_resource = np.array([k.resource is not None for k in KINDS])[kind]
        zonal = np.array([k.amount in ("hours",) or k.name.startswith("ebs") for k in KINDS])
        az = np.where(zonal[kind] & (region >= 0), rng.integers(0, 3, size=size), -1)
        ids = rng.integers(0, 2**63 - 1, size=size, dtype=np.int64)
        resource_ids = [
            (f"{KINDS[k].resource}{i:016x}" if has else None)
            for k, i, has in zip(kind.tolist(), ids.tolist(), has_resource.tolist(), strict=True)
        ]
        return cls(
            account=account,
            region=region,
            kind=kind,
            tag_set=tag_set,
            az=az,
            resource_id=pa.array(resource_ids, _S),
            accounts=accounts,
            account_names=names,
            account_units=np.arange(ACCOUNTS) % 4,
        )


# Per (kind, region) vocabularies: usage types, SKUs, product maps.
_NREG = len(REGIONS) + 1  # the last slot: no region


def _combo_vocabularies() -> dict[str, list]:
    usage_types, skus, products, to_locations, to_regions = [], [], [], [], []
    for kind in KINDS:
        for slot in range(_NREG):
            region = REGIONS[slot] if slot < len(REGIONS) else None
            prefix = f"{region[1]}-" if region else ""
            usage = f"{prefix}{kind.usage_type}" if kind.usage_type else ""
            usage_types.append(usage)
            is_usage = kind.line_type != "Tax" and kind.line_type != "Credit"
            skus.append(
                _digest("aws-sku", kind.product_code, usage)[:12].upper() if is_usage else None
            )
            product: dict[str, str] = {}
            if is_usage:
                product["product_name"] = kind.product_code
                if region:
                    product["region"] = region[0]
                if kind.instance is not None:
                    product.update(vcpu=str(kind.instance.vcpus), memory=kind.instance.memory)
                    if kind.instance.gpus:
                        product["gpu"] = str(kind.instance.gpus)
                    if kind.product_code == "AmazonEC2":
                        product.update(operating_system="Linux", tenancy="Shared")
            products.append(sorted(product.items()))
            target = None
            if kind.transfer_to == "External":
                target = ("External", None)
            elif kind.transfer_to == "region" and region:
                other = REGIONS[(slot + 1) % len(REGIONS)]
                target = (other[2], other[0])
            to_locations.append(target[0] if target else None)
            to_regions.append(target[1] if target else None)
    return {
        "usage_type": usage_types,
        "sku": skus,
        "product": products,
        "to_location": to_locations,
        "to_region": to_regions,
    }


COMBOS = _combo_vocabularies()


# --------------------------------------------------------------------------
# Line items
# --------------------------------------------------------------------------


def _line_items(
    catalogue: Catalogue,
    period: Month,
    rows: int,
    days: int,
    rng: np.random.Generator,
    first_row: int,
    execution: int,
) -> pa.Table:
    """``rows`` line items of ``period`` on its days 1..``days``, as a CUR 2.0 table."""
    resource = rng.integers(0, len(catalogue.kind), size=rows)
    kind = catalogue.kind[resource]
    region = catalogue.region[resource]
    region_slot = np.where(region >= 0, region, len(REGIONS))
    account = catalogue.account[resource]
    combo = kind * _NREG + region_slot

    period_start_ms = int(np.datetime64(period.start, "ms").astype(np.int64))
    day = rng.integers(0, days, size=rows)
    hourly = rng.random(rows) < 0.4
    hour = rng.integers(0, 24, size=rows)
    start = period_start_ms + day * MS_PER_DAY + np.where(hourly, hour * MS_PER_HOUR, 0)
    span_h = np.where(hourly, 1.0, 24.0)
    end = start + (span_h * MS_PER_HOUR).astype(np.int64)

    amount_kind = np.array([k.amount for k in KINDS])[kind]
    hours = np.where(
        rng.random(rows) < 0.85, span_h, np.round(rng.uniform(0.1, 1, rows) * span_h, 3)
    )
    storage_gb = np.exp(rng.normal(5.0, 1.8, rows))  # median ~150 GB, a long tail
    gb_month = storage_gb * span_h / (24.0 * period.days)
    transfer_gb = np.exp(rng.normal(1.5, 2.0, rows)) * span_h / 24.0
    requests = np.floor(np.exp(rng.normal(8.0, 2.0, rows)))
    amount = np.select(
        [
            amount_kind == "hours",
            amount_kind == "storage",
            amount_kind == "transfer",
            amount_kind == "requests",
        ],
        [hours, gb_month, transfer_gb, requests],
        0.0,
    )
    amount = np.round(amount, 8)
    rate = np.array([k.rate for k in KINDS])[kind]
    line_type = np.array([k.line_type for k in KINDS])[kind]
    cost = np.round(amount * rate, 8)
    cost = np.where(line_type == "Tax", np.round(rng.uniform(0.5, 400, rows), 2), cost)
    cost = np.where(line_type == "Credit", -np.round(rng.uniform(1, 250, rows), 2), cost)
    cost = np.where(line_type == "SavingsPlanCoveredUsage", 0.0, cost)
    is_usage = (line_type != "Tax") & (line_type != "Credit")
    norm = np.array([k.instance.normalization if k.instance else 0.0 for k in KINDS])[kind]

    start_ts, end_ts = _timestamps(start), _timestamps(end)
    index = pa.array(np.arange(first_row, first_row + rows), pa.int64())
    line_ids = pc.binary_join_element_wise(
        f"{period.compact}-{execution}-", pc.utf8_lpad(pc.cast(index, _S), 12, "0"), ""
    )
    kinds_field = lambda name: [getattr(k, name) for k in KINDS]  # noqa: E731
    region_codes = [r[0] for r in REGIONS] + [None]
    locations = [r[2] for r in REGIONS] + [None]
    az_names = [f"{r[0]}{letter}" for r in REGIONS for letter in "abc"] + [None]
    az = catalogue.az[resource]
    az_index = np.where(az >= 0, np.maximum(region, 0) * 3 + az, len(REGIONS) * 3)
    usage_idx = np.where(is_usage, 1, 0)
    rate_text = [f"{k.rate:.10g}" for k in KINDS]
    instance_names = [k.instance.name if k.instance else None for k in KINDS]
    transfer_kind = np.array([k.transfer_to is not None for k in KINDS])[kind]
    invoice = f"{period.compact}{int(_digest('invoice', period.label)[:6], 16):07d}"

    columns: dict[str, pa.Array] = {
        "bill_bill_type": _constant("Anniversary", rows),
        "bill_billing_entity": _constant("AWS", rows),
        "bill_billing_period_end_date": _timestamps(
            np.full(rows, np.datetime64(period.end, "ms").astype(np.int64))
        ),
        "bill_billing_period_start_date": _timestamps(np.full(rows, period_start_ms)),
        "bill_invoice_id": _constant(invoice, rows),
        "bill_invoicing_entity": _constant("Amazon Web Services, Inc.", rows),
        "bill_payer_account_id": _constant(PAYER_ACCOUNT, rows),
        "bill_payer_account_name": _constant(PAYER_NAME, rows),
        "cost_category": _maps(
            catalogue.account_units[account],
            [[("business-unit", unit)] for unit in BUSINESS_UNITS],
            _S,
        ),
        "discount": _maps(np.zeros(rows, np.int64), [[]], _D),
        "identity_line_item_id": line_ids,
        "identity_time_interval": pc.binary_join_element_wise(_iso(start_ts), _iso(end_ts), "/"),
        "line_item_availability_zone": _dict(az_index, az_names),
        "line_item_blended_cost": pa.array(cost, _D),
        "line_item_blended_rate": _dict(kind, rate_text),
        "line_item_currency_code": _constant("USD", rows),
        "line_item_legal_entity": _constant("Amazon Web Services, Inc.", rows),
        "line_item_line_item_description": _dict(kind, kinds_field("description")),
        "line_item_line_item_type": _dict(kind, kinds_field("line_type")),
        "line_item_normalization_factor": pa.array(norm, _D),
        "line_item_normalized_usage_amount": pa.array(np.round(amount * norm, 8), _D),
        "line_item_operation": _dict(kind, kinds_field("operation")),
        "line_item_product_code": _dict(kind, kinds_field("product_code")),
        "line_item_resource_id": catalogue.resource_id.take(pa.array(resource)),
        "line_item_tax_type": _dict(np.where(line_type == "Tax", 1, 0), [None, "VAT"]),
        "line_item_unblended_cost": pa.array(cost, _D),
        "line_item_unblended_rate": _dict(kind, rate_text),
        "line_item_usage_account_id": _dict(account, catalogue.accounts),
        "line_item_usage_account_name": _dict(account, catalogue.account_names),
        "line_item_usage_amount": pa.array(amount, _D),
        "line_item_usage_end_date": end_ts,
        "line_item_usage_start_date": start_ts,
        "line_item_usage_type": _dict(combo, COMBOS["usage_type"]),
        "pricing_currency": _constant("USD", rows),
        "pricing_public_on_demand_cost": pa.array(np.where(is_usage, amount * rate, 0.0), _D),
        "pricing_public_on_demand_rate": _dict(
            np.where(is_usage, kind, len(KINDS)), [*rate_text, None]
        ),
        "pricing_term": _dict(usage_idx, [None, "OnDemand"]),
        "pricing_unit": _dict(kind, kinds_field("unit")),
        "product": _maps(combo, COMBOS["product"], _S),
        "product_from_location": _dict(
            np.where(transfer_kind, region_slot, len(REGIONS)), locations
        ),
        "product_from_region_code": _dict(
            np.where(transfer_kind, region_slot, len(REGIONS)), region_codes
        ),
        "product_instance_family": _dict(
            kind, [i.split(".")[-2] if i else None for i in instance_names]
        ),
        "product_instance_type": _dict(kind, instance_names),
        "product_location": _dict(np.where(is_usage, region_slot, len(REGIONS)), locations),
        "product_location_type": _dict(
            np.where(is_usage & (region >= 0), 1, 0), [None, "AWS Region"]
        ),
        "product_operation": _dict(
            np.where(is_usage, kind, len(KINDS)), [*kinds_field("operation"), None]
        ),
        "product_product_family": _dict(kind, kinds_field("family")),
        "product_region_code": _dict(region_slot, region_codes),
        "product_servicecode": _dict(
            kind,
            [k.servicecode or (k.product_code if k.line_type != "Tax" else None) for k in KINDS],
        ),
        "product_sku": _dict(combo, COMBOS["sku"]),
        "product_to_location": _dict(combo, COMBOS["to_location"]),
        "product_to_region_code": _dict(combo, COMBOS["to_region"]),
        "product_usagetype": _dict(
            np.where(is_usage, combo, len(COMBOS["usage_type"])), [*COMBOS["usage_type"], None]
        ),
        "resource_tags": _maps(catalogue.tag_set[resource], TAG_SETS, _S),
        "tags": _maps(catalogue.tag_set[resource], TAG_SETS, _S),
    }
    return pa.table([columns[name] for name, _ in CUR_COLUMNS], names=[n for n, _ in CUR_COLUMNS])


def cur_schema() -> pa.Schema:
    """The writer's schema: CUR_COLUMNS with strings dictionary-encoded."""
    return pa.schema([(name, _DICT if kind == _S else kind) for name, kind in CUR_COLUMNS])


def rows_per_period(rows: int) -> list[int]:
    base, extra = divmod(rows, PERIODS)
    return [base + (1 if index < extra else 0) for index in range(PERIODS)]


def write_period(
    out_dir: Path,
    catalogue: Catalogue,
    index: int,
    rows: int,
    seed: int,
    *,
    days: int | None = None,
    execution: int = 1,
) -> int:
    """Write one billing period's chunks, then its manifest; return the rows written."""
    period = FIRST_PERIOD.shift(index)
    days = days or period.days
    rows = rows * days // period.days
    base = f"{CUR_PREFIX}/{CUR_EXPORT}"
    partition = f"BILLING_PERIOD={period.label}"
    data_dir = out_dir / "aws" / AWS_BUCKET / base / "data" / partition
    data_dir.mkdir(parents=True, exist_ok=True)
    schema = cur_schema()
    data_files = []
    written = 0
    for number in range(-(-rows // CHUNK_ROWS) or 1):
        name = f"{CUR_EXPORT}-{number + 1:05d}.snappy.parquet"
        chunk_rows = min(CHUNK_ROWS, rows - number * CHUNK_ROWS)
        with pq.ParquetWriter(data_dir / name, schema, **PARQUET_OPTIONS) as writer:
            for batch in range(-(-chunk_rows // BATCH_ROWS)):
                size = min(BATCH_ROWS, chunk_rows - batch * BATCH_ROWS)
                rng = _rng(seed, 1 + index, execution, number, batch)
                table = _line_items(catalogue, period, size, days, rng, written, execution)
                writer.write_table(table.cast(schema), row_group_size=BATCH_ROWS)
                written += size
        data_files.append(f"s3://{AWS_BUCKET}/{base}/data/{partition}/{name}")
    manifest = {
        "executionId": _digest(seed, CUR_EXPORT, period.label, execution)[:36],
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{PAYER_ACCOUNT}:export/{CUR_EXPORT}",
        "billingPeriod": {"start": f"{period.label}-01T00:00:00.000Z"},
        "columns": [{"name": n, "type": _MANIFEST_TYPES[str(k)]} for n, k in CUR_COLUMNS],
        "dataFiles": data_files,
    }
    manifest_path = (
        out_dir / "aws" / AWS_BUCKET / base / "metadata" / partition / f"{CUR_EXPORT}-Manifest.json"
    )
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return written


# --------------------------------------------------------------------------
# DCGM telemetry: 1,000 GPUs, hourly, one month
# --------------------------------------------------------------------------

GPU_MODELS = [
    ("NVIDIA H100 80GB HBM3", 700.0, 60.0),
    ("NVIDIA A100-SXM4-80GB", 400.0, 50.0),
    ("NVIDIA L4", 72.0, 16.0),
]


def telemetry(month: Month, seed: int, gpus: int = TELEMETRY_GPUS) -> pa.Table:
    """Hourly DCGM aggregates of ``gpus`` GPUs (8 per host) over ``month``."""
    rng = _rng(seed, 9_000)
    hours = month.days * 24
    rows = gpus * hours
    gpu = np.repeat(np.arange(gpus), hours)
    hour = np.tile(np.arange(hours), gpus)
    host = gpu // 8
    model = np.where(host % 5 < 2, 0, np.where(host % 5 < 4, 1, 2))
    max_w = np.array([m[1] for m in GPU_MODELS])[model]
    idle_w = np.array([m[2] for m in GPU_MODELS])[model]
    busy = rng.random(rows) < np.where(host % 3 == 0, 0.9, 0.55)
    util = np.where(busy, rng.uniform(35, 100, rows), rng.uniform(0, 5, rows))
    power = idle_w + util / 100 * (max_w - idle_w) * rng.uniform(0.9, 1.05, rows)
    covered = np.where(rng.random(rows) < 0.02, rng.uniform(0, 3600, rows), 3600.0)
    gap = rng.random(rows) < 0.003  # a whole hour without a counter interval
    energy = np.where(gap, np.nan, power * covered * 1000.0)
    k8s = host % 2 == 0
    pods = rng.integers(0, 40, size=rows)
    start_ms = int(np.datetime64(month.start, "ms").astype(np.int64))
    uuids = [f"GPU-{_digest('gpu', seed, n)[:8]}-{_digest('gpu', n)[8:12]}" for n in range(gpus)]
    hosts = [f"gpu-node-{n:04d}" for n in range(-(-gpus // 8))]
    pod_names = [f"trainer-{n:02d}" for n in range(40)]
    columns = {
        "hour": pa.array((start_ms + hour * MS_PER_HOUR).astype("datetime64[ms]")).cast(
            pa.timestamp("us", tz="UTC")
        ),
        "uuid": _dict(gpu, uuids),
        "hostname": _dict(host, hosts),
        "gpu": _dict(gpu % 8, [str(n) for n in range(8)]),
        "model_name": _dict(model, [m[0] for m in GPU_MODELS]),
        "pod": _dict(np.where(k8s & busy, pods, 40), [*pod_names, None]),
        "namespace": _dict(
            np.where(k8s & busy, pods % 4, 4), ["llm", "recsys", "ft", "eval", None]
        ),
        "container": _dict(np.where(k8s & busy, 0, 1), ["trainer", None]),
        # Slurm hosts run one job a day while busy.
        "hpc_job": _dict(
            np.where(~k8s & busy, host * month.days + hour // 24, len(hosts) * month.days),
            [*(str(1_000_000 + n) for n in range(len(hosts) * month.days)), None],
        ),
        "energy_mj": pa.array(energy, _D, from_pandas=True),
        "seconds_covered": pa.array(np.where(gap, 0.0, covered), _D),
        "avg_power_w": pa.array(np.round(power, 3), _D),
        "avg_util_pct": pa.array(np.round(util, 2), _D),
        "samples": pa.array(np.full(rows, 60), pa.int64()),
        "step_seconds": pa.array(np.full(rows, 60), pa.int64()),
        "_source_file": _constant("bench:generate_scale", rows),
    }
    return pa.table([columns[name] for name in DCGM_SCHEMA.names], names=DCGM_SCHEMA.names).cast(
        DCGM_SCHEMA
    )


def telemetry_path(out_dir: Path, month: Month) -> Path:
    return out_dir / "dcgm_bench" / f"gpu_hours_{month.label}.parquet"


# --------------------------------------------------------------------------


def last_period() -> Month:
    return FIRST_PERIOD.shift(PERIODS - 1)


def generate(out_dir: Path, rows: int, seed: int) -> dict:
    """The 12 billing periods (the last month-to-date) and the telemetry."""
    catalogue = Catalogue.build(rows, seed)
    written = {}
    for index, period_rows in enumerate(rows_per_period(rows)):
        period = FIRST_PERIOD.shift(index)
        days = period.days - 1 if index == PERIODS - 1 else None
        written[period.label] = write_period(
            out_dir, catalogue, index, period_rows, seed, days=days
        )
        print(f"  {period.label}: {written[period.label]:,} line items", file=sys.stderr)
    path = telemetry_path(out_dir, last_period())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(telemetry(last_period(), seed), path, compression="snappy")
    return written


def redeliver(out_dir: Path, rows: int, seed: int) -> int:
    """The last period again, now with its last day (a new execution)."""
    catalogue = Catalogue.build(rows, seed)
    return write_period(
        out_dir, catalogue, PERIODS - 1, rows_per_period(rows)[-1], seed, execution=2
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--redelivery", type=Path, help="also write the re-delivery here")
    args = parser.parse_args()
    written = generate(args.out, args.rows, args.seed)
    summary = {"rows": sum(written.values()), "periods": written}
    if args.redelivery:
        summary["redelivery_rows"] = redeliver(args.redelivery, args.rows, args.seed)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
