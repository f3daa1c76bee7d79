"""Command line for the extractors: the same functions the DAG calls.

    python -m extractors config
    python -m extractors aws_cur --month 2025-01
    python -m extractors all --from-month 2025-01 --to-month 2025-12

``config`` validates the organisation config and lands the org tables; a
source name lands that source for one month (or a range); ``all`` does
``config`` and then every source for every month. Each load prints one line,
``source dataset partition status rows``; progress and "not delivered" notes
go to stderr. A bad source file or config exits with status 2 and its message.

Paths come from ``Settings.from_env()``. Credentials come from the
providers' default chains: a ``connection`` the config names is an Airflow
connection, resolved only by the DAG (which passes the extractor
``credentials=``). Never opens the warehouse. The DAG imports ``SOURCES`` and
``months_between`` from here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from extractors import (
    aws_carbon,
    aws_cur,
    aws_focus,
    azure_carbon,
    azure_emissions_export,
    codecarbon,
    focus_files,
    gcp_billing,
    gcp_carbon,
    inference_requests,
    mlflow_runs,
    nvidia_smi,
    opencost,
    prometheus_dcgm,
    slurm,
)
from extractors.catalog import months_between
from extractors.credentials import connection_id
from extractors.errors import ConfigError, SourceError, SourceUnavailable
from extractors.landing import LoadRecord, month_partition
from extractors.org_config import land_config, load_config
from extractors.settings import Settings

__all__ = ["SOURCES", "main", "months_between"]

# (month, settings, config); the cloud sources also take ``credentials=`` (the DAG's).
Extract = Callable[..., list[LoadRecord]]

_MODULES = {
    "aws_cur": aws_cur,
    "aws_carbon": aws_carbon,
    "aws_focus": aws_focus,
    "gcp_billing": gcp_billing,
    "gcp_carbon": gcp_carbon,
    "azure_carbon": azure_carbon,
    "azure_emissions_export": azure_emissions_export,
    "focus": focus_files,
    "slurm": slurm,
    "mlflow": mlflow_runs,
    "inference": inference_requests,
    "dcgm": prometheus_dcgm,
    "opencost": opencost,
    "nvidia_smi": nvidia_smi,
    "codecarbon": codecarbon,
}
SOURCES: dict[str, Extract] = {name: module.extract for name, module in _MODULES.items()}


def _month(value: str) -> str:
    try:
        month_partition(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings only (not progress)"
    )
    parser = argparse.ArgumentParser(
        prog="python -m extractors",
        description="Land source exports and the organisation config as Parquet.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser(
        "config", parents=[common], help="validate the organisation config and land its tables"
    )
    for name in ("all", *SOURCES):
        command = commands.add_parser(
            name,
            parents=[common],
            help="the config, then every source"
            if name == "all"
            else (_MODULES[name].__doc__ or name).splitlines()[0].replace("``", ""),
        )
        months = command.add_mutually_exclusive_group(required=True)
        months.add_argument("--month", type=_month, help="one month, YYYY-MM")
        months.add_argument("--from-month", type=_month, help="first month of a range")
        command.add_argument("--to-month", type=_month, help="last month (default: from-month)")
    return parser


def _print(record: LoadRecord) -> None:
    print(record.source, record.dataset, record.partition, record.status, record.rows, flush=True)


def _months(args: argparse.Namespace) -> list[str]:
    """The months a command covers; ValueError for a range that makes no sense."""
    if args.command == "config":
        return []
    if args.to_month and not args.from_month:
        raise ValueError("--to-month needs --from-month")
    first = args.month or args.from_month
    return months_between(first, args.to_month or first)


def run(command: str, months: list[str], settings: Settings) -> None:
    """Land what ``command`` names for ``months``, printing one line per load."""
    config = load_config(settings.config)
    if command in ("config", "all"):
        for record in land_config(config, settings.landing):
            _print(record)
    names = list(SOURCES) if command == "all" else [name for name in SOURCES if name == command]
    for name in names:
        if connection_id(config, name):
            logging.getLogger(__name__).info(
                "%s: connection %r is resolved by the Airflow DAG only; "
                "the command line uses the default credential chain",
                name,
                connection_id(config, name),
            )
    for month in months:
        for name in names:
            for record in SOURCES[name](month, settings, config):
                _print(record)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        months = _months(args)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        run(args.command, months, Settings.from_env())
    except (SourceError, SourceUnavailable, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
