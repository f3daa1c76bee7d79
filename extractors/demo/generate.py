"""Write the demo organisation Helio Labs' sources, byte-for-byte reproducibly.

Helio Labs (fictional) runs four AI systems: ``llm-chat-api`` (production
inference on AWS p5/g5), ``helio-lm-pretrain`` (monthly retraining on the
on-premises Slurm cluster ``hpc1``, training data on S3),
``support-bot-finetune`` (weekly fine-tuning on GCP A100s) and
``doc-embed-api`` (document embeddings served on Azure A100s), next to non-AI
spend (web servers, a database, CFD simulations, teaching jobs) and a little
AI-looking spend that no rule claims and must land in ``unattributed``.

This module writes those sources in their real delivery formats, in the layout
of the data contract's "Source folders" table (docs/data-contract.md):

* AWS CUR 2.0 Parquet chunks and ``Manifest.json``, daily line items;
* the AWS carbon emissions export (model ``v3.0.0``; ``v2.0.0`` as well for the
  first three months, after the model change; the last two months unpublished);
* the GCP billing export and carbon footprint export as JSON lines (rows as the
  BigQuery client returns them, as dicts; carbon: last month unpublished);
* ``sacct -P`` text per month, MLflow ``runs/search`` pages, hourly inference
  traffic CSV;
* Azure (``doc-embed-api``, an inference service on A100 VMs in West Europe,
  and an untagged experiments VM): the FOCUS cost export per billing period
  (gzip CSV and its manifest) and the Emissions Impact Dashboard history
  export (mtCO2e; last month unpublished).

The same arguments always give the same bytes: every random draw comes from a
``random.Random`` seeded with (seed, source, month); nothing reads the clock;
the values a real export stamps at delivery (``last_refresh_timestamp``,
``export_time``, ``executionId``) are derived from the month; Parquet writer
options are fixed. A run deletes and rewrites only the generated source
folders under ``out_dir``; it never touches the landing zone or the warehouse.

    python -m extractors.demo.generate --out .demo/sources \
        [--start 2025-01 --months 12 --seed 20250101]
"""

from __future__ import annotations

import argparse
import base64
import calendar
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import random
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# --------------------------------------------------------------------------
# The organisation (matches config/org.example.yml)
# --------------------------------------------------------------------------

AWS_BUCKET = "helio-billing"
CUR_PREFIX, CUR_EXPORT = "cur2", "helio-cur2"
CARBON_PREFIX, CARBON_EXPORT = "carbon", "helio-carbon"
PAYER_ACCOUNT = "111111111111"
PAYER_NAME = "helio-labs"
ML_PROD = "222222222222"
CORP_WEB = "333333333333"
ACCOUNT_NAMES = {ML_PROD: "ml-prod", CORP_WEB: "corp-web"}

GCP_PROJECT, GCP_DATASET = "helio-finops", "billing"
GCP_BILLING_ACCOUNT = "01ABCD-234567-89EFGH"
GCP_ORG = "880011223344"
SLURM_CLUSTER = "hpc1"

# Tag keys appear in CUR with the "user_" prefix of user-defined tags.
TAG_AI_SYSTEM = "user_ai-system"
TAG_TEAM = "user_team"

# Region code -> (usage-type prefix, CUR location name).
AWS_REGIONS = {
    "us-east-1": ("USE1", "US East (N. Virginia)"),
    "eu-west-1": ("EUW1", "EU (Ireland)"),
    "eu-central-1": ("EUC1", "EU (Frankfurt)"),
}

# The carbon models below are the demo's own stand-ins for the providers'
# models, chosen so that magnitudes are plausible (a p5.48xlarge running a
# month in us-east-1 is a few tonnes), not provider figures.
AWS_PUE = 1.135
# Region -> (location-based, market-based) grid intensity, t CO2e per MWh.
AWS_GRID = {
    "us-east-1": (0.379, 0.008),
    "eu-west-1": (0.296, 0.0),
    "eu-central-1": (0.364, 0.002),
    None: (0.0, 0.0),
}


@dataclass(frozen=True)
class InstanceType:
    """On-demand price and the demo's power / embodied-carbon model of a type."""

    name: str
    family: str
    rate: float  # USD per hour
    kw: float  # average draw at the wall, kW
    embodied_kg_h: float  # embodied emissions, kg CO2e per hour of use
    normalization: float
    specs: tuple[tuple[str, str], ...]


P5 = InstanceType(
    "p5.48xlarge",
    "p5",
    98.32,
    5.5,
    0.60,
    384.0,
    (
        ("vcpu", "192"),
        ("memory", "2048 GiB"),
        ("gpu", "8"),
        ("gpu_memory", "640 GB"),
        ("physical_processor", "AMD EPYC 7R13 Processor"),
    ),
)
G5_12X = InstanceType(
    "g5.12xlarge",
    "g5",
    5.672,
    0.9,
    0.08,
    96.0,
    (
        ("vcpu", "48"),
        ("memory", "192 GiB"),
        ("gpu", "4"),
        ("gpu_memory", "96 GB"),
        ("physical_processor", "AMD EPYC 7R32"),
    ),
)
G5_X = InstanceType(
    "g5.xlarge",
    "g5",
    1.006,
    0.25,
    0.02,
    8.0,
    (
        ("vcpu", "4"),
        ("memory", "16 GiB"),
        ("gpu", "1"),
        ("gpu_memory", "24 GB"),
        ("physical_processor", "AMD EPYC 7R32"),
    ),
)
M5_X = InstanceType(
    "m5.xlarge",
    "m5",
    0.192,
    0.045,
    0.006,
    8.0,
    (("vcpu", "4"), ("memory", "16 GiB"), ("physical_processor", "Intel Xeon Platinum 8175")),
)
RDS_R6G = InstanceType(
    "db.r6g.large",
    "r6g",
    0.258,
    0.03,
    0.004,
    4.0,
    (
        ("vcpu", "2"),
        ("memory", "16 GiB"),
        ("database_engine", "PostgreSQL"),
        ("deployment_option", "Single-AZ"),
    ),
)

S3_KWH_PER_TB_MONTH = 1.2
S3_EMBODIED_KG_PER_TB_MONTH = 0.4
TRANSFER_KWH_PER_GB = 0.002

# GCP (prices: on-demand list prices, us-central1 / US multi-region).
GCP_PROJECTS = {
    "helio-ml-prod": ("418273645091", [{"key": "env", "value": "prod"}]),
    "helio-web": ("418273645123", [{"key": "env", "value": "prod"}]),
}
GCE = {"id": "6F81-5844-456A", "description": "Compute Engine"}
GCS = {"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"}
SKU_A100 = "Nvidia Tesla A100 GPU running in Americas"
SKU_A2_CORE = "A2 Instance Core running in Americas"
SKU_A2_RAM = "A2 Instance Ram running in Americas"
SKU_E2_CORE = "E2 Instance Core running in Americas"
SKU_E2_RAM = "E2 Instance Ram running in Americas"
SKU_GCS_STANDARD = "Standard Storage US Multi-region"
PRICE_A100_GPU_H = 2.933908
PRICE_A2_CORE_H = 0.031611
PRICE_A2_RAM_GIB_H = 0.004237
PRICE_E2_CORE_H = 0.021811
PRICE_E2_RAM_GIB_H = 0.002923
PRICE_GCS_GIB_MONTH = 0.026
A2_GPUS, A2_VCPUS, A2_RAM_GIB = 8, 96, 680
E2_VCPUS, E2_RAM_GIB, WEB_VMS = 4, 16, 2
GIB = 1 << 30
GCP_PUE = 1.10
GCP_GRID_KG_KWH = (0.44, 0.06)  # us-central1 (location-, market-based)
A2_KW, A2_EMBODIED_KG_H = 3.2, 0.35
E2_KW, E2_EMBODIED_KG_H = 0.02, 0.003
GCP_CARBON_MODEL_VERSION = 12

PARQUET_OPTIONS = {
    "compression": "snappy",
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1 << 20,
}


# --------------------------------------------------------------------------
# Deterministic helpers
# --------------------------------------------------------------------------


def _rng(seed: int, *parts: object) -> random.Random:
    """A generator for one (source, month, ...) so sources never share draws."""
    # Reproducible demo data, not secrets: a seeded PRNG is exactly what we want.
    return random.Random(":".join([str(seed), *map(str, parts)]))  # noqa: S311


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=bytes.fromhex(_digest(*parts))[:16], version=4))


def _sku_id(*parts: object) -> str:
    digest = _digest("sku", *parts).upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            parsed = dt.datetime.strptime(text, "%Y-%m")
        except ValueError as exc:
            raise ValueError(f"month must look like YYYY-MM, got {text!r}") from exc
        return cls(parsed.year, parsed.month)

    def shift(self, delta: int) -> Month:
        index = self.year * 12 + self.month - 1 + delta
        return Month(index // 12, index % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def compact(self) -> str:
        return f"{self.year:04d}{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1)

    @property
    def end(self) -> dt.datetime:
        return self.shift(1).start

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def day(self, number: int) -> dt.datetime:
        return dt.datetime(self.year, self.month, number)


def _iso_z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_utc(moment: dt.datetime) -> str:
    """A BigQuery TIMESTAMP as the client's ``datetime.isoformat()`` prints it."""
    return moment.replace(tzinfo=dt.UTC).isoformat()


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    _write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


# --------------------------------------------------------------------------
# AWS CUR 2.0
# --------------------------------------------------------------------------

_S, _D, _T = pa.string(), pa.float64(), pa.timestamp("ms")
_MAP_SS, _MAP_SD = pa.map_(pa.string(), pa.string()), pa.map_(pa.string(), pa.float64())
_MANIFEST_TYPES = {
    _S: "string",
    _D: "double",
    _T: "timestamp",
    _MAP_SS: "map<string,string>",
    _MAP_SD: "map<string,double>",
}

CUR_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("bill_bill_type", _S),
    ("bill_billing_entity", _S),
    ("bill_billing_period_end_date", _T),
    ("bill_billing_period_start_date", _T),
    ("bill_invoice_id", _S),
    ("bill_invoicing_entity", _S),
    ("bill_payer_account_id", _S),
    ("bill_payer_account_name", _S),
    ("cost_category", _MAP_SS),
    ("discount", _MAP_SD),
    ("identity_line_item_id", _S),
    ("identity_time_interval", _S),
    ("line_item_availability_zone", _S),
    ("line_item_blended_cost", _D),
    ("line_item_blended_rate", _S),
    ("line_item_currency_code", _S),
    ("line_item_legal_entity", _S),
    ("line_item_line_item_description", _S),
    ("line_item_line_item_type", _S),
    ("line_item_normalization_factor", _D),
    ("line_item_normalized_usage_amount", _D),
    ("line_item_operation", _S),
    ("line_item_product_code", _S),
    ("line_item_resource_id", _S),
    ("line_item_tax_type", _S),
    ("line_item_unblended_cost", _D),
    ("line_item_unblended_rate", _S),
    ("line_item_usage_account_id", _S),
    ("line_item_usage_account_name", _S),
    ("line_item_usage_amount", _D),
    ("line_item_usage_end_date", _T),
    ("line_item_usage_start_date", _T),
    ("line_item_usage_type", _S),
    ("pricing_currency", _S),
    ("pricing_public_on_demand_cost", _D),
    ("pricing_public_on_demand_rate", _S),
    ("pricing_term", _S),
    ("pricing_unit", _S),
    ("product", _MAP_SS),
    ("product_from_location", _S),
    ("product_from_region_code", _S),
    ("product_instance_family", _S),
    ("product_instance_type", _S),
    ("product_location", _S),
    ("product_location_type", _S),
    ("product_operation", _S),
    ("product_product_family", _S),
    ("product_region_code", _S),
    ("product_servicecode", _S),
    ("product_sku", _S),
    ("product_to_location", _S),
    ("product_to_region_code", _S),
    ("product_usagetype", _S),
    ("resource_tags", _MAP_SS),
    ("tags", _MAP_SS),
]
CUR_SCHEMA = pa.schema(CUR_COLUMNS)

PRODUCT_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AmazonRoute53": "Amazon Route 53",
}
COST_CATEGORIES = {ML_PROD: {"business-unit": "ml"}, CORP_WEB: {"business-unit": "web"}}


def _rate_text(rate: float | None) -> str | None:
    return None if rate is None else f"{rate:.10g}"


def _pairs(mapping: dict) -> list[tuple]:
    return sorted(mapping.items())


@dataclass
class _CurMonth:
    """One billing period: its rows and the energy behind them (for carbon)."""

    rows: list[dict] = field(default_factory=list)
    # (account, product code, region or None) -> [kWh at the IT load, embodied kg]
    footprint: dict[tuple, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )


def _cur_row(
    period: Month,
    *,
    account: str,
    start: dt.datetime,
    end: dt.datetime,
    line_type: str,
    product_code: str,
    usage_type: str,
    operation: str,
    amount: float,
    unit: str | None,
    rate: float | None,
    description: str,
    resource_id: str | None = None,
    region: str | None = None,
    az: str | None = None,
    cost: float | None = None,
    servicecode: str | None = None,
    product_family: str | None = None,
    instance: InstanceType | None = None,
    tags: dict[str, str] | None = None,
    product_extra: tuple[tuple[str, str], ...] = (),
    transfer_to: str | None = None,
    location_name: str | None = None,
    tax_type: str | None = None,
) -> dict:
    cost = round(amount * rate, 8) if cost is None else round(cost, 8)
    tags = tags or {}
    is_usage = line_type == "Usage"
    location = location_name or (AWS_REGIONS[region][1] if region else None)
    # Transfers name both ends; "External" is the internet.
    to_location = None
    if transfer_to:
        to_location = AWS_REGIONS[transfer_to][1] if transfer_to in AWS_REGIONS else "External"
    product = {"product_name": PRODUCT_NAMES.get(product_code, product_code)}
    if region:
        product["region"] = region
    if instance is not None:
        product.update(dict(instance.specs))
        if product_code == "AmazonEC2":
            product.update(operating_system="Linux", tenancy="Shared")
    product.update(dict(product_extra))
    line_id_source = (
        account,
        product_code,
        usage_type,
        operation,
        resource_id,
        line_type,
        start.isoformat(),
    )
    return {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_billing_period_end_date": period.end,
        "bill_billing_period_start_date": period.start,
        "bill_invoice_id": f"{period.compact}{int(_digest('invoice', period.label)[:6], 16):07d}",
        "bill_invoicing_entity": "Amazon Web Services, Inc.",
        "bill_payer_account_id": PAYER_ACCOUNT,
        "bill_payer_account_name": PAYER_NAME,
        "cost_category": _pairs(COST_CATEGORIES[account]),
        "discount": [],
        "identity_line_item_id": _digest("line", *line_id_source)[:52],
        "identity_time_interval": f"{_iso_z(start)}/{_iso_z(end)}",
        "line_item_availability_zone": az,
        "line_item_blended_cost": cost,
        "line_item_blended_rate": _rate_text(rate),
        "line_item_currency_code": "USD",
        "line_item_legal_entity": "Amazon Web Services, Inc.",
        "line_item_line_item_description": description,
        "line_item_line_item_type": line_type,
        "line_item_normalization_factor": instance.normalization if instance else 0.0,
        "line_item_normalized_usage_amount": (
            round(amount * instance.normalization, 8) if instance else 0.0
        ),
        "line_item_operation": operation,
        "line_item_product_code": product_code,
        "line_item_resource_id": resource_id,
        "line_item_tax_type": tax_type,
        "line_item_unblended_cost": cost,
        "line_item_unblended_rate": _rate_text(rate),
        "line_item_usage_account_id": account,
        "line_item_usage_account_name": ACCOUNT_NAMES[account],
        "line_item_usage_amount": float(amount),
        "line_item_usage_end_date": end,
        "line_item_usage_start_date": start,
        "line_item_usage_type": usage_type,
        "pricing_currency": "USD",
        "pricing_public_on_demand_cost": cost if is_usage else 0.0,
        "pricing_public_on_demand_rate": _rate_text(rate) if is_usage else None,
        "pricing_term": "OnDemand" if is_usage else None,
        "pricing_unit": unit,
        "product": _pairs(product) if is_usage else [],
        "product_from_location": location if transfer_to else None,
        "product_from_region_code": region if transfer_to else None,
        "product_instance_family": instance.family if instance else None,
        "product_instance_type": instance.name if instance else None,
        "product_location": location if is_usage else None,
        "product_location_type": "AWS Region" if is_usage and region else None,
        "product_operation": operation if is_usage else None,
        "product_product_family": product_family,
        "product_region_code": region,
        "product_servicecode": servicecode or (product_code if is_usage else None),
        "product_sku": _digest("aws-sku", product_code, usage_type)[:12].upper()
        if is_usage
        else None,
        "product_to_location": to_location,
        "product_to_region_code": transfer_to if transfer_to in AWS_REGIONS else None,
        "product_usagetype": usage_type if is_usage else None,
        "resource_tags": _pairs(tags),
        "tags": _pairs(tags),
    }


def _instance_id(label: str) -> str:
    return "i-0" + _digest("instance", label)[:16]


def _cur_instances(
    cur: _CurMonth,
    period: Month,
    day: dt.datetime,
    *,
    account: str,
    instance: InstanceType,
    region: str,
    ids: list[str],
    azs: list[str],
    tags: dict[str, str],
    hours: float = 24.0,
    product_code: str = "AmazonEC2",
    operation: str = "RunInstances",
    usage_prefix: str = "BoxUsage",
    family: str = "Compute Instance",
) -> None:
    prefix = AWS_REGIONS[region][0]
    for index, resource in enumerate(ids):
        desc = (
            f"${instance.rate:.3f} per On Demand Linux {instance.name} Instance Hour"
            if product_code == "AmazonEC2"
            else f"${instance.rate:.3f} per {instance.name} instance hour (or partial hour)"
            " running PostgreSQL"
        )
        cur.rows.append(
            _cur_row(
                period,
                account=account,
                start=day,
                end=day + dt.timedelta(days=1),
                line_type="Usage",
                product_code=product_code,
                usage_type=f"{prefix}-{usage_prefix}:{instance.name}",
                operation=operation,
                amount=hours,
                unit="Hrs",
                rate=instance.rate,
                description=desc,
                resource_id=resource,
                region=region,
                az=azs[index % len(azs)],
                product_family=family,
                instance=instance,
                tags=tags,
            )
        )
        energy = cur.footprint[(account, product_code, region)]
        energy[0] += instance.kw * hours
        energy[1] += instance.embodied_kg_h * hours


def _cur_storage(
    cur: _CurMonth,
    period: Month,
    day: dt.datetime,
    *,
    account: str,
    region: str,
    bucket: str,
    terabytes: float,
    price: float,
    tags: dict[str, str],
) -> None:
    gb_month = terabytes * 1024 / period.days
    cur.rows.append(
        _cur_row(
            period,
            account=account,
            start=day,
            end=day + dt.timedelta(days=1),
            line_type="Usage",
            product_code="AmazonS3",
            usage_type=f"{AWS_REGIONS[region][0]}-TimedStorage-ByteHrs",
            operation="StandardStorage",
            amount=round(gb_month, 6),
            unit="GB-Mo",
            rate=price,
            description=f"${price} per GB - storage used per month",
            resource_id=bucket,
            region=region,
            product_family="Storage",
            tags=tags,
            product_extra=(("storage_class", "General Purpose"), ("volume_type", "Standard")),
        )
    )
    energy = cur.footprint[(account, "AmazonS3", region)]
    energy[0] += S3_KWH_PER_TB_MONTH * terabytes / period.days
    energy[1] += S3_EMBODIED_KG_PER_TB_MONTH * terabytes / period.days


def _cur_transfer(
    cur: _CurMonth,
    period: Month,
    day: dt.datetime,
    *,
    account: str,
    product_code: str,
    region: str,
    to_region: str | None,
    gigabytes: float,
    price: float,
    resource_id: str,
    tags: dict[str, str],
) -> None:
    prefix = AWS_REGIONS[region][0]
    if to_region:
        usage_type = f"{prefix}-{AWS_REGIONS[to_region][0]}-AWS-Out-Bytes"
        desc = (
            f"${price} per GB - {AWS_REGIONS[region][1]} data transfer to "
            f"{AWS_REGIONS[to_region][1]}"
        )
        extra = (("transfer_type", "InterRegion Outbound"),)
    else:
        usage_type = f"{prefix}-DataTransfer-Out-Bytes"
        desc = (
            f"${price} per GB - first 10 TB / month data transfer out beyond the global free tier"
        )
        extra = (("transfer_type", "AWS Outbound"),)
    operation = "RunInstances" if product_code == "AmazonEC2" else "GetObject"
    cur.rows.append(
        _cur_row(
            period,
            account=account,
            start=day,
            end=day + dt.timedelta(days=1),
            line_type="Usage",
            product_code=product_code,
            usage_type=usage_type,
            operation=operation,
            amount=round(gigabytes, 6),
            unit="GB",
            rate=price,
            description=desc,
            resource_id=resource_id,
            region=region,
            servicecode="AWSDataTransfer",
            product_family="Data Transfer",
            tags=tags,
            product_extra=extra,
            transfer_to=to_region or "External",
        )
    )
    cur.footprint[(account, product_code, region)][0] += TRANSFER_KWH_PER_GB * gigabytes


CHAT_TAGS = {TAG_AI_SYSTEM: "llm-chat-api"}
PRETRAIN_TAGS = {TAG_AI_SYSTEM: "helio-lm-pretrain"}
WEB_TAGS = {TAG_TEAM: "web"}
P5_IDS = [_instance_id(f"chat-p5-{n}") for n in range(2)]
G5_IDS = [_instance_id(f"chat-g5-{n}") for n in range(4)]
WEB_IDS = [_instance_id(f"web-m5-{n}") for n in range(6)]
EXPERIMENT_ID = _instance_id("experiments-g5")
RDS_ARN = f"arn:aws:rds:us-east-1:{CORP_WEB}:db:helio-web-db"


def build_cur_month(period: Month, index: int, seed: int) -> _CurMonth:
    """Every CUR 2.0 line item of one billing period, in delivery order."""
    rng = _rng(seed, "aws_cur", period.label)
    cur = _CurMonth()
    for number in range(1, period.days + 1):
        day = period.day(number)
        # llm-chat-api: the warm pool runs around the clock.
        _cur_instances(
            cur,
            period,
            day,
            account=ML_PROD,
            instance=P5,
            region="us-east-1",
            ids=P5_IDS,
            azs=["us-east-1a", "us-east-1b"],
            tags=CHAT_TAGS,
        )
        _cur_instances(
            cur,
            period,
            day,
            account=ML_PROD,
            instance=G5_12X,
            region="eu-west-1",
            ids=G5_IDS,
            azs=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            tags=CHAT_TAGS,
        )
        _cur_storage(
            cur,
            period,
            day,
            account=ML_PROD,
            region="us-east-1",
            bucket="helio-chat-artifacts",
            terabytes=50 + 0.25 * index + rng.uniform(-0.3, 0.3),
            price=0.022,
            tags=CHAT_TAGS,
        )
        weekend = day.weekday() >= 5
        _cur_transfer(
            cur,
            period,
            day,
            account=ML_PROD,
            product_code="AmazonEC2",
            region="us-east-1",
            to_region=None,
            gigabytes=rng.uniform(300, 600) * (0.6 if weekend else 1.0),
            price=0.09,
            resource_id=P5_IDS[0],
            tags=CHAT_TAGS,
        )
        _cur_transfer(
            cur,
            period,
            day,
            account=ML_PROD,
            product_code="AmazonS3",
            region="us-east-1",
            to_region="eu-west-1",
            gigabytes=rng.uniform(80, 200),
            price=0.02,
            resource_id="helio-chat-artifacts",
            tags=CHAT_TAGS,
        )
        # helio-lm-pretrain: the training corpus, growing every month.
        _cur_storage(
            cur,
            period,
            day,
            account=ML_PROD,
            region="eu-central-1",
            bucket="helio-lm-training-data",
            terabytes=200 + 2.0 * index + number * 2.0 / period.days,
            price=0.0245,
            tags=PRETRAIN_TAGS,
        )
        # Someone's untagged GPU box for experiments: AI spend nobody claims.
        if rng.random() < 0.4:
            _cur_instances(
                cur,
                period,
                day,
                account=ML_PROD,
                instance=G5_X,
                region="us-east-1",
                ids=[EXPERIMENT_ID],
                azs=["us-east-1a"],
                tags={},
                hours=float(rng.randint(3, 14)),
            )
        # Not AI: web servers (team tag only), database, static assets.
        _cur_instances(
            cur,
            period,
            day,
            account=CORP_WEB,
            instance=M5_X,
            region="us-east-1",
            ids=WEB_IDS,
            azs=["us-east-1a", "us-east-1b", "us-east-1c"],
            tags=WEB_TAGS,
        )
        _cur_instances(
            cur,
            period,
            day,
            account=CORP_WEB,
            instance=RDS_R6G,
            region="us-east-1",
            ids=[RDS_ARN],
            azs=["us-east-1c"],
            tags={},
            product_code="AmazonRDS",
            operation="CreateDBInstance:0014",
            usage_prefix="InstanceUsage",
            family="Database Instance",
        )
        _cur_storage(
            cur,
            period,
            day,
            account=CORP_WEB,
            region="us-east-1",
            bucket="helio-web-assets",
            terabytes=5 + rng.uniform(-0.05, 0.05),
            price=0.023,
            tags={},
        )
    # A global service: no region code (the carbon export says "Global").
    cur.rows.append(
        _cur_row(
            period,
            account=CORP_WEB,
            start=period.start,
            end=period.start + dt.timedelta(days=1),
            line_type="Usage",
            product_code="AmazonRoute53",
            usage_type="HostedZone",
            operation="",
            amount=3.0,
            unit="HostedZone",
            rate=0.5,
            description="$0.50 per Hosted Zone for the first 25 Hosted Zones",
            resource_id="arn:aws:route53:::hostedzone/Z0HELIO0WEB0ZONE",
            product_family="DNS Zone",
            location_name="Global",
        )
    )
    cur.footprint[(CORP_WEB, "AmazonRoute53", None)][0] += 0.0
    # Monthly tax per account, computed on the month's EC2 usage.
    for account in (ML_PROD, CORP_WEB):
        ec2 = sum(
            row["line_item_unblended_cost"]
            for row in cur.rows
            if row["line_item_usage_account_id"] == account
            and row["line_item_product_code"] == "AmazonEC2"
        )
        cur.rows.append(
            _cur_row(
                period,
                account=account,
                start=period.start,
                end=period.end,
                line_type="Tax",
                product_code="AmazonEC2",
                usage_type="",
                operation="",
                amount=0.0,
                unit=None,
                rate=None,
                cost=ec2 * 0.06,
                description="Tax for product code AmazonEC2",
                tax_type="Sales Tax",
            )
        )
    # Promotional credits land every third month.
    if index % 3 == 1:
        cur.rows.append(
            _cur_row(
                period,
                account=ML_PROD,
                start=period.start,
                end=period.end,
                line_type="Credit",
                product_code="AmazonEC2",
                usage_type="",
                operation="",
                amount=0.0,
                unit=None,
                rate=None,
                cost=-round(rng.uniform(1500, 4000), 2),
                description="AWS Activate Credits - Promotional",
            )
        )
    return cur


def write_cur(out_dir: Path, period: Month, cur: _CurMonth, seed: int) -> list[str]:
    """Write the period's Parquet chunks, then its manifest (as AWS does)."""
    base = f"{CUR_PREFIX}/{CUR_EXPORT}"
    partition = f"BILLING_PERIOD={period.label}"
    # Long months are delivered as two chunks, so readers must follow dataFiles.
    chunks = 2 if period.days == 31 else 1
    size = -(-len(cur.rows) // chunks)
    data_files = []
    for number in range(chunks):
        name = f"{CUR_EXPORT}-{number + 1:05d}.snappy.parquet"
        rows = cur.rows[number * size : (number + 1) * size]
        _write_parquet(
            out_dir / "aws" / AWS_BUCKET / base / "data" / partition / name,
            pa.Table.from_pylist(rows, schema=CUR_SCHEMA),
        )
        data_files.append(f"s3://{AWS_BUCKET}/{base}/data/{partition}/{name}")
    manifest = {
        "executionId": _uuid(seed, CUR_EXPORT, period.label),
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{PAYER_ACCOUNT}:export/"
        f"{CUR_EXPORT}-{_uuid(CUR_EXPORT, 'export')}",
        "columns": [{"name": name, "type": _MANIFEST_TYPES[kind]} for name, kind in CUR_COLUMNS],
        "dataFiles": data_files,
    }
    _write_text(
        out_dir
        / "aws"
        / AWS_BUCKET
        / base
        / "metadata"
        / partition
        / f"{CUR_EXPORT}-Manifest.json",
        json.dumps(manifest, indent=2) + "\n",
    )
    return data_files


# --------------------------------------------------------------------------
# AWS carbon emissions export
# --------------------------------------------------------------------------

_SCOPE_PAIRS = [
    "total_scope_1_emissions",
    "total_scope_2_lbm_emissions",
    "total_scope_2_mbm_emissions",
    "total_scope_3_lbm_emissions",
    "total_scope_3_mbm_emissions",
]
_CARBON_HEAD: list[tuple[str, pa.DataType]] = [
    ("last_refresh_timestamp", _T),
    ("location", _S),
    ("model_version", _S),
    ("payer_account_id", _S),
    ("usage_account_id", _S),
    ("product_code", _S),
    ("region_code", _S),
    ("usage_period_start", _T),
    ("usage_period_end", _T),
    ("total_lbm_emissions_value", _D),
    ("total_lbm_emissions_unit", _S),
    ("total_mbm_emissions_value", _D),
    ("total_mbm_emissions_unit", _S),
]
CARBON_SCHEMA_V2 = pa.schema(_CARBON_HEAD)
CARBON_SCHEMA_V3 = pa.schema(
    _CARBON_HEAD + [(f"{p}_{s}", t) for p in _SCOPE_PAIRS for s, t in (("value", _D), ("unit", _S))]
)


def build_carbon_rows(period: Month, cur: _CurMonth, seed: int) -> dict[str, list]:
    """Rows of each delivered model version for one usage period (tonnes)."""
    refreshed = period.end + dt.timedelta(days=20, hours=6, minutes=17)
    v3, v2 = [], []
    for key in sorted(cur.footprint, key=lambda k: (k[0], k[1], k[2] or "")):
        account, product_code, region = key
        kwh, embodied_kg = cur.footprint[key]
        rng = _rng(seed, "aws_carbon", period.label, *map(str, key))
        mwh = kwh * AWS_PUE / 1000 * rng.uniform(0.97, 1.03)
        lbm_factor, mbm_factor = AWS_GRID[region]
        scope1 = mwh * 0.0012
        scope2_lbm, scope2_mbm = mwh * lbm_factor, mwh * mbm_factor
        scope3_lbm = embodied_kg / 1000 + mwh * 0.06
        scope3_mbm = embodied_kg / 1000 + mwh * 0.03
        common = {
            "last_refresh_timestamp": refreshed,
            "location": AWS_REGIONS[region][1] if region else "Global",
            "payer_account_id": PAYER_ACCOUNT,
            "usage_account_id": account,
            "product_code": product_code,
            "region_code": region,
            "usage_period_start": period.start,
            "usage_period_end": period.end,
        }
        total_lbm = scope1 + scope2_lbm + scope3_lbm
        total_mbm = scope1 + scope2_mbm + scope3_mbm
        row = {**common, "model_version": "v3.0.0"}
        row.update(_tonnes("total_lbm_emissions", total_lbm))
        row.update(_tonnes("total_mbm_emissions", total_mbm))
        for name, value in zip(
            _SCOPE_PAIRS,
            (scope1, scope2_lbm, scope2_mbm, scope3_lbm, scope3_mbm),
            strict=True,
        ):
            row.update(_tonnes(name, value))
        v3.append(row)
        # The older model: totals only, and somewhat higher.
        drift = rng.uniform(1.04, 1.09)
        old = {**common, "model_version": "v2.0.0"}
        old.update(_tonnes("total_lbm_emissions", total_lbm * drift))
        old.update(_tonnes("total_mbm_emissions", total_mbm * drift))
        v2.append(old)
    return {"v3.0.0": v3, "v2.0.0": v2}


def _tonnes(prefix: str, value: float) -> dict:
    return {f"{prefix}_value": round(value, 3), f"{prefix}_unit": "MTCO2e"}


def write_carbon(out_dir: Path, period: Month, rows: list, version: str) -> Path:
    schema = CARBON_SCHEMA_V3 if version == "v3.0.0" else CARBON_SCHEMA_V2
    path = (
        out_dir
        / "aws"
        / AWS_BUCKET
        / CARBON_PREFIX
        / CARBON_EXPORT
        / "data"
        / f"model_version={version}"
        / f"usage_period={period.label}"
        / f"{CARBON_EXPORT}-00001.snappy.parquet"
    )
    _write_parquet(path, pa.Table.from_pylist(rows, schema=schema))
    return path


# --------------------------------------------------------------------------
# GCP billing export and carbon footprint
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FineTuneRun:
    """One weekly support-bot fine-tuning run on an a2-highgpu-8g VM."""

    instance: str
    start: dt.datetime
    end: dt.datetime


def plan_finetune_runs(period: Month, seed: int) -> list[FineTuneRun]:
    rng = _rng(seed, "gcp_finetune", period.label)
    runs = []
    for number in range(1, period.days + 1):
        day = period.day(number)
        if day.weekday() != 0:  # Mondays
            continue
        start = day + dt.timedelta(hours=2)
        minutes = rng.randint(9 * 60 + 30, 11 * 60)
        runs.append(
            FineTuneRun(f"ft-a2-{day:%Y%m%d}", start, start + dt.timedelta(minutes=minutes))
        )
    return runs


def _gcp_project(project_id: str) -> dict:
    number, labels = GCP_PROJECTS[project_id]
    return {
        "id": project_id,
        "number": number,
        "name": project_id,
        "labels": labels,
        "ancestry_numbers": f"/{GCP_ORG}/",
        "ancestors": [
            {"resource_name": f"projects/{number}", "display_name": project_id},
            {"resource_name": f"organizations/{GCP_ORG}", "display_name": "helio.example"},
        ],
    }


_US_CENTRAL1 = {
    "location": "us-central1",
    "country": "US",
    "region": "us-central1",
    "zone": "us-central1-a",
}
_US_MULTI = {"location": "us", "country": "US", "region": None, "zone": None}
_NO_LOCATION = {"location": None, "country": None, "region": None, "zone": None}


def _gcp_row(
    period: Month,
    rng: random.Random,
    *,
    project: str,
    service: dict,
    sku: str,
    start: dt.datetime,
    end: dt.datetime,
    cost: float,
    amount: float,
    unit: str | None,
    pricing_amount: float,
    pricing_unit: str | None,
    price: float | None,
    labels: list[dict],
    system_labels: list[dict],
    location: dict,
    credits: list[dict] | None = None,
    cost_type: str = "regular",
) -> dict:
    exported = end + dt.timedelta(
        hours=rng.randint(2, 7),
        minutes=rng.randint(0, 59),
        seconds=rng.randint(0, 59),
        microseconds=rng.randint(0, 999_999),
    )
    return {
        "billing_account_id": GCP_BILLING_ACCOUNT,
        "service": dict(service),
        "sku": {"id": _sku_id("gcp", sku) if sku != "Tax" else "", "description": sku},
        "usage_start_time": _iso_utc(start),
        "usage_end_time": _iso_utc(end),
        "project": _gcp_project(project),
        "labels": labels,
        "system_labels": system_labels,
        "location": dict(location),
        "tags": [],
        "transaction_type": "GOOGLE",
        "seller_name": None,
        "export_time": _iso_utc(exported),
        "cost": round(cost, 6),
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {
            "amount": float(amount),
            "unit": unit,
            "amount_in_pricing_units": round(float(pricing_amount), 9),
            "pricing_unit": pricing_unit,
        },
        "credits": credits or [],
        "invoice": {"month": period.compact},
        "cost_type": cost_type,
        "adjustment_info": None,
        "price": None
        if price is None
        else {
            "effective_price": price,
            "tier_start_amount": 0.0,
            "unit": pricing_unit,
            "pricing_unit_quantity": 1.0,
        },
        "cost_at_list": round(cost, 6),
    }


def _hours(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, float]]:
    """(hour start, seconds used in that hour) for every hour the span touches."""
    out, hour = [], start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        nxt = hour + dt.timedelta(hours=1)
        used = (min(end, nxt) - max(start, hour)).total_seconds()
        if used > 0:
            out.append((hour, used))
        hour = nxt
    return out


@dataclass
class _GcpMonth:
    rows: list[dict] = field(default_factory=list)
    # (project, service id, location key) -> [kWh at the IT load, embodied kg]
    footprint: dict[tuple, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )


def build_gcp_month(period: Month, runs: list[FineTuneRun], seed: int) -> _GcpMonth:
    """The billing export rows of one invoice month, ordered by usage time."""
    rng = _rng(seed, "gcp_billing", period.label)
    gcp = _GcpMonth()
    ft_labels = [{"key": "ai-system", "value": "support-bot-finetune"}]

    def spec(machine: str, cores: int, memory_mib: int) -> list[dict]:
        return [
            {"key": "compute.googleapis.com/cores", "value": str(cores)},
            {"key": "compute.googleapis.com/machine_spec", "value": machine},
            {"key": "compute.googleapis.com/memory", "value": str(memory_mib)},
        ]

    a2_spec = spec("a2-highgpu-8g", A2_VCPUS, A2_RAM_GIB * 1024)
    e2_spec = spec("e2-standard-4", E2_VCPUS, E2_RAM_GIB * 1024)
    timeline: list[tuple[dt.datetime, int, dict]] = []
    order = 0

    def add(start: dt.datetime, row: dict) -> None:
        nonlocal order
        timeline.append((start, order, row))
        order += 1

    for run in runs:
        for hour, seconds in _hours(run.start, run.end):
            end, hours = hour + dt.timedelta(hours=1), seconds / 3600
            common = {
                "project": "helio-ml-prod",
                "service": GCE,
                "start": hour,
                "end": end,
                "labels": ft_labels,
                "system_labels": a2_spec,
                "location": _US_CENTRAL1,
            }
            add(
                hour,
                _gcp_row(
                    period,
                    rng,
                    sku=SKU_A100,
                    cost=A2_GPUS * hours * PRICE_A100_GPU_H,
                    amount=A2_GPUS * seconds,
                    unit="seconds",
                    pricing_amount=A2_GPUS * hours,
                    pricing_unit="hour",
                    price=PRICE_A100_GPU_H,
                    **common,
                ),
            )
            add(
                hour,
                _gcp_row(
                    period,
                    rng,
                    sku=SKU_A2_CORE,
                    cost=A2_VCPUS * hours * PRICE_A2_CORE_H,
                    amount=A2_VCPUS * seconds,
                    unit="seconds",
                    pricing_amount=A2_VCPUS * hours,
                    pricing_unit="hour",
                    price=PRICE_A2_CORE_H,
                    **common,
                ),
            )
            add(
                hour,
                _gcp_row(
                    period,
                    rng,
                    sku=SKU_A2_RAM,
                    cost=A2_RAM_GIB * hours * PRICE_A2_RAM_GIB_H,
                    amount=A2_RAM_GIB * GIB * seconds,
                    unit="byte-seconds",
                    pricing_amount=A2_RAM_GIB * hours,
                    pricing_unit="gibibyte hour",
                    price=PRICE_A2_RAM_GIB_H,
                    **common,
                ),
            )
            energy = gcp.footprint[("helio-ml-prod", GCE["id"], "us-central1")]
            energy[0] += A2_KW * hours
            energy[1] += A2_EMBODIED_KG_H * hours

    for number in range(1, period.days + 1):
        day = period.day(number)
        # The fine-tuning datasets and checkpoints (about 3 TiB, labelled).
        tib = 3.0 + 0.05 * number / period.days + rng.uniform(-0.01, 0.01)
        gib_month = tib * 1024 / period.days
        add(
            day,
            _gcp_row(
                period,
                rng,
                project="helio-ml-prod",
                service=GCS,
                sku=SKU_GCS_STANDARD,
                start=day,
                end=day + dt.timedelta(days=1),
                cost=gib_month * PRICE_GCS_GIB_MONTH,
                amount=tib * 1024 * GIB * 86400,
                unit="byte-seconds",
                pricing_amount=gib_month,
                pricing_unit="gibibyte month",
                price=PRICE_GCS_GIB_MONTH,
                labels=ft_labels,
                system_labels=[],
                location=_US_MULTI,
            ),
        )
        energy = gcp.footprint[("helio-ml-prod", GCS["id"], "us")]
        energy[0] += S3_KWH_PER_TB_MONTH * tib / period.days
        energy[1] += S3_EMBODIED_KG_PER_TB_MONTH * tib / period.days
        # helio-web: two e2-standard-4 VMs, no ai-system label. Sustained-use
        # credits start once a quarter of the month has been used.
        for hour_of_day in range(24):
            hour = day + dt.timedelta(hours=hour_of_day)
            discounted = number > period.days // 4
            for sku, qty, price, unit, pricing_unit, amount in (
                (
                    SKU_E2_CORE,
                    WEB_VMS * E2_VCPUS,
                    PRICE_E2_CORE_H,
                    "seconds",
                    "hour",
                    WEB_VMS * E2_VCPUS * 3600.0,
                ),
                (
                    SKU_E2_RAM,
                    WEB_VMS * E2_RAM_GIB,
                    PRICE_E2_RAM_GIB_H,
                    "byte-seconds",
                    "gibibyte hour",
                    float(WEB_VMS * E2_RAM_GIB * GIB * 3600),
                ),
            ):
                cost = qty * price
                credits = (
                    [
                        {
                            "name": "Sustained Usage Discount",
                            "amount": -round(cost * 0.2, 6),
                            "full_name": None,
                            "id": f"sustained-usage-discount-{_digest('sud', sku)[:8]}",
                            "type": "SUSTAINED_USAGE_DISCOUNT",
                        }
                    ]
                    if discounted
                    else []
                )
                add(
                    hour,
                    _gcp_row(
                        period,
                        rng,
                        project="helio-web",
                        service=GCE,
                        sku=sku,
                        start=hour,
                        end=hour + dt.timedelta(hours=1),
                        cost=cost,
                        amount=amount,
                        unit=unit,
                        pricing_amount=qty,
                        pricing_unit=pricing_unit,
                        price=price,
                        labels=[{"key": "team", "value": "web"}],
                        system_labels=e2_spec,
                        location=_US_CENTRAL1,
                        credits=credits,
                    ),
                )
        energy = gcp.footprint[("helio-web", GCE["id"], "us-central1")]
        energy[0] += WEB_VMS * E2_KW * 24
        energy[1] += WEB_VMS * E2_EMBODIED_KG_H * 24

    timeline.sort(key=lambda item: (item[0], item[1]))
    gcp.rows = [row for _, _, row in timeline]
    # Monthly tax, one row per project.
    for project in sorted(GCP_PROJECTS):
        subtotal = sum(
            row["cost"] + sum(c["amount"] for c in row["credits"])
            for row in gcp.rows
            if row["project"]["id"] == project
        )
        gcp.rows.append(
            _gcp_row(
                period,
                rng,
                project=project,
                service={"id": "", "description": "Invoice"},
                sku="Tax",
                start=period.end - dt.timedelta(hours=1),
                end=period.end,
                cost=subtotal * 0.05,
                amount=0.0,
                unit=None,
                pricing_amount=0.0,
                pricing_unit=None,
                price=None,
                labels=[],
                system_labels=[],
                location=_NO_LOCATION,
                cost_type="tax",
            )
        )
    return gcp


def build_gcp_carbon_rows(period: Month, gcp: _GcpMonth, seed: int) -> list[dict]:
    """carbon_footprint rows (kg CO2e) per project x service x location."""
    rows = []
    for key in sorted(gcp.footprint):
        project, service_id, location = key
        kwh, embodied_kg = gcp.footprint[key]
        rng = _rng(seed, "gcp_carbon", period.label, *key)
        facility_kwh = kwh * GCP_PUE * rng.uniform(0.97, 1.03)
        scope1 = facility_kwh * 0.0015
        scope2_lb = facility_kwh * GCP_GRID_KG_KWH[0]
        scope2_mb = facility_kwh * GCP_GRID_KG_KWH[1]
        scope3 = embodied_kg + facility_kwh * 0.03
        service = GCE if service_id == GCE["id"] else GCS
        rows.append(
            {
                "billing_account_id": GCP_BILLING_ACCOUNT,
                "project": {"number": GCP_PROJECTS[project][0], "id": project},
                "service": dict(service),
                "location": {
                    "location": location,
                    "region": location if location != "us" else None,
                },
                "usage_month": period.start.date().isoformat(),
                "carbon_footprint_kgCO2e": {
                    "scope1": round(scope1, 6),
                    "scope2": {
                        "location_based": round(scope2_lb, 6),
                        "market_based": round(scope2_mb, 6),
                    },
                    "scope3": round(scope3, 6),
                },
                "carbon_footprint_total_kgCO2e": {
                    "location_based": round(scope1 + scope2_lb + scope3, 6),
                    "market_based": round(scope1 + scope2_mb + scope3, 6),
                },
                "carbon_model_version": GCP_CARBON_MODEL_VERSION,
            }
        )
    return rows


# --------------------------------------------------------------------------
# Slurm (hpc1) and MLflow
# --------------------------------------------------------------------------

SACCT_FIELDS = [
    "JobID",
    "JobName",
    "User",
    "Account",
    "Partition",
    "State",
    "Start",
    "End",
    "ElapsedRaw",
    "AllocTRES",
    "ConsumedEnergyRaw",
    "NodeList",
]
TRES_A100_4N = "billing=256,cpu=256,gres/gpu:a100=32,gres/gpu=32,mem=2000G,node=4"
TRES_H100_2N = "billing=224,cpu=224,gres/gpu:h100=16,gres/gpu=16,mem=4000G,node=2"
TRES_GPU1 = {
    "gpu-a100": "billing=8,cpu=8,gres/gpu:a100=1,gres/gpu=1,mem=64G,node=1",
    "gpu-h100": "billing=14,cpu=14,gres/gpu:h100=1,gres/gpu=1,mem=250G,node=1",
}
GPU_NODES = {
    "gpu-a100": ["gpu-a01", "gpu-a02", "gpu-a03", "gpu-a04"],
    "gpu-h100": ["gpu-h01", "gpu-h02"],
}
PRETRAIN_USER, EVAL_USER = "akoch", "lwang"
CANCELLED_BY_UID = 1234
# The H100 nodes arrived in February 2025 (config: hpc1-h100-nodes); retraining
# moved to them in March. Energy accounting was switched on in May.
H100_FROM, ENERGY_FROM = Month(2025, 3), Month(2025, 5)
# Failed attempt kinds by calendar month (otherwise a plain FAILED).
FAILURE_OF_MONTH = {3: "NODE_FAIL", 6: f"CANCELLED by {CANCELLED_BY_UID}", 9: "TIMEOUT"}


@dataclass
class SlurmJob:
    """One line of ``sacct -X``: a job, an array task or a het component."""

    group: str  # jobs of one group share a job id (array tasks, het components)
    name: str
    user: str
    account: str
    partition: str
    state: str
    start: dt.datetime
    end: dt.datetime | None  # None while RUNNING
    tres: str
    nodelist: str
    gpus: int = 0
    watts_per_gpu: float = 0.0  # > 0: ConsumedEnergyRaw is recorded
    array_task: int | None = None
    het_component: int | None = None
    attempt: int = 0  # > 0: a helio-lm-pretrain run logged to MLflow
    job_id: str = ""


def _at(day: dt.datetime, rng: random.Random, first_hour: int, last_hour: int) -> dt.datetime:
    return day + dt.timedelta(
        hours=rng.randint(first_hour, last_hour),
        minutes=rng.randint(0, 59),
        seconds=rng.randint(0, 59),
    )


def _pretrain_jobs(
    period: Month, seed: int, snapshot: dt.datetime, is_last: bool
) -> list[SlurmJob]:
    rng = _rng(seed, "slurm_pretrain", period.label)
    partition = "gpu-h100" if period >= H100_FROM else "gpu-a100"
    tres, gpus = (TRES_H100_2N, 16) if partition == "gpu-h100" else (TRES_A100_4N, 32)
    nodes = "gpu-h[01-02]" if partition == "gpu-h100" else "gpu-a[01-04]"
    metered = period >= ENERGY_FROM
    name = f"helio-lm-pretrain-{period.label}"
    group = f"pretrain-{period.label}"
    jobs: list[SlurmJob] = []
    clock = _at(period.day(1), rng, 6, 9)
    failures = rng.randint(1, 2)
    for attempt in range(1, failures + 2):
        if attempt <= failures:
            state = FAILURE_OF_MONTH.get(period.month, "FAILED") if attempt == 1 else "FAILED"
            if state == "TIMEOUT":
                elapsed = dt.timedelta(hours=12, seconds=rng.randint(20, 90))
            elif state == "NODE_FAIL":
                elapsed = dt.timedelta(minutes=rng.randint(6 * 60, 20 * 60))
            elif state.startswith("CANCELLED"):
                elapsed = dt.timedelta(minutes=rng.randint(30, 180))
            else:
                elapsed = dt.timedelta(minutes=rng.randint(60, 300))
        else:
            state, elapsed = "COMPLETED", dt.timedelta(minutes=rng.randint(48 * 60, 90 * 60))
        end = clock + elapsed
        jobs.append(
            SlurmJob(
                group=f"{group}-{attempt}",
                name=name,
                user=PRETRAIN_USER,
                account="ml-research",
                partition=partition,
                state=state,
                start=clock,
                end=end,
                tres=tres,
                nodelist=nodes,
                gpus=gpus,
                watts_per_gpu=rng.uniform(300, 450) if metered else 0.0,
                attempt=attempt,
            )
        )
        clock = end + dt.timedelta(minutes=rng.randint(20, 120))
    # Evaluations of the new model, one GPU each.
    for number in range(1, rng.randint(2, 3) + 1):
        start = clock + dt.timedelta(minutes=rng.randint(10, 180))
        end = start + dt.timedelta(minutes=rng.randint(60, 240))
        jobs.append(
            SlurmJob(
                group=f"eval-{period.label}-{number}",
                name=f"helio-lm-eval-{period.label}-{number}",
                user=EVAL_USER,
                account="ml-research",
                partition=partition,
                state="COMPLETED",
                start=start,
                end=end,
                tres=TRES_GPU1[partition],
                nodelist=GPU_NODES[partition][number % len(GPU_NODES[partition])],
                gpus=1,
            )
        )
        clock = start
    # A long-context run that starts on the last day and ends next month (in
    # June), or is still running when the demo's snapshot is taken.
    if period.month == 6 or is_last:
        start = _at(period.day(period.days), rng, 12, 16)
        end = start + dt.timedelta(minutes=rng.randint(40 * 60, 60 * 60))
        running = end > snapshot
        jobs.append(
            SlurmJob(
                group=f"longctx-{period.label}",
                name=f"{name}-longctx",
                user=PRETRAIN_USER,
                account="ml-research",
                partition="gpu-a100",
                state="RUNNING" if running else "COMPLETED",
                start=start,
                end=None if running else end,
                tres=TRES_A100_4N,
                nodelist="gpu-a[01-04]",
                gpus=32,
                watts_per_gpu=rng.uniform(300, 450) if metered else 0.0,
                attempt=1,
            )
        )
    # A hyper-parameter sweep as a job array (April).
    if period.month == 4:
        base = _at(period.day(10), rng, 9, 12)
        for task in range(8):
            start = base + dt.timedelta(seconds=rng.randint(5, 120))
            jobs.append(
                SlurmJob(
                    group=f"sweep-{period.label}",
                    name=f"helio-lm-eval-{period.label}-sweep",
                    user=EVAL_USER,
                    account="ml-research",
                    partition=partition,
                    state="COMPLETED" if task != 5 else "FAILED",
                    start=start,
                    end=start + dt.timedelta(minutes=rng.randint(50, 110)),
                    tres=TRES_GPU1[partition],
                    nodelist=GPU_NODES[partition][task % len(GPU_NODES[partition])],
                    gpus=1,
                    array_task=task,
                )
            )
    return jobs


def _other_jobs(period: Month, seed: int) -> list[SlurmJob]:
    rng = _rng(seed, "slurm_other", period.label)
    jobs: list[SlurmJob] = []
    cases = ["wing", "pipe-flow", "heat-exchanger", "nozzle", "mixer"]
    for number in range(rng.randint(5, 9)):
        start = _at(period.day(rng.randint(1, min(28, period.days))), rng, 0, 23)
        nodes = rng.choice([1, 2, 4])
        first = rng.randint(1, 16 - nodes + 1)
        nodelist = (
            f"cpu-{first:03d}" if nodes == 1 else f"cpu-[{first:03d}-{first + nodes - 1:03d}]"
        )
        state = (
            "OUT_OF_MEMORY"
            if rng.random() < 0.08
            else ("FAILED" if rng.random() < 0.08 else "COMPLETED")
        )
        jobs.append(
            SlurmJob(
                group=f"cfd-{period.label}-{number}",
                name=f"cfd-sim-{rng.choice(cases)}-{rng.randint(1, 40):02d}",
                user=rng.choice(["tbauer", "mfischer"]),
                account="engineering",
                partition="cpu",
                state=state,
                start=start,
                end=start + dt.timedelta(minutes=rng.randint(120, 30 * 60)),
                tres=f"billing={64 * nodes},cpu={64 * nodes},mem={250 * nodes}G,node={nodes}",
                nodelist=nodelist,
            )
        )
    # A heterogeneous job (August): a solver component and a mesher component.
    if period.month == 8:
        start = _at(period.day(12), rng, 8, 10)
        end = start + dt.timedelta(minutes=rng.randint(300, 600))
        for component, (nodes, nodelist) in enumerate(((2, "cpu-[009-010]"), (1, "cpu-011"))):
            jobs.append(
                SlurmJob(
                    group=f"cfd-het-{period.label}",
                    name="cfd-sim-coupled",
                    user="tbauer",
                    account="engineering",
                    partition="cpu",
                    state="COMPLETED",
                    start=start,
                    end=end,
                    tres=f"billing={64 * nodes},cpu={64 * nodes},mem={250 * nodes}G,node={nodes}",
                    nodelist=nodelist,
                    het_component=component,
                )
            )
    # Teaching: students on single A100s; no rule claims them.
    topics = ["hw2", "hw3", "project", "cnn-lab", "rl-lab", "finetune-lab"]
    for number in range(rng.randint(8, 15)):
        start = _at(period.day(rng.randint(7, min(27, period.days))), rng, 8, 22)
        uid = rng.randint(1, 24)
        state = rng.choices(
            ["COMPLETED", "FAILED", "TIMEOUT", f"CANCELLED by {20100 + uid}"],
            weights=[75, 12, 6, 7],
        )[0]
        minutes = 120 if state == "TIMEOUT" else rng.randint(15, 180)
        jobs.append(
            SlurmJob(
                group=f"student-{period.label}-{number}",
                name=f"student-{rng.choice(topics)}",
                user=f"student{uid:02d}",
                account="teaching",
                partition="gpu-a100",
                state=state,
                start=start,
                end=start + dt.timedelta(minutes=minutes, seconds=rng.randint(0, 59)),
                tres=TRES_GPU1["gpu-a100"],
                nodelist=rng.choice(GPU_NODES["gpu-a100"]),
                gpus=1,
            )
        )
    return jobs


def plan_slurm(months: list[Month], seed: int, snapshot: dt.datetime) -> list[SlurmJob]:
    """Every job of the whole range, with job ids increasing by submission."""
    jobs: list[SlurmJob] = []
    for position, period in enumerate(months):
        jobs += _pretrain_jobs(period, seed, snapshot, position == len(months) - 1)
        jobs += _other_jobs(period, seed)
    groups: dict[str, list[SlurmJob]] = defaultdict(list)
    for job in jobs:
        groups[job.group].append(job)
    order = sorted(groups, key=lambda g: (min(j.start for j in groups[g]), g))
    rng = _rng(seed, "slurm_ids")
    next_id = 3000
    for group in order:
        next_id += rng.randint(1, 4)  # other users' jobs take ids in between
        for job in groups[group]:
            if job.array_task is not None:
                job.job_id = f"{next_id}_{job.array_task}"
            elif job.het_component is not None:
                job.job_id = f"{next_id}+{job.het_component}"
            else:
                job.job_id = str(next_id)
    return sorted(jobs, key=_job_sort_key)


def _job_sort_key(job: SlurmJob) -> tuple[int, int]:
    base = job.job_id.replace("+", "_").split("_")
    return int(base[0]), int(base[1]) if len(base) > 1 else -1


def _sacct_line(job: SlurmJob, snapshot: dt.datetime) -> str:
    end = job.end or snapshot
    elapsed = int((end - job.start).total_seconds())
    energy = int(job.watts_per_gpu * job.gpus * elapsed) if job.end else 0
    fields = [
        job.job_id,
        job.name,
        job.user,
        job.account,
        job.partition,
        job.state,
        job.start.strftime("%Y-%m-%dT%H:%M:%S"),
        job.end.strftime("%Y-%m-%dT%H:%M:%S") if job.end else "Unknown",
        str(elapsed),
        job.tres,
        str(energy),
        job.nodelist,
    ]
    return "|".join(fields)


def write_sacct(out_dir: Path, period: Month, jobs: list[SlurmJob], snapshot: dt.datetime) -> int:
    """The month's file lists every job overlapping the month."""
    lines = ["|".join(SACCT_FIELDS)]
    for job in jobs:
        if job.start < period.end and (job.end is None or job.end > period.start):
            lines.append(_sacct_line(job, snapshot))
    _write_text(
        out_dir / "slurm" / SLURM_CLUSTER / f"sacct_{period.label}.txt", "\n".join(lines) + "\n"
    )
    return len(lines) - 1


MLFLOW_STATUS = {
    "COMPLETED": "FINISHED",
    "FAILED": "FAILED",
    "NODE_FAIL": "FAILED",
    "TIMEOUT": "FAILED",
    "RUNNING": "RUNNING",
}
MLFLOW_PAGE_SIZE = 5


def _mlflow_run(
    seed: int,
    *,
    experiment_id: str,
    experiment_name: str,
    run_name: str,
    user: str,
    status: str,
    start: dt.datetime,
    end: dt.datetime | None,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
    step: int,
) -> dict:
    run_id = _digest("mlflow", seed, experiment_id, run_name, start.isoformat())[:32]
    all_tags = {
        "mlflow.experimentName": experiment_name,
        "mlflow.runName": run_name,
        "mlflow.source.type": "JOB",
        "mlflow.user": user,
        **tags,
    }
    info = {
        "run_id": run_id,
        "run_uuid": run_id,
        "experiment_id": experiment_id,
        "run_name": run_name,
        "user_id": user,
        "status": status,
        "start_time": _epoch_ms(start),
    }
    if end is not None:
        info["end_time"] = _epoch_ms(end)
    info["artifact_uri"] = f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    info["lifecycle_stage"] = "active"
    stamp = _epoch_ms(end or start)
    return {
        "info": info,
        "data": {
            "metrics": [
                {"key": k, "value": v, "timestamp": stamp, "step": step}
                for k, v in sorted(metrics.items())
            ],
            "params": [{"key": k, "value": v} for k, v in sorted(params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(all_tags.items())],
        },
    }


def build_mlflow_runs(
    period: Month, jobs: list[SlurmJob], finetunes: list[FineTuneRun], seed: int
) -> list[dict]:
    """Runs that started in the month, newest first (the search's default order)."""
    rng = _rng(seed, "mlflow", period.label)
    runs = []
    for job in jobs:
        if not job.attempt or not (period.start <= job.start < period.end):
            continue
        start = job.start + dt.timedelta(seconds=rng.randint(45, 120))
        end = None if job.end is None else job.end - dt.timedelta(seconds=rng.randint(5, 40))
        state = job.state.split()[0]
        status = "KILLED" if state == "CANCELLED" else MLFLOW_STATUS[state]
        hours = ((end or start) - start).total_seconds() / 3600
        steps = int(hours * 900)
        metrics = {
            "tokens_seen": float(steps * 4_194_304),
            "train_loss": round(2.1 - min(hours, 90) / 150 + rng.uniform(0, 0.05), 4),
        }
        if status == "FINISHED":
            metrics["eval_perplexity"] = round(rng.uniform(7.5, 9.5), 3)
        runs.append(
            _mlflow_run(
                seed,
                experiment_id="1",
                experiment_name="helio-lm-pretrain",
                run_name=f"{job.name}-attempt-{job.attempt}",
                user=job.user,
                status=status,
                start=start,
                end=end,
                params={
                    "gpus": str(job.gpus),
                    "partition": job.partition,
                    "model": "helio-lm-1.3b",
                    "global_batch_tokens": "4194304",
                    "learning_rate": "0.0003",
                },
                metrics=metrics,
                tags={"slurm_job_id": job.job_id, "slurm_cluster": SLURM_CLUSTER},
                step=steps,
            )
        )
    for run in finetunes:
        start = run.start + dt.timedelta(seconds=rng.randint(150, 300))
        end = run.end - dt.timedelta(seconds=rng.randint(120, 400))
        runs.append(
            _mlflow_run(
                seed,
                experiment_id="2",
                experiment_name="support-bot-ft",
                run_name=f"support-bot-ft-{run.start:%Y%m%d}",
                user="support-ml-ci",
                status="FINISHED",
                start=start,
                end=end,
                params={
                    "base_model": "helio-lm-1.3b",
                    "epochs": "3",
                    "accelerator": "8 x A100 40GB",
                },
                metrics={
                    "eval_loss": round(rng.uniform(0.9, 1.3), 4),
                    "train_runtime": round((end - start).total_seconds(), 1),
                },
                tags={
                    "gcp_instance": run.instance,
                    "gcp_project": "helio-ml-prod",
                    "gcp_zone": "us-central1-a",
                },
                step=3,
            )
        )
    runs.sort(key=lambda r: (-r["info"]["start_time"], r["info"]["run_id"]))
    return runs


def mlflow_pages(runs: list[dict]) -> list[dict]:
    """``runs/search`` responses: ``next_page_token`` on all but the last page."""
    if not runs:
        return [{}]
    pages = []
    for offset in range(0, len(runs), MLFLOW_PAGE_SIZE):
        page: dict = {"runs": runs[offset : offset + MLFLOW_PAGE_SIZE]}
        following = offset + MLFLOW_PAGE_SIZE
        if following < len(runs):
            token = json.dumps({"offset": following}).encode()
            page["next_page_token"] = base64.b64encode(token).decode()
        pages.append(page)
    return pages


# --------------------------------------------------------------------------
# Inference traffic
# --------------------------------------------------------------------------

# Share of a day's chat traffic by UTC hour: busy 08-20, near zero at night.
_CHAT_SHAPE = [
    0.002,
    0.0015,
    0.001,
    0.001,
    0.0015,
    0.003,
    0.1,
    0.35,
    0.85,
    1.0,
    1.05,
    1.1,
    1.1,
    1.05,
    1.1,
    1.15,
    1.1,
    1.0,
    0.95,
    0.8,
    0.3,
    0.08,
    0.01,
    0.004,
]


def build_inference_rows(period: Month, index: int, seed: int) -> list[list[str]]:
    rng = _rng(seed, "inference", period.label)
    rows = []
    total_shape = sum(_CHAT_SHAPE)
    for number in range(1, period.days + 1):
        day = period.day(number)
        weekend = day.weekday() >= 5
        daily = rng.uniform(1.9e6, 2.7e6) * (1.03**index) * (0.55 if weekend else 1.0)
        for hour in range(24):
            moment = day + dt.timedelta(hours=hour)
            requests = int(daily * _CHAT_SHAPE[hour] / total_shape * rng.uniform(0.9, 1.1))
            tokens = int(requests * rng.uniform(400, 900))
            rows.append([_iso_z(moment), "llm-chat-api", str(requests), str(tokens)])
            busy = 7 <= hour < 19 and not weekend
            search = rng.randint(30_000, 50_000) if busy else rng.randint(4_000, 9_000)
            rows.append([_iso_z(moment), "internal-search", str(search), ""])
    return rows


def write_inference(out_dir: Path, period: Month, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "service", "requests", "tokens"])
    writer.writerows(rows)
    _write_text(out_dir / "inference" / f"requests_{period.label}.csv", buffer.getvalue())


# --------------------------------------------------------------------------
# Azure: FOCUS cost export and Emissions Impact Dashboard export
# --------------------------------------------------------------------------

AZURE_SUBSCRIPTION = "4f7c2a10-9b3e-4d5a-8c61-2e0f1b7a9d35"
AZURE_SUBSCRIPTION_NAME = "helio-ml-azure"
AZURE_BILLING_ACCOUNT = "/providers/Microsoft.Billing/billingAccounts/73194820"
AZURE_ENROLLMENT = "73194820"
AZURE_REGION = ("westeurope", "West Europe")
AZURE_RESOURCE_GROUP = "/subscriptions/" + AZURE_SUBSCRIPTION + "/resourcegroups/ml-weu"
# Pay-as-you-go list prices, USD.
AZURE_NC24_PER_HOUR = 3.673  # Standard_NC24ads_A100_v4
AZURE_T4_PER_HOUR = 0.526  # Standard_NC4as_T4_v3
AZURE_LRS_PER_GB_MONTH = 0.0184
AZURE_EMBEDDINGS_GB = 2048
# Emissions the dashboard reports for the month (mtCO2e), from the month's
# usage: a VM's draw (kW) x hours x PUE x grid (kgCO2e/kWh) / 1000, plus the
# storage; Scope 3 and Scope 1 as shares of Scope 2. The demo's stand-in for
# Microsoft's own model, which is not public.
AZURE_KW = {"Standard_NC24ads_A100_v4": 0.45, "Standard_NC4as_T4_v3": 0.12}
AZURE_STORAGE_KWH_PER_GB_MONTH = 0.003  # about 1.4 W per TB, three LRS replicas
AZURE_PUE_GRID = 1.17 * 0.30
AZURE_SCOPE_SHARES = {1: 0.004, 2: 1.0, 3: 0.42}
# The dashboard publishes a month by the 19th of the next: the last one is not out yet.
AZURE_EMISSIONS_UNPUBLISHED_MONTHS = 1
DOC_EMBED_TAGS = {"ai-system": "doc-embed-api", "team": "search"}

FOCUS_AZURE_COLUMNS = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuMeter",
    "SubAccountId",
    "SubAccountName",
    "Tags",
]


@dataclass
class _AzureMonth:
    """The month's FOCUS rows and the usage the emissions export is derived from."""

    rows: list[dict] = field(default_factory=list)
    vm_hours: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    storage_gb_months: float = 0.0


def build_azure_month(period: Month, seed: int) -> _AzureMonth:
    """Daily FOCUS rows: two tagged A100 VMs serving ``doc-embed-api`` around the
    clock, an untagged T4 experiments VM on weekdays, the embeddings' storage."""
    rng = _rng(seed, "azure", period.label)
    month = _AzureMonth()

    def row(day: dt.datetime, resource: str, kind: str, quantity: float, price: float, **over):
        cost = round(quantity * price, 6)
        values = {
            "BilledCost": cost,
            "BillingAccountId": AZURE_BILLING_ACCOUNT,
            "BillingAccountName": "Helio Labs",
            "BillingCurrency": "USD",
            "BillingPeriodEnd": _iso_z(period.end),
            "BillingPeriodStart": _iso_z(period.start),
            "ChargeCategory": "Usage",
            "ChargeClass": None,
            "ChargeFrequency": "Usage-Based",
            "ChargePeriodEnd": _iso_z(day + dt.timedelta(days=1)),
            "ChargePeriodStart": _iso_z(day),
            "ConsumedQuantity": round(quantity, 6),
            "ContractedCost": cost,
            "EffectiveCost": cost,
            "InvoiceIssuerName": "Microsoft",
            "ListCost": cost,
            "ListUnitPrice": price,
            "PricingCategory": "Standard",
            "PricingQuantity": round(quantity, 6),
            "ProviderName": "Microsoft",
            "PublisherName": "Microsoft",
            "RegionId": AZURE_REGION[0],
            "RegionName": AZURE_REGION[1],
            "ResourceId": f"{AZURE_RESOURCE_GROUP}/providers/{kind}/{resource}",
            "ResourceName": resource,
            "SubAccountId": f"/subscriptions/{AZURE_SUBSCRIPTION}",
            "SubAccountName": AZURE_SUBSCRIPTION_NAME,
        }
        values.update(over)
        month.rows.append(values)

    def vm(day, name: str, size: str, hours: float, price: float, tags: dict) -> None:
        meter = size.removeprefix("Standard_").replace("_", " ")
        row(
            day,
            name,
            "microsoft.compute/virtualmachines",
            hours,
            price,
            ChargeDescription=f"{meter} - {AZURE_REGION[1]}",
            ConsumedUnit="Hours",
            PricingUnit="1 Hour",
            ResourceType="Virtual machine",
            ServiceCategory="Compute",
            ServiceName="Virtual Machines",
            SkuId=_sku_id("azure", size),
            SkuMeter=meter,
            Tags=json.dumps(tags, sort_keys=True),
        )
        month.vm_hours[size] += hours

    for number in range(1, period.days + 1):
        day = period.day(number)
        for replica in (1, 2):
            size = "Standard_NC24ads_A100_v4"
            vm(day, f"doc-embed-{replica}", size, 24.0, AZURE_NC24_PER_HOUR, DOC_EMBED_TAGS)
        if day.weekday() < 5:
            hours = float(rng.randint(2, 10))
            vm(
                day,
                "exp-t4-1",
                "Standard_NC4as_T4_v3",
                hours,
                AZURE_T4_PER_HOUR,
                {"team": "research"},
            )
        gb_months = AZURE_EMBEDDINGS_GB / period.days
        row(
            day,
            "docembedstore",
            "microsoft.storage/storageaccounts",
            gb_months,
            AZURE_LRS_PER_GB_MONTH,
            ChargeDescription="Hot LRS Data Stored",
            ConsumedUnit="GB/Month",
            PricingUnit="1 GB/Month",
            ResourceType="Storage account",
            ServiceCategory="Storage",
            ServiceName="Storage Accounts",
            SkuId=_sku_id("azure", "hot-lrs"),
            SkuMeter="Hot LRS Data Stored",
            Tags=json.dumps(DOC_EMBED_TAGS, sort_keys=True),
        )
        month.storage_gb_months += gb_months
    return month


def write_azure_focus(out_dir: Path, period: Month, azure: _AzureMonth) -> Path:
    """One FOCUS 1.0 export run, as Cost Management writes it: gzip CSV and a manifest."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, FOCUS_AZURE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(azure.rows)
    folder = out_dir / "focus" / "azure" / f"BILLING_PERIOD={period.label}"
    data = folder / "part_0_0001.csv.gz"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0))
    manifest = {
        "exportConfig": {"exportName": "helio-focus", "type": "FocusCost", "dataVersion": "1.0"},
        "runInfo": {
            "runId": _uuid("azure-focus", period.label),
            "submittedTime": _iso_z(period.end),
        },
        "blobs": [{"blobName": data.name, "byteCount": data.stat().st_size}],
    }
    _write_text(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return data


def build_azure_emissions_rows(period: Month, azure: _AzureMonth) -> list[dict]:
    """The month's EnrollmentEmission rows: service x scope, mtCO2e."""
    services = {
        ("Virtual Machines", "NCadsA100v4 and NCasT4v3 Series"): sum(
            AZURE_KW[size] * hours for size, hours in sorted(azure.vm_hours.items())
        ),
        ("Storage", "Hot LRS"): azure.storage_gb_months * AZURE_STORAGE_KWH_PER_GB_MONTH,
    }
    rows = []
    for (service, sub_service), kwh in services.items():
        scope2_t = kwh * AZURE_PUE_GRID / 1000
        for scope_id, share in AZURE_SCOPE_SHARES.items():
            rows.append(
                {
                    "dateKey": f"{period.compact}01",
                    "enrollmentId": AZURE_ENROLLMENT,
                    "subscriptionId": AZURE_SUBSCRIPTION,
                    "subscriptionName": AZURE_SUBSCRIPTION_NAME,
                    "azureServiceName": service,
                    "subService": sub_service,
                    "azureRegionName": AZURE_REGION[1],
                    "scope": f"Scope {scope_id}",
                    "scopeId": scope_id,
                    "totalEmissions": f"{scope2_t * share:.6f}",  # as the export writes it
                }
            )
    return rows


def write_azure_emissions(out_dir: Path, periods: list[Month], rows: list[dict]) -> Path:
    """The dashboard's history export: every published month in one CSV."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    name = f"EnrollmentEmission_{periods[0].compact}01_{periods[-1].compact}01.csv"
    path = out_dir / "azure" / "emissions_export" / name
    _write_text(path, buffer.getvalue())
    return path


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

# The folders this generator owns under out_dir; each run replaces them whole.
GENERATED_DIRS = [
    Path("aws") / AWS_BUCKET / CUR_PREFIX / CUR_EXPORT,
    Path("aws") / AWS_BUCKET / CARBON_PREFIX / CARBON_EXPORT,
    Path("gcp") / GCP_PROJECT / GCP_DATASET,
    Path("slurm") / SLURM_CLUSTER,
    Path("mlflow"),
    Path("inference"),
    Path("azure") / "emissions_export",
    Path("focus") / "azure",
]
# Publication lags at the snapshot (the end of the last generated month).
AWS_CARBON_UNPUBLISHED_MONTHS = 2
GCP_CARBON_UNPUBLISHED_MONTHS = 1
# After the v2 -> v3 model change, both versions cover the first three months.
AWS_CARBON_DUAL_VERSION_MONTHS = 3


def generate(
    out_dir: Path, start_month: str = "2025-01", months: int = 12, seed: int = 20250101
) -> None:
    """Write Helio Labs' sources for ``months`` months from ``start_month``."""
    _generate(Path(out_dir), start_month, months, seed)


def _generate(out_dir: Path, start_month: str, months: int, seed: int) -> dict[str, int]:
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    first = Month.parse(start_month)
    periods = [first.shift(n) for n in range(months)]
    snapshot = periods[-1].end
    for relative in GENERATED_DIRS:
        shutil.rmtree(out_dir / relative, ignore_errors=True)

    counts: dict[str, int] = defaultdict(int)
    azure_emissions: list[dict] = []
    azure_published: list[Month] = []
    jobs = plan_slurm(periods, seed, snapshot)
    gcp_billing_dir = (
        out_dir
        / "gcp"
        / GCP_PROJECT
        / GCP_DATASET
        / f"gcp_billing_export_v1_{GCP_BILLING_ACCOUNT.replace('-', '_')}"
    )
    gcp_carbon_dir = out_dir / "gcp" / GCP_PROJECT / GCP_DATASET / "carbon_footprint"
    for index, period in enumerate(periods):
        remaining = len(periods) - 1 - index

        cur = build_cur_month(period, index, seed)
        counts["aws_cur_files"] += len(write_cur(out_dir, period, cur, seed))
        counts["aws_cur_rows"] += len(cur.rows)

        if remaining >= AWS_CARBON_UNPUBLISHED_MONTHS:
            versions = build_carbon_rows(period, cur, seed)
            write_carbon(out_dir, period, versions["v3.0.0"], "v3.0.0")
            counts["aws_carbon_rows_v3"] += len(versions["v3.0.0"])
            if index < AWS_CARBON_DUAL_VERSION_MONTHS:
                write_carbon(out_dir, period, versions["v2.0.0"], "v2.0.0")
                counts["aws_carbon_rows_v2"] += len(versions["v2.0.0"])

        finetunes = plan_finetune_runs(period, seed)
        gcp = build_gcp_month(period, finetunes, seed)
        _write_jsonl(gcp_billing_dir / f"invoice_month={period.compact}.jsonl", gcp.rows)
        counts["gcp_billing_rows"] += len(gcp.rows)
        if remaining >= GCP_CARBON_UNPUBLISHED_MONTHS:
            carbon = build_gcp_carbon_rows(period, gcp, seed)
            _write_jsonl(gcp_carbon_dir / f"usage_month={period.label}.jsonl", carbon)
            counts["gcp_carbon_rows"] += len(carbon)

        counts["slurm_lines"] += write_sacct(out_dir, period, jobs, snapshot)

        runs = build_mlflow_runs(period, jobs, finetunes, seed)
        _write_text(
            out_dir / "mlflow" / f"runs_{period.label}.json",
            json.dumps(mlflow_pages(runs), indent=1) + "\n",
        )
        counts["mlflow_runs"] += len(runs)

        inference = build_inference_rows(period, index, seed)
        write_inference(out_dir, period, inference)
        counts["inference_rows"] += len(inference)

        azure = build_azure_month(period, seed)
        write_azure_focus(out_dir, period, azure)
        counts["azure_focus_rows"] += len(azure.rows)
        if remaining >= AZURE_EMISSIONS_UNPUBLISHED_MONTHS:
            azure_emissions += build_azure_emissions_rows(period, azure)
            azure_published.append(period)
    if azure_emissions:
        write_azure_emissions(out_dir, azure_published, azure_emissions)
        counts["azure_emissions_rows"] = len(azure_emissions)
    counts["slurm_jobs"] = len(jobs)
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m extractors.demo.generate",
        description="Write the demo organisation Helio Labs' sources (deterministic).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".demo/sources"),
        help="sources folder to (re)write (default: .demo/sources)",
    )
    parser.add_argument("--start", default="2025-01", help="first month, YYYY-MM")
    parser.add_argument("--months", type=int, default=12, help="number of months")
    parser.add_argument("--seed", type=int, default=20250101, help="random seed")
    args = parser.parse_args(argv)
    try:
        counts = _generate(args.out, args.start, args.months, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for name, value in sorted(counts.items()):
        print(f"{name}: {value}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
