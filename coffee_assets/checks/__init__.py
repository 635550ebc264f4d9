"""Dagster asset checks (on top of the dbt tests, which are checks already).

- raw_tables.py: keys and dates over each whole raw table, and each day's rules (references,
  registration dates, money, volume) of the orders and order lines (blocking);
- marts.py: the customer metrics mart against the raw tables (blocking);
- freshness.py: the newest partition arrives by 09:00 Kyiv (warning, evaluated by a sensor).

Checks that open the warehouse run in its pool (one DuckDB writer at a time on `local`). The
CSV files' contract is the raw loader's to enforce (resources/warehouse.py): a bad file fails
the raw step, naming file, table, partition and problem, before anything is written.
"""

import dagster as dg

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
        *build_raw_checks(settings, partitions_def, pool=pool),
        *build_mart_checks(pool=pool),
    ]
