"""Project settings read from environment variables (the public names in README.md).

Everything that differs between a laptop and production comes through here, once, so the
rest of the code receives plain values.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from coffee_assets.generator import GeneratorConfig, get_profile

TARGETS = ("local", "gcp")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "coffee_dbt"
TIMEZONE = "Europe/Kyiv"
# dbt of this Python environment (also when its bin/ is not on PATH), else the one on PATH.
_VENV_DBT = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else (shutil.which("dbt") or "dbt")

# Names of the warehouse schemas (BigQuery datasets on the gcp target).
RAW_SCHEMA = "coffee_shop"
DBT_SCHEMA = "dbt_models"
# Prefix of the CSV files inside the bucket (a folder on the local target).
CSV_PREFIX = "csv_sources/"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a date in YYYY-MM-DD form") from None


def _parse_number(name: str, value: str, kind: type) -> int | float:
    try:
        return kind(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a valid {kind.__name__}") from None


@dataclass(frozen=True)
class Settings:
    target: str = "local"
    data_dir: Path = PROJECT_ROOT / "data"
    start_date: date = date(2025, 1, 1)
    seed: int = 42
    volume_profile: str = "realistic"
    orders_per_day: float | None = None

    @property
    def bucket_dir(self) -> Path:
        """The folder that plays the bucket's part on the local target."""
        return self.data_dir / "bucket"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        target = env.get("COFFEE_TARGET", "local").strip().lower() or "local"
        if target not in TARGETS:
            raise SettingsError(f"COFFEE_TARGET={target!r}: expected one of {', '.join(TARGETS)}")
        data_dir = Path(env.get("COFFEE_DATA_DIR") or cls.data_dir).expanduser()
        orders = env.get("COFFEE_ORDERS_PER_DAY")
        settings = cls(
            target=target,
            # Absolute, so that dbt (which runs in coffee_dbt/) sees the same files.
            data_dir=data_dir.resolve(),
            start_date=_parse_date("COFFEE_START_DATE", env.get("COFFEE_START_DATE", "2025-01-01")),
            seed=int(_parse_number("COFFEE_SEED", env.get("COFFEE_SEED", "42"), int)),
            volume_profile=env.get("COFFEE_VOLUME_PROFILE", "realistic"),
            orders_per_day=(
                float(_parse_number("COFFEE_ORDERS_PER_DAY", orders, float)) if orders else None
            ),
        )
        settings.check_volume()
        return settings

    def check_volume(self) -> None:
        """Fail now, naming the variables, rather than in the middle of a run."""
        try:
            profile = get_profile(self.volume_profile, self.orders_per_day)
            GeneratorConfig(seed=self.seed, history_start=self.start_date, profile=profile)
        except ValueError as exc:
            raise SettingsError(
                f"COFFEE_VOLUME_PROFILE={self.volume_profile!r} / COFFEE_ORDERS_PER_DAY="
                f"{self.orders_per_day!r} / COFFEE_SEED={self.seed!r}: {exc}"
            ) from None
