"""Where things live: every path and setting the extractors use, from env vars.

One home for these so that the DAG, the CLI and the tests agree. Credentials
never pass through here; they come from the providers' own chains or, in the
DAG, from an Airflow connection (``extractors.credentials``).

``AI_CARBON_LANDING`` is a local folder, or an ``s3://bucket/prefix`` URL for
a landing zone on S3 (``extractors/landing.py`` writes either; the build
mirrors an S3 landing into its scratch folder before dbt reads it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the sources, the landing zone and the org config."""

    sources: Path
    # A local folder, or an "s3://bucket/prefix" URL (kept as text: never a Path).
    landing: Path | str
    config: Path

    @classmethod
    def from_env(cls) -> Settings:
        def path(var: str, default: str) -> Path:
            value = os.environ.get(var) or default
            candidate = Path(value)
            return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate

        landing = os.environ.get("AI_CARBON_LANDING") or ""
        return cls(
            sources=path("AI_CARBON_SOURCES", ".demo/sources"),
            landing=landing_location(landing)
            if "://" in landing
            else path("AI_CARBON_LANDING", "landing"),
            config=path("AI_CARBON_CONFIG", "config/org.example.yml"),
        )


def is_remote(landing: Path | str) -> bool:
    """True for a landing zone on S3 (an ``s3://`` URL)."""
    return isinstance(landing, str) and landing.startswith("s3://")


def landing_location(url: str) -> str:
    """``url`` if it is an ``s3://bucket[/prefix]`` URL; ConfigError for other schemes."""
    from extractors.errors import ConfigError

    scheme, _, rest = url.partition("://")
    if scheme != "s3" or not rest.split("/")[0]:
        raise ConfigError(
            f"AI_CARBON_LANDING={url!r}: a landing zone is a local folder or s3://bucket/prefix "
            "(other object stores, such as gs://, are not supported)"
        )
    return "s3://" + rest.rstrip("/")
