"""Dagster asset checks (on top of the dbt tests, which are checks already).

- raw_tables.py: keys and dates over each whole raw table, and each day's rules (references,
  registration dates, money, volume) of the orders and order lines (blocking);
- marts.py: the customer metrics mart against the raw tables (blocking).

(Freshness is a FreshnessPolicy on the assets, not a check: see coffee_assets/freshness.py.)

Checks that open the warehouse run in its pool (one DuckDB writer at a time on `local`). The
CSV files' contract is the raw loader's to enforce (resources/warehouse.py): a bad file fails
the raw step, naming file, table, partition and problem, before anything is written.
"""

import dagster as dg

from coffee_assets.checks.marts import build_mart_checks
from coffee_assets.checks.raw_tables import build_raw_checks
from coffee_assets.settings import Settings

__all__ = ["build_asset_checks"]


def build_asset_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    """Every Dagster check of the code location; daily_refresh runs them all."""
    return [
        *build_raw_checks(settings, partitions_def, pool=pool),
        *build_mart_checks(pool=pool),
    ]
