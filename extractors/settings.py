"""Where things live: every path and setting the extractors use, from env vars.

One home for these so that the DAG, the CLI and the tests agree. Credentials
never pass through here; they come from the providers' own chains or, in the
DAG, from an Airflow connection (``extractors.credentials``).
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
    landing: Path
    config: Path

    @classmethod
    def from_env(cls) -> Settings:
        def path(var: str, default: str) -> Path:
            value = os.environ.get(var) or default
            candidate = Path(value)
            return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate

        return cls(
            sources=path("AI_CARBON_SOURCES", ".demo/sources"),
            landing=path("AI_CARBON_LANDING", "landing"),
            config=path("AI_CARBON_CONFIG", "config/org.example.yml"),
        )
