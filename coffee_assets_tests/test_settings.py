"""The settings model: each environment variable declared once, and what documents it agrees."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.settings import AlertSettings, EnvSettings, GcpSettings, Settings, SettingsError

MODELS: tuple[type[EnvSettings], ...] = (Settings, GcpSettings, AlertSettings)
PACKAGE = PROJECT_ROOT / "coffee_assets"


def declared() -> dict[str, object]:
    """{environment variable: its default (None: unset or required)} of every model."""
    defaults: dict[str, object] = {}
    for model in MODELS:
        for variable in model.env_names():
            defaults[variable] = model.default_of(variable)
    return defaults


def as_text(value: object) -> str:
    """How a default is written in .env.example and the README."""
    if isinstance(value, Path):
        return "./" + str(value.relative_to(PROJECT_ROOT))
    return "" if value is None else str(value)


def env_example() -> dict[str, str]:
    """{variable: value} of .env.example's `# NAME=value` lines (the COFFEE_ and Google ones)."""
    text = (PROJECT_ROOT / ".env.example").read_text()
    return dict(re.findall(r"^# ?([A-Z][A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))


def test_env_example_lists_every_variable_with_the_models_default():
    example = env_example()
    defaults = declared()
    assert sorted(defaults) == sorted(example), "declared in settings/ vs listed in .env.example"
    for variable, default in defaults.items():
        if default is not None:
            assert example[variable] == as_text(default), variable
        elif variable.startswith("COFFEE_"):
            assert example[variable] == "", variable  # unset: an empty value, no made-up default


def test_the_readmes_table_gives_the_models_defaults():
    rows = re.findall(
        r"^\| `([A-Z0-9_]+)` \| `([^`]*)` \|", (PROJECT_ROOT / "README.md").read_text(), re.M
    )
    defaults = declared()
    checked = [(variable, value) for variable, value in rows if variable in defaults]
    assert len(checked) >= 6, rows
    for variable, value in checked:
        assert value == as_text(defaults[variable]), variable


@pytest.mark.parametrize("literal", ["6.25", "http://localhost:3000", "587", "30 4 * * *"])
def test_each_default_is_written_once_in_the_package(literal):
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}:{n}"
        for path in PACKAGE.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if literal in line
    ]
    assert len(hits) == 1, hits


def test_built_directly_the_models_hold_the_values_given_and_the_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("COFFEE_SEED", "7")
    monkeypatch.setenv("COFFEE_TARGET", "gcp")
    settings = Settings(data_dir=tmp_path, start_date=date(2025, 3, 1))
    assert (settings.seed, settings.target) == (42, "local")  # not the environment's
    assert (settings.start_date, settings.data_dir) == (date(2025, 3, 1), tmp_path)
    monkeypatch.setenv("COFFEE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COFFEE_TARGET")
    assert Settings.from_env().seed == 7
    with pytest.raises(SettingsError, match="COFFEE_SEED='x' is not a valid int"):
        Settings(seed="x")
    with pytest.raises(SettingsError, match="COFFEE_WAREHOUSE_WAIT_SECONDS=-1"):
        Settings(warehouse_wait_seconds=-1)


def test_from_env_reads_only_the_mapping_given(monkeypatch, tmp_path):
    monkeypatch.setenv("COFFEE_SEED", "7")
    monkeypatch.setenv("COFFEE_SLACK_TOKEN", "xoxb-from-the-shell")
    settings = Settings.from_env({"COFFEE_DATA_DIR": str(tmp_path), "COFFEE_GIT_BRANCH": "  "})
    assert settings.seed == 42 and not settings.alerts.slack
    assert settings.git_branch == "main"  # blank counts as unset


def test_secrets_are_not_shown():
    alerts = AlertSettings.from_env(
        {"COFFEE_SLACK_TOKEN": "xoxb-secret-token", "COFFEE_SLACK_CHANNEL": "#alerts"}
    )
    assert alerts.slack and "xoxb-secret-token" not in repr(alerts)


def test_the_smtp_defaults_are_the_channels_unless_set():
    email = {
        "COFFEE_SMTP_HOST": "smtp.example.com",
        "COFFEE_ALERT_EMAIL_FROM": "a@example.com",
        "COFFEE_ALERT_EMAIL_TO": "b@example.com",
    }
    alerts = AlertSettings.from_env(email)
    assert (alerts.smtp_port, alerts.smtp_tls, alerts.is_set("COFFEE_SMTP_PORT")) == (
        587,
        "starttls",
        [],
    )
    alerts = AlertSettings.from_env(
        {**email, "COFFEE_SMTP_PORT": " 465 ", "COFFEE_SMTP_TLS": "SSL"}
    )
    assert (alerts.smtp_port, alerts.smtp_tls) == (465, "ssl")
    with pytest.raises(SettingsError, match="COFFEE_SMTP_USER set but COFFEE_SMTP_PASSWORD not"):
        AlertSettings.from_env({**email, "COFFEE_SMTP_USER": "me"})
    with pytest.raises(SettingsError, match="COFFEE_SMTP_PORT set but e-mail alerts are off"):
        AlertSettings.from_env({"COFFEE_SMTP_PORT": "25"})


def test_the_alert_interval_is_a_number_of_seconds_the_daemon_can_keep():
    assert AlertSettings.from_env({}).interval_seconds == 60
    assert AlertSettings.from_env({"COFFEE_ALERT_INTERVAL_SECONDS": " 10 "}).interval_seconds == 10
    for bad in ("1", "a minute", "-5", "86400"):
        with pytest.raises(SettingsError, match="COFFEE_ALERT_INTERVAL_SECONDS=.* from 5 to 3600"):
            AlertSettings.from_env({"COFFEE_ALERT_INTERVAL_SECONDS": bad})


def test_reading_the_settings_imports_no_dagster_and_no_data_library():
    """`coffee-settings`, which every script runs first, reads the settings without Dagster or
    the generator's pyarrow and pandas (a second of CPU each time; the generator's package
    imports none of its modules)."""
    probe = (
        "import sys\n"
        "from coffee_assets.settings.check import main\n"
        "main([])\n"
        "print(sorted(m for m in ('dagster', 'pandas', 'pyarrow') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert result.stdout.splitlines()[-1] == "[]", result.stdout
