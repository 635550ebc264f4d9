"""Dagster asset checks on every layer (on top of the dbt tests, which are checks already).

- csv_files.py: each file's header contract (blocking), the orders' daily volume (warning);
- raw_tables.py: keys, references, registration dates, money, dates (blocking);
- marts.py: revenue and customers of the reporting marts against the raw tables (blocking);
- freshness.py: the newest partition arrives by 09:00 Kyiv (warning, evaluated by a sensor).

Checks that open the warehouse run in its pool (one DuckDB writer at a time on `local`).
"""

import dagster as dg

from coffee_assets.checks.csv_files import build_csv_checks
from coffee_assets.checks.freshness import build_freshness_checks, build_freshness_sensor
from coffee_assets.checks.marts import build_mart_checks
from coffee_assets.checks.raw_tables import build_raw_checks
from coffee_assets.settings import Settings

__all__ = ["build_asset_checks", "build_freshness_checks", "build_freshness_sensor"]


def build_asset_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    """The checks the daily_refresh job runs (freshness checks are separate: their sensor runs
    them, and in a backfill of old days they would only say that today is not there yet)."""
    return [
        *build_csv_checks(settings, partitions_def),
        *build_raw_checks(settings, partitions_def, pool=pool),
        *build_mart_checks(partitions_def, pool=pool),
    ]
