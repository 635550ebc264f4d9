"""Project settings read from environment variables (the public names in README.md).

Everything that differs between a laptop and production comes through here, once, so the
rest of the code receives plain values.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from coffee_assets.core.generator import GeneratorConfig, get_profile
from coffee_assets.core.project import CSV_PREFIX, DBT_SCHEMA, PROJECT_ROOT, RAW_SCHEMA, TIMEZONE
from coffee_assets.core.public_holidays import DEFAULT_COUNTRY, HolidayCalendar

TARGETS = ("local", "gcp")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


# The gcp target's public environment variables (README.md), with their defaults (None: required).
GCP_ENV_DEFAULTS: dict[str, str | None] = {
    "COFFEE_GCP_PROJECT": None,
    "COFFEE_GCS_BUCKET": None,
    "COFFEE_GCS_PREFIX": CSV_PREFIX,
    "COFFEE_BQ_LOCATION": None,
    "COFFEE_BQ_RAW_DATASET": RAW_SCHEMA,
    "COFFEE_BQ_DBT_DATASET": DBT_SCHEMA,
    "COFFEE_BQ_METHOD": "oauth",
    # BigQuery's on-demand price in US dollars per TiB billed (2026: 6.25 in the US and EU
    # multi-regions): turns the bytes each query is billed into the cost the UI shows.
    "COFFEE_BQ_USD_PER_TIB": "6.25",
}
BQ_METHODS = ("oauth", "service-account")
# Emulator endpoints, the names Google's client libraries read (with the http:// scheme).
EMULATOR_VARS = ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST")
_PROJECT_ID = re.compile(r"[a-z][-a-z0-9.:]{4,62}[a-z0-9]")
_BUCKET_NAME = re.compile(r"[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_PREFIX = re.compile(r"([-A-Za-z0-9_.=]+/)*")


@dataclass(frozen=True)
class GcpSettings:
    """The gcp target's settings, read and checked only on COFFEE_TARGET=gcp, once, when the
    definitions load: a missing or malformed variable is reported by name before any client is
    built. Only the values the code needs in a normalised form are kept here; the resources take
    the others (project, bucket, location, datasets) as `dg.EnvVar`s, so the UI shows which
    variable a value comes from, not the value."""

    prefix: str = CSV_PREFIX  # COFFEE_GCS_PREFIX, with one trailing slash ("" for the root)
    storage_emulator_host: str | None = None  # STORAGE_EMULATOR_HOST, without a trailing slash
    bigquery_emulator_host: str | None = None  # BIGQUERY_EMULATOR_HOST, likewise
    usd_per_tib: float = 6.25  # COFFEE_BQ_USD_PER_TIB: the on-demand price of a TiB billed

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GcpSettings:
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        missing = []
        for name, default in GCP_ENV_DEFAULTS.items():
            value = (env.get(name) or "").strip()
            if not value and default is None:
                missing.append(name)
            values[name] = value or (default or "")
        if missing:
            raise SettingsError(
                f"COFFEE_TARGET=gcp needs {', '.join(missing)} "
                f"(missing or empty; see README.md, 'Running against a real Google Cloud project')"
            )
        checks = [
            ("COFFEE_GCP_PROJECT", _PROJECT_ID, "a Google Cloud project id such as my-project-123"),
            ("COFFEE_GCS_BUCKET", _BUCKET_NAME, "a bucket name, without gs:// or a path"),
            ("COFFEE_BQ_RAW_DATASET", _DATASET, "a dataset name (letters, digits, _)"),
            ("COFFEE_BQ_DBT_DATASET", _DATASET, "a dataset name (letters, digits, _)"),
        ]
        for name, pattern, expected in checks:
            if not pattern.fullmatch(values[name]):
                raise SettingsError(f"{name}={values[name]!r} is not {expected}")
        prefix = values["COFFEE_GCS_PREFIX"].strip("/")
        prefix = f"{prefix}/" if prefix else ""
        if not _PREFIX.fullmatch(prefix) or {".", ".."} & set(prefix.split("/")):
            raise SettingsError(
                f"COFFEE_GCS_PREFIX={values['COFFEE_GCS_PREFIX']!r} is not a folder-like prefix "
                f"such as csv_sources/ (letters, digits, - _ . = and /)"
            )
        if values["COFFEE_BQ_RAW_DATASET"] == values["COFFEE_BQ_DBT_DATASET"]:
            raise SettingsError(
                "COFFEE_BQ_RAW_DATASET and COFFEE_BQ_DBT_DATASET must differ "
                f"(both {values['COFFEE_BQ_RAW_DATASET']!r})"
            )
        method = values["COFFEE_BQ_METHOD"]
        if method not in BQ_METHODS:
            raise SettingsError(
                f"COFFEE_BQ_METHOD={method!r}: expected one of {', '.join(BQ_METHODS)}"
            )
        credentials = (env.get("GOOGLE_APPLICATION_CREDENTIALS") or "").strip() or None
        if credentials and not Path(credentials).expanduser().is_file():
            raise SettingsError(
                f"GOOGLE_APPLICATION_CREDENTIALS={credentials!r}: no such file (a service account "
                f"key file; unset it to use application-default credentials)"
            )
        if method == "service-account" and not credentials:
            raise SettingsError(
                "COFFEE_BQ_METHOD=service-account needs GOOGLE_APPLICATION_CREDENTIALS "
                "(the service account's key file)"
            )
        price = _parse_number("COFFEE_BQ_USD_PER_TIB", values["COFFEE_BQ_USD_PER_TIB"], float)
        if not 0 <= price < 1000:
            raise SettingsError(
                f"COFFEE_BQ_USD_PER_TIB={values['COFFEE_BQ_USD_PER_TIB']!r} is not a price per "
                "TiB in US dollars (on demand: 6.25; 0 for a capacity reservation)"
            )
        hosts = {}
        for name in EMULATOR_VARS:
            host = (env.get(name) or "").strip() or None
            if host and not re.fullmatch(r"https?://[^/\s]+/?", host):
                raise SettingsError(
                    f"{name}={host!r}: expected an endpoint with its scheme, e.g. "
                    f"http://127.0.0.1:9023 (Google's clients need the http:// prefix)"
                )
            hosts[name] = host.rstrip("/") if host else None
        return cls(
            prefix=prefix,
            storage_emulator_host=hosts["STORAGE_EMULATOR_HOST"],
            bigquery_emulator_host=hosts["BIGQUERY_EMULATOR_HOST"],
            usd_per_tib=price,
        )


def _parse_date(name: str, value: str) -> date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        raise SettingsError(f"{name}={value!r} is not a date in YYYY-MM-DD form, e.g. 2025-01-01")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={value!r} is an impossible date ({exc})") from None


def yesterday() -> date:
    """The newest complete day, in the chain's time zone (Kyiv)."""
    return datetime.now(ZoneInfo(TIMEZONE)).date() - timedelta(days=1)


def _check_start(start: date) -> None:
    last = yesterday()
    if start > last:
        raise SettingsError(
            f"COFFEE_START_DATE={start.isoformat()} is in the future: the history needs at least "
            f"one complete day; use a date on or before yesterday ({last}, Kyiv time)"
        )


# dbt renders the DuckDB file's path (a dbt var) as Jinja, and DuckDB reads a backslash in a
# path as a separator: such a folder would be a different place for dbt than for the loader.
_JINJA = ("{{", "}}", "{%", "%}", "{#", "#}")


def _check_path_text(path: str) -> None:
    marks = [mark for mark in _JINJA if mark in path] + (["\\"] if "\\" in path else [])
    if marks:
        raise SettingsError(
            f"COFFEE_DATA_DIR={path!r} holds {' and '.join(repr(m) for m in marks)}: dbt reads "
            "the warehouse's path as a Jinja template and DuckDB reads a backslash as '/', so "
            "dbt would open another file; use a folder path without them"
        )


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


DEFAULT_SCHEDULE_CRON = "30 4 * * *"
DEFAULT_DAGSTER_URL = "http://localhost:3000"
TLS_MODES = ("starttls", "ssl", "none")
_URL = re.compile(r"https?://[^\s/:?#]+(:[0-9]{1,5})?([/?#]\S*)?")
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+")
SLACK = ("COFFEE_SLACK_TOKEN", "COFFEE_SLACK_CHANNEL")
EMAIL = ("COFFEE_SMTP_HOST", "COFFEE_ALERT_EMAIL_FROM", "COFFEE_ALERT_EMAIL_TO")
EMAIL_OPTIONS = ("COFFEE_SMTP_PORT", "COFFEE_SMTP_USER", "COFFEE_SMTP_PASSWORD", "COFFEE_SMTP_TLS")


def _all_or_none(env: Mapping[str, str], channel: str, names: tuple[str, ...]) -> bool:
    present = [name for name in names if (env.get(name) or "").strip()]
    if present and len(present) < len(names):
        missing = [name for name in names if name not in present]
        raise SettingsError(
            f"{channel} alerts: {', '.join(present)} set but {', '.join(missing)} not"
        )
    return bool(present)


def _check_url(name: str, value: str, what: str) -> None:
    match = _URL.fullmatch(value)
    port = int(match.group(1)[1:]) if match and match.group(1) else 80
    if not match or not 0 < port < 65536:
        raise SettingsError(f"{name}={value!r} is not {what} (http:// or https://, a host, a path)")


def _git_url(value: str) -> str | None:
    if not value:
        return None
    _check_url(
        "COFFEE_GIT_URL", value, "a repository's web address, e.g. https://github.com/you/coffee"
    )
    return value.rstrip("/")


@dataclass(frozen=True)
class AlertSettings:
    """The alert channels the environment enables, each checked whole: a half-configured or
    malformed channel is an error when the settings are read, not when the first alert fails.
    Only what is not secret is kept; the channels read the rest (tokens, passwords, addresses)
    as `dg.EnvVar`s, so the UI shows the variables' names (coffee_assets/alerts)."""

    slack: bool = False
    webhook: bool = False
    email: bool = False
    smtp_port: int | None = None
    smtp_tls: str | None = None
    smtp_login: bool = False  # COFFEE_SMTP_USER and COFFEE_SMTP_PASSWORD
    dagster_url: str = DEFAULT_DAGSTER_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ

        def value(name: str) -> str:
            return (env.get(name) or "").strip()

        slack = _all_or_none(env, "Slack", SLACK)
        if slack and not value("COFFEE_SLACK_TOKEN").startswith("xox"):
            raise SettingsError(
                "COFFEE_SLACK_TOKEN is not a Slack token (a bot token starts with xoxb-)"
            )
        webhook = bool(value("COFFEE_ALERT_WEBHOOK_URL"))
        if webhook:
            _check_url("COFFEE_ALERT_WEBHOOK_URL", value("COFFEE_ALERT_WEBHOOK_URL"), "a URL")
        email = _all_or_none(env, "E-mail", EMAIL)
        options = [name for name in EMAIL_OPTIONS if value(name)]
        if options and not email:
            raise SettingsError(
                f"{', '.join(options)} set but e-mail alerts are off (they need {', '.join(EMAIL)})"
            )
        for name in ("COFFEE_ALERT_EMAIL_FROM", "COFFEE_ALERT_EMAIL_TO"):
            addresses = [a.strip() for a in value(name).split(",") if a.strip()]
            bad = [a for a in addresses if not _EMAIL.fullmatch(a)]
            if email and (bad or not addresses):
                raise SettingsError(
                    f"{name}={value(name)!r}: {bad[0] if bad else 'nothing'} is not an e-mail "
                    "address (name@example.com; several: comma-separated)"
                )
        port = None
        if value("COFFEE_SMTP_PORT"):
            text = value("COFFEE_SMTP_PORT")
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise SettingsError(f"COFFEE_SMTP_PORT={text!r} is not a port (1 to 65535)")
            port = int(text)
        tls = value("COFFEE_SMTP_TLS").lower() or None
        if tls and tls not in TLS_MODES:
            raise SettingsError(f"COFFEE_SMTP_TLS={tls!r}: expected one of {', '.join(TLS_MODES)}")
        login = _all_or_none(env, "E-mail", ("COFFEE_SMTP_USER", "COFFEE_SMTP_PASSWORD"))
        url = value("COFFEE_DAGSTER_URL") or DEFAULT_DAGSTER_URL
        _check_url("COFFEE_DAGSTER_URL", url, "the URL of the Dagster UI")
        return cls(slack, webhook, email, port, tls, login, url)


def _parse_cron(value: str) -> str:
    """A cron string checked the way Dagster checks a schedule's. Dagster is imported here, and
    only for a value the environment sets: `coffee-settings` (run three times by run-local.sh)
    and the generator's CLI need not import it (~2 s) to read their settings."""
    import dagster as dg

    value = " ".join(value.split())
    try:
        dg.ScheduleDefinition(name="check", cron_schedule=value, job_name="check")
    except dg.DagsterInvalidDefinitionError:
        raise SettingsError(
            f"COFFEE_SCHEDULE_CRON={value!r} is not a cron schedule such as '30 4 * * *' "
            "(minute hour day-of-month month day-of-week)"
        ) from None
    return value


def _parse_number(name: str, value: str, kind: type) -> int | float:
    try:
        return kind(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a valid {kind.__name__}") from None


def _holidays(env: Mapping[str, str]) -> HolidayCalendar:
    country = env.get("COFFEE_HOLIDAYS_COUNTRY", "").strip().upper() or DEFAULT_COUNTRY
    subdivision = env.get("COFFEE_HOLIDAYS_SUBDIVISION", "").strip().upper() or None
    try:
        return HolidayCalendar(country, subdivision)
    except ValueError as exc:
        raise SettingsError(
            f"COFFEE_HOLIDAYS_COUNTRY={country!r} / COFFEE_HOLIDAYS_SUBDIVISION="
            f"{subdivision or ''!r}: {exc}"
        ) from None


@dataclass(frozen=True)
class Settings:
    target: str = "local"
    data_dir: Path = PROJECT_ROOT / "data"
    start_date: date = date(2025, 1, 1)
    seed: int = 42
    volume_profile: str = "realistic"
    orders_per_day: float | None = None
    # local target: how long a run waits for the warehouse while another run holds it
    warehouse_wait_seconds: int = 3600
    # when daily_refresh_schedule runs, in Kyiv time (the default: 04:30 every day)
    schedule_cron: str = DEFAULT_SCHEDULE_CRON
    # gcp target: its checked settings (read from the environment when missing)
    gcp: GcpSettings | None = None
    # the alert channels the environment enables
    alerts: AlertSettings = AlertSettings()
    # where the UI's code references point: the repository (COFFEE_GIT_URL) or local files
    git_url: str | None = None
    git_branch: str = "main"
    # the public holidays the anomaly check knows without a calendar file (core/public_holidays.py)
    holidays: HolidayCalendar = HolidayCalendar()

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
        _check_path_text(str(data_dir))
        orders = env.get("COFFEE_ORDERS_PER_DAY")
        wait = int(
            _parse_number(
                "COFFEE_WAREHOUSE_WAIT_SECONDS",
                env.get("COFFEE_WAREHOUSE_WAIT_SECONDS", "3600"),
                int,
            )
        )
        if wait < 0:
            raise SettingsError(
                f"COFFEE_WAREHOUSE_WAIT_SECONDS={wait}: expected seconds, 0 or more"
            )
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
            warehouse_wait_seconds=wait,
            schedule_cron=(
                _parse_cron(env["COFFEE_SCHEDULE_CRON"])
                if "COFFEE_SCHEDULE_CRON" in env
                else DEFAULT_SCHEDULE_CRON
            ),
            gcp=GcpSettings.from_env(env) if target == "gcp" else None,
            alerts=AlertSettings.from_env(env),
            git_url=_git_url(env.get("COFFEE_GIT_URL", "").strip()),
            git_branch=env.get("COFFEE_GIT_BRANCH", "").strip() or "main",
            holidays=_holidays(env),
        )
        _check_start(settings.start_date)
        settings.check_volume()
        if target == "local":
            _check_data_dir(settings.data_dir)
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
        if profile.min_daily_mean < 1:
            volume = self.orders_per_day or profile.average_orders_per_day
            raise SettingsError(
                f"COFFEE_ORDERS_PER_DAY={volume:g}: the {profile.name} profile's "
                f"quietest day would average {profile.min_daily_mean:.2g} orders; a usable "
                f"history needs at least one a day (set it to "
                f"{math.ceil(profile.average_orders_per_day / profile.min_daily_mean)} or more)"
            )


_IN_USE: ContextVar[Settings | None] = ContextVar("coffee_settings", default=None)


@contextmanager
def settings_in_use(settings: Settings) -> Iterator[Settings]:
    """Build definitions for these settings: what `current_settings` returns meanwhile."""
    token = _IN_USE.set(settings)
    try:
        yield settings
    finally:
        _IN_USE.reset(token)


def current_settings() -> Settings:
    """The settings the code location is being built for: those `build_definitions` was given
    (tests build isolated locations that way), else the environment's. Each layer of defs/ asks
    for them when Dagster loads the defs folder."""
    return _IN_USE.get() or Settings.from_env()


def main(argv: list[str] | None = None) -> int:
    """`coffee-settings`: check the settings as a run would, in one line, before anything runs.

    Prints what the scripts ask (--data-dir: the local target's data folder; --history: the
    history's first and last day) or the error, naming the variable and the fix, and exits 1 on
    an error: no stack trace."""
    args = sys.argv[1:] if argv is None else argv
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Settings error: {exc}", file=sys.stderr)
        return 1
    if args == ["--data-dir"]:
        print(settings.data_dir)
    elif args == ["--history"]:
        print(settings.start_date, yesterday())
    else:
        print(f"Settings OK: target {settings.target}, history from {settings.start_date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
