"""Every resource of the code location, built once for the settings in use, in one place.

The layers' assets, checks, sensors and schedules name the resources they use (`storage`,
`warehouse`, `run_books`, `dbt`, `generator`, `alerts`) and declare none; Dagster binds each key
to the object built here when it merges the layers' definitions. What differs between the
`local` and `gcp` targets is decided once, by the target (platform/target.py).
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from coffee_assets.defs.alerts.resources import ALERTS_RESOURCE, alert_channels
from coffee_assets.defs.dbt.resources import dbt_cli_resource
from coffee_assets.defs.sources.resources import generator_resource
from coffee_assets.operations.books import run_books
from coffee_assets.platform.target import target_of, target_resources
from coffee_assets.settings import Settings, current_settings


def build_resources(settings: Settings) -> dict[str, Any]:
    """Each resource of the settings, by the key the layers name it. An unusable gcp target
    fails here, naming the variable."""
    return {
        **target_resources(settings),  # storage, warehouse
        "run_books": run_books(settings),
        "dbt": dbt_cli_resource(target_of(settings).dbt_target),
        "generator": generator_resource(settings),
        ALERTS_RESOURCE: alert_channels(settings.alerts),
    }


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(current_settings()))
