"""The pandas baseline of the benchmark: the warehouse's cloud estimation, as a user writes it.

Reads the landed CUR 2.0 Parquet of the given months with ``pd.read_parquet``,
attributes each line item to an AI system by its ``ai-system`` tag (the
config's rules, first match wins), classifies usage types with the LIKE
patterns of the ``cloud_usage_types`` seed, merges the instance, GPU-power and
coefficient seeds, and computes, as methodology.md sections 2-4 do for the
bottom-up cloud estimate:

    IT kWh = GPU-hours x (idle + u x (max - idle)) / 1000
           + vCPU-hours x (min + u x (max - min)) / 1000
           + GB-hours x kWh/GB-h  (memory)
           + TB-hours x Wh/TB-h x replication / 1000  (storage)
           + GB x kWh/GB  (network)
    kgCO2e = IT kWh x PUE (provider fleet, year) x grid factor (region's zone, year)

then groups by system x month x activity. A fair user: usage types are
classified once per distinct value and merged back; tags go through
``Series.map`` row by row, as map columns arrive in pandas as lists of tuples.

    python bench/pandas_baseline.py --landing L --seeds dbt_project/seeds \
        --config config/org.example.yml --months 2025-01,2025-02

Prints one JSON line: rows, seconds (after imports), total kgCO2e and kWh
(location-based, facility overhead included), groups. Never writes anything.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import resource
import time
from pathlib import Path

import pandas as pd
import yaml

COLUMNS = [
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_amount",
    "pricing_unit",
    "line_item_unblended_cost",
    "product_instance_type",
    "product_region_code",
    "resource_tags",
    "bill_billing_period_start_date",
]
USAGE_LINE_TYPES = ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]


def like_to_regex(pattern: str) -> str:
    import re

    return "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"


def preferred_year(
    factors: pd.DataFrame, keys: list[str], years: pd.Series, preferences: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Per key and activity year: the latest factor year not after it, else the earliest;
    ``preferences`` (columns, False first) rank between those two rules."""
    out = factors.merge(pd.DataFrame({"activity_year": years.unique()}), how="cross")
    out["after"] = out["year"] > out["activity_year"]
    out["rank_year"] = out["year"].where(out["after"], -out["year"])
    out = out.sort_values([*keys, "activity_year", "after", *preferences, "rank_year"])
    return out.drop_duplicates([*keys, "activity_year"])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--months", required=True)
    args = parser.parse_args()
    started, cpu_started = time.perf_counter(), cpu_seconds()

    files = [
        path
        for month in args.months.split(",")
        for path in sorted(
            (args.landing / "aws_cur" / "line_items").glob(f"month={month}/*.parquet")
        )
    ]
    df = pd.concat([pd.read_parquet(path, columns=COLUMNS) for path in files], ignore_index=True)
    rows = len(df)

    config = yaml.safe_load(args.config.read_text())
    methodology = config.get("methodology", {})
    gpu_utilisation = float(methodology.get("gpu_utilisation_default", 0.5))
    factor_set = methodology.get("grid_factor_set", "default")
    rules = [
        (system["id"], key, pattern)
        for system in config["systems"]
        for key, patterns in system.get("match", {}).get("aws_tag", {}).items()
        for pattern in ([patterns] if isinstance(patterns, str) else patterns)
    ]

    def system_of(tags) -> str:
        values = dict(tags) if tags is not None else {}
        for system, key, pattern in rules:
            value = values.get("user_" + key, values.get(key))
            if value is not None and fnmatch.fnmatchcase(value, pattern):
                return system
        return "unattributed"

    df["system_id"] = df["resource_tags"].map(system_of)
    df["month"] = df["bill_billing_period_start_date"].dt.to_period("M").dt.to_timestamp()
    df["year"] = df["month"].dt.year
    df["region_code"] = df["product_region_code"].fillna("global").str.lower()
    df["unit"] = df["pricing_unit"].str.lower()
    df = df[
        df["line_item_line_item_type"].isin(USAGE_LINE_TYPES) & (df["line_item_usage_amount"] > 0)
    ].copy()

    # Usage types: classified once per distinct value, then merged back.
    usage_types = pd.read_csv(args.seeds / "cloud_usage_types.csv")
    usage_types = usage_types[usage_types["provider"] == "aws"].sort_values("priority")
    distinct = pd.DataFrame({"line_item_usage_type": df["line_item_usage_type"].dropna().unique()})
    distinct["activity"] = None
    for column in ("storage_media", "replication_class", "network_class"):
        distinct[column] = None
    for _, rule in usage_types.iterrows():
        hit = distinct["activity"].isna() & distinct["line_item_usage_type"].str.match(
            like_to_regex(rule["like_pattern"])
        )
        for column in ("activity", "storage_media", "replication_class", "network_class"):
            distinct.loc[hit, column] = rule[column]
    df = df.merge(distinct, on="line_item_usage_type", how="left")

    coefficients = pd.read_csv(args.seeds / "cloud_usage_coefficients.csv")
    coefficients = coefficients[coefficients["provider"].isin(["aws", "*"])]
    coefficients = coefficients.assign(own=coefficients["provider"] == "aws").sort_values(
        "own", ascending=False
    )
    coefficients = coefficients.drop_duplicates(["coefficient", "qualifier"])

    def coefficient(name: str, qualifier: str = "*") -> float:
        row = coefficients[
            (coefficients["coefficient"] == name) & (coefficients["qualifier"] == qualifier)
        ]
        return float(row["value"].iloc[0])

    vcpu_w = coefficient("min_watts_per_vcpu") + coefficient("cpu_utilisation") * (
        coefficient("max_watts_per_vcpu") - coefficient("min_watts_per_vcpu")
    )
    memory_kwh = coefficient("memory_kwh_per_gb_hour")

    instances = pd.read_csv(args.seeds / "instance_types.csv")
    instances = instances[instances["provider"] == "aws"][
        ["instance_type", "vcpus", "memory_gb", "gpus", "gpu_model"]
    ]
    gpu_power = pd.read_csv(args.seeds / "gpu_power.csv")[["gpu_model", "idle_w", "max_w"]]
    instances = instances.merge(gpu_power, on="gpu_model", how="left")
    instances["gpu_w"] = instances["idle_w"] + gpu_utilisation * (
        instances["max_w"] - instances["idle_w"]
    )
    df = df.merge(instances, left_on="product_instance_type", right_on="instance_type", how="left")

    hours = df["line_item_usage_amount"].where(df["unit"].isin(["hrs", "hour", "hours"]))
    is_instance = (df["activity"] == "instance") & df["instance_type"].notna()
    df["gpu_kwh"] = (hours * df["gpus"] * df["gpu_w"] / 1000).where(is_instance & (df["gpus"] > 0))
    df["cpu_kwh"] = (hours * df["vcpus"] * vcpu_w / 1000).where(is_instance)
    df["memory_kwh"] = (hours * df["memory_gb"] * memory_kwh).where(is_instance)

    days = df["month"].dt.days_in_month
    gb_hours = df["line_item_usage_amount"] * 24 * days
    gb_hours = gb_hours.where(df["unit"].isin(["gb-mo", "gibibyte month"]))
    media = coefficients[coefficients["coefficient"] == "storage_wh_per_tb_hour"]
    wh_per_tb = df["storage_media"].map(dict(zip(media["qualifier"], media["value"], strict=True)))
    replication = coefficients[coefficients["coefficient"] == "replication_factor"]
    factors = dict(zip(replication["qualifier"], replication["value"], strict=True))
    replication_factor = df["replication_class"].map(factors).fillna(factors["DEFAULT"])
    df["storage_kwh"] = (gb_hours / 1024 * wh_per_tb * replication_factor / 1000).where(
        df["activity"] == "storage"
    )
    network = coefficients[coefficients["coefficient"] == "network_kwh_per_gb"]
    kwh_per_gb = df["network_class"].map(
        dict(zip(network["qualifier"], network["value"], strict=True))
    )
    gb = df["line_item_usage_amount"].where(df["unit"].isin(["gb", "gibibyte"]))
    df["network_kwh"] = (gb * kwh_per_gb).where(df["activity"] == "network")

    parts = ["gpu_kwh", "cpu_kwh", "memory_kwh", "storage_kwh", "network_kwh"]
    long = df.melt(
        id_vars=["system_id", "month", "year", "region_code"],
        value_vars=parts,
        var_name="activity_part",
        value_name="it_kwh",
    ).dropna(subset=["it_kwh"])

    pue = pd.read_csv(args.seeds / "pue.csv")
    pue = pue[(pue["provider"] == "aws")]
    region_pue = preferred_year(pue, ["region_code"], long["year"])
    fleet = region_pue[region_pue["region_code"] == "*"][["activity_year", "pue"]]
    long = long.merge(fleet, left_on="year", right_on="activity_year", how="left")
    own = region_pue[region_pue["region_code"] != "*"][["region_code", "activity_year", "pue"]]
    if len(own):
        long = long.merge(
            own.rename(columns={"pue": "region_pue"}),
            on=["region_code", "activity_year"],
            how="left",
        )
        long["pue"] = long["region_pue"].fillna(long["pue"])

    regions = pd.read_csv(args.seeds / "cloud_regions.csv")
    regions = regions[regions["provider"] == "aws"][["region_code", "grid_zone"]]
    long = long.merge(regions, on="region_code", how="left")
    grid = pd.read_csv(args.seeds / "grid_intensity.csv")
    grid = grid[grid["factor_set"].isin([factor_set, "default"])].copy()
    grid["preferred_set"] = grid["factor_set"] != factor_set  # False sorts first
    grid = preferred_year(grid, ["grid_zone"], long["year"], ("preferred_set",))[
        ["grid_zone", "activity_year", "kg_co2e_per_kwh"]
    ]
    long = long.drop(columns=["activity_year"]).merge(
        grid, left_on=["grid_zone", "year"], right_on=["grid_zone", "activity_year"], how="left"
    )
    long["energy_kwh"] = long["it_kwh"] * long["pue"]
    long["kg_co2e"] = long["energy_kwh"] * long["kg_co2e_per_kwh"]
    result = long.groupby(["system_id", "month", "activity_part"], as_index=False)[
        ["energy_kwh", "kg_co2e"]
    ].sum()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "kg_co2e": float(result["kg_co2e"].sum()),
                "energy_kwh": float(result["energy_kwh"].sum()),
                "groups": len(result),
            }
        )
    )


if __name__ == "__main__":
    main()
