"""Alerts on failed checks, failed runs and missed freshness (issue 4)."""

from typing import Any

import dagster as dg

from coffee_assets.settings import Settings


def build_alert_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    return []  # WIP (issue 4)


def alert_resources(settings: Settings) -> dict[str, Any]:
    return {}  # WIP (issue 4)
