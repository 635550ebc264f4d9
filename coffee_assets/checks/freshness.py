"""Freshness: the newest daily partition of the raw tables and the marts arrives on time.

The schedule builds yesterday's partition at 04:30 Kyiv time; by 09:00 (4.5 hours of slack for a
slow or retried run) yesterday's partition must exist. The newest data is then at most about a
day and nine hours old. Dagster's own freshness checks, evaluated by their sensor (they only
read the instance's records, not the warehouse); WARN, since late data is not corrupt data.
"""

import dagster as dg

from coffee_assets import contract as c
from coffee_assets.assets.raw_tables import raw_asset_key
from coffee_assets.checks.marts import FLAT_ORDER_DETAILS
from coffee_assets.settings import TIMEZONE

DEADLINE_CRON = "0 9 * * *"  # 09:00 Kyiv, 4.5 hours after the daily_refresh schedule
FRESHNESS_SENSOR = "freshness_checks_sensor"

# The daily assets at both ends of the warehouse: if yesterday reached them, it reached what
# lies between.
FRESH_ASSETS = [*(raw_asset_key(t) for t in c.DAILY_TABLES), FLAT_ORDER_DETAILS]


def build_freshness_checks() -> list[dg.AssetChecksDefinition]:
    return list(
        dg.build_time_partition_freshness_checks(
            assets=FRESH_ASSETS,
            deadline_cron=DEADLINE_CRON,
            timezone=TIMEZONE,
            severity=dg.AssetCheckSeverity.WARN,
        )
    )


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Runs the freshness checks once a deadline has passed (and again as the checks ask)."""
    return dg.build_sensor_for_freshness_checks(
        freshness_checks=checks,
        name=FRESHNESS_SENSOR,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
