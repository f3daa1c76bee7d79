"""Where things live: every path and setting the extractors use, from env vars.

One home for these so that the DAG, the CLI and the tests agree. Credentials
never pass through here; they come from the providers' own chains or, in the
DAG, from an Airflow connection (``extractors.credentials``).

``AI_CARBON_LANDING`` is a local folder, or an ``s3://bucket/prefix`` or
``gs://bucket/prefix`` URL for a landing zone on S3 or Google Cloud Storage
(``extractors/landing.py`` writes any of them; the build mirrors an object
store landing into its scratch folder before dbt reads it). The URL names a
place only: credentials come from boto3's chain or Google's Application
Default Credentials, never from the setting.
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
    # A local folder, or an "s3://" / "gs://" bucket/prefix URL (kept as text: never a Path).
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


# The object stores a landing zone can live on, by URL scheme.
OBJECT_STORE_SCHEMES = ("s3", "gs")


def is_remote(landing: Path | str) -> bool:
    """True for a landing zone in an object store (an ``s3://`` or ``gs://`` URL)."""
    return isinstance(landing, str) and landing.startswith(
        tuple(f"{scheme}://" for scheme in OBJECT_STORE_SCHEMES)
    )


def landing_location(url: str) -> str:
    """``url`` if it is an ``s3://`` or ``gs://bucket[/prefix]`` URL; ConfigError otherwise."""
    from extractors.errors import ConfigError

    scheme, _, rest = url.partition("://")
    if scheme not in OBJECT_STORE_SCHEMES or not rest.split("/")[0]:
        raise ConfigError(
            f"AI_CARBON_LANDING={url!r}: a landing zone is a local folder, s3://bucket/prefix "
            "or gs://bucket/prefix (other schemes are not supported)"
        )
    return f"{scheme}://" + rest.rstrip("/")
