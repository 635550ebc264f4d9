"""Project settings read from environment variables (the public names in README.md).

Everything that differs between a laptop and production comes through here, once, so the rest
of the code receives plain values. Each variable is declared once, as a field of a
pydantic-settings model (`base.EnvSettings`): its name (the field's alias), type, default and
description. The models check every value when the settings are read and report the first
problem in one line that names the variable and the fix (`SettingsError`); `.env.example` and
the README list the same variables with the same defaults (coffee_assets_tests/test_settings.py
holds them together).

- `pipeline.Settings`: every setting of the pipeline, with the two groups below;
- `gcp.GcpSettings`: the gcp target's, read on COFFEE_TARGET=gcp;
- `alerts.AlertSettings`: the alert channels';
- `in_use`: which settings the code location is being built for;
- `check`: the `coffee-settings` command.
"""

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.settings.alerts import TLS_MODES, AlertSettings
from coffee_assets.settings.base import EnvSettings, SettingsError
from coffee_assets.settings.gcp import GcpSettings
from coffee_assets.settings.in_use import current_settings, settings_in_use
from coffee_assets.settings.pipeline import TARGETS, Settings, yesterday

__all__ = [
    "PROJECT_ROOT",
    "TARGETS",
    "TLS_MODES",
    "AlertSettings",
    "EnvSettings",
    "GcpSettings",
    "Settings",
    "SettingsError",
    "current_settings",
    "settings_in_use",
    "yesterday",
]
