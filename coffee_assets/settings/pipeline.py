"""The pipeline's settings: the target, the data folder, the history, the generator's volume,
the schedule, the holidays, code references; with the gcp target's and the alert channels'.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal, Self, get_args
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.profiles import get_profile
from coffee_assets.core.project import PROJECT_ROOT, TIMEZONE
from coffee_assets.core.public_holidays import DEFAULT_COUNTRY, HolidayCalendar
from coffee_assets.settings.alerts import AlertSettings
from coffee_assets.settings.base import (
    EnvSettings,
    SettingsError,
    check_url,
    env_field,
    one_of,
)
from coffee_assets.settings.gcp import GcpSettings

Target = Literal["local", "gcp"]
TARGETS: tuple[str, ...] = get_args(Target)


def yesterday() -> date:
    """The newest complete day, in the chain's time zone (Kyiv)."""
    return datetime.now(ZoneInfo(TIMEZONE)).date() - timedelta(days=1)


@cache
def _calendar(country: str, subdivision: str | None) -> HolidayCalendar:
    """One calendar per country and subdivision in a process (each check and report asks)."""
    return HolidayCalendar(country, subdivision)


# dbt renders the DuckDB file's path (a dbt var) as Jinja, and DuckDB reads a backslash in a
# path as a separator: such a folder would be a different place for dbt than for the loader.
_JINJA = ("{{", "}}", "{%", "%}", "{#", "#}")


def _check_data_dir(data_dir: Path) -> None:
    """The local target's data folder is a folder this process can write (it is created when
    missing): otherwise the first step would fail with a bare OS error."""
    name = f"COFFEE_DATA_DIR={str(data_dir)!r}"
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError(f"{name} is a file, not a folder: point it at a folder")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise SettingsError(
            f"{name} cannot be used ({exc.strerror or exc}): point it at a folder you can write"
        ) from None


def _parse_cron(value: str) -> str:
    """A cron string checked the way Dagster checks a schedule's. Dagster is imported here, and
    only for a value the environment sets: `coffee-settings` (run three times by run-local.sh)
    and the generator's CLI need not import it (~2 s) to read their settings."""
    import dagster as dg

    value = " ".join(value.split())
    try:
        dg.ScheduleDefinition(name="check", cron_schedule=value, job_name="check")
    except dg.DagsterInvalidDefinitionError:
        raise ValueError(
            f"COFFEE_SCHEDULE_CRON={value!r} is not a cron schedule such as "
            f"{Settings.default_of('COFFEE_SCHEDULE_CRON')!r} (minute hour day-of-month month "
            "day-of-week)"
        ) from None
    return value


class Settings(EnvSettings):
    """Every setting of the pipeline; `from_env` reads them (and the gcp target's and the alert
    channels', below) and checks what a run would trip over later."""

    target: Target = env_field(
        "COFFEE_TARGET",
        "local",
        "local (a folder plays the bucket, DuckDB the warehouse) or gcp (docs/gcp.md)",
    )
    data_dir: Path = env_field(
        "COFFEE_DATA_DIR",
        PROJECT_ROOT / "data",
        "local target: the bucket folder bucket/ and warehouse.duckdb",
    )
    start_date: date = env_field(
        "COFFEE_START_DATE", date(2025, 1, 1), "the history's first day: the partitions start there"
    )
    seed: int = env_field("COFFEE_SEED", 42, "the generator: same seed and day, same rows")
    volume_profile: str = env_field(
        "COFFEE_VOLUME_PROFILE",
        "realistic",
        "realistic (~440 orders a day) or original (the original showcase's 10 a day)",
    )
    orders_per_day: float | None = env_field(
        "COFFEE_ORDERS_PER_DAY",
        None,
        "rescales the profile's mean orders per day (at least one a day on its quietest day)",
    )
    warehouse_wait_seconds: int = env_field(
        "COFFEE_WAREHOUSE_WAIT_SECONDS",
        3600,
        "local target: how long a run waits for another run that holds the warehouse",
    )
    schedule_cron: str = env_field(
        "COFFEE_SCHEDULE_CRON", "30 4 * * *", "when daily_refresh_schedule runs, Kyiv time"
    )
    holidays_country: str = env_field(
        "COFFEE_HOLIDAYS_COUNTRY",
        DEFAULT_COUNTRY,
        "whose public holidays the anomaly check knows without a calendar file (the holidays "
        "library; an ISO 3166 code such as UA, PL, DE)",
    )
    holidays_subdivision: str | None = env_field(
        "COFFEE_HOLIDAYS_SUBDIVISION", None, "optionally the country's subdivision, e.g. BY"
    )
    git_url: str | None = env_field(
        "COFFEE_GIT_URL",
        None,
        "where the UI's code references point: unset, the local files; set, the repository "
        "(e.g. https://github.com/you/coffee)",
    )
    git_branch: str = env_field("COFFEE_GIT_BRANCH", "main", "the repository's branch")
    # gcp target: its checked settings (read from the environment when missing)
    gcp: GcpSettings | None = None
    # the alert channels the environment enables
    alerts: AlertSettings = Field(default_factory=lambda: AlertSettings.from_env({}))

    @property
    def bucket_dir(self) -> Path:
        """The folder that plays the bucket's part on the local target."""
        return self.data_dir / "bucket"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def holidays(self) -> HolidayCalendar:
        """The public holidays the anomaly check knows without a calendar file."""
        return _calendar(self.holidays_country, self.holidays_subdivision)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings of the environment (or of `environ`), each checked, with the gcp
        target's on COFFEE_TARGET=gcp and the alert channels'. The data folder is made when it
        is missing; a history that starts in the future, or a volume the generator cannot make,
        is an error now rather than in the middle of a run."""
        settings = super().from_env(environ)
        settings = settings.model_copy(
            update={
                "gcp": GcpSettings.from_env(environ) if settings.target == "gcp" else None,
                "alerts": AlertSettings.from_env(environ),
            }
        )
        last = yesterday()
        if settings.start_date > last:
            raise SettingsError(
                f"COFFEE_START_DATE={settings.start_date.isoformat()} is in the future: the "
                "history needs at least one complete day; use a date on or before yesterday "
                f"({last}, Kyiv time)"
            )
        settings.check_volume()
        if settings.target == "local":
            _check_data_dir(settings.data_dir)
        return settings

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> str:
        return one_of("COFFEE_TARGET", value, TARGETS)

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path) -> Path:
        # Absolute, so that dbt (which runs in coffee_dbt/) sees the same files.
        text = str(value.expanduser())
        marks = [m for m in _JINJA if m in text] + (["\\"] if "\\" in text else [])
        if marks:
            raise ValueError(
                f"COFFEE_DATA_DIR={text!r} holds {' and '.join(repr(m) for m in marks)}: dbt "
                "reads the warehouse's path as a Jinja template and DuckDB reads a backslash as "
                "'/', so dbt would open another file; use a folder path without them"
            )
        return value.expanduser().resolve()

    @field_validator("start_date", mode="before")
    @classmethod
    def _start_date(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError(
                f"COFFEE_START_DATE={text!r} is not a date in YYYY-MM-DD form, e.g. 2025-01-01"
            )
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"COFFEE_START_DATE={text!r} is an impossible date ({exc})") from None

    @field_validator("warehouse_wait_seconds")
    @classmethod
    def _wait(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"COFFEE_WAREHOUSE_WAIT_SECONDS={value}: expected seconds, 0 or more")
        return value

    @field_validator("schedule_cron", mode="before")
    @classmethod
    def _cron(cls, value: Any) -> str:
        return _parse_cron(str(value))

    @field_validator("holidays_country", "holidays_subdivision", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return str(value).strip().upper() if value is not None else None

    @field_validator("git_url")
    @classmethod
    def _git_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        expected = "a repository's web address, e.g. https://github.com/you/coffee"
        return check_url("COFFEE_GIT_URL", value, expected).rstrip("/")

    @model_validator(mode="after")
    def _calendar(self) -> Settings:
        try:
            self.holidays  # noqa: B018 (checked now: the calendar is built where it is used)
        except ValueError as exc:
            raise ValueError(
                f"COFFEE_HOLIDAYS_COUNTRY={self.holidays_country!r} / "
                f"COFFEE_HOLIDAYS_SUBDIVISION={self.holidays_subdivision or ''!r}: {exc}"
            ) from None
        return self

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
        if profile.min_daily_mean < 1:
            volume = self.orders_per_day or profile.average_orders_per_day
            raise SettingsError(
                f"COFFEE_ORDERS_PER_DAY={volume:g}: the {profile.name} profile's "
                f"quietest day would average {profile.min_daily_mean:.2g} orders; a usable "
                f"history needs at least one a day (set it to "
                f"{math.ceil(profile.average_orders_per_day / profile.min_daily_mean)} or more)"
            )
