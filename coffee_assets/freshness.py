"""Freshness: yesterday's data reaches the raw tables and the marts by 09:00 Kyiv time.

The schedule runs at 04:30; 09:00 leaves 4.5 hours for a slow or retried run. Each asset below
has a Dagster FreshnessPolicy: it is fresh when it was materialized in the 24 hours before the
last 09:00. Dagster's daemon evaluates the policies (no run, no check: a backfill or an ad-hoc
materialization never judges freshness), the UI shows the state, and the `asset_check_alerts`
sensor announces each change to stale once (alerts/sensors.py). Late data is not corrupt data:
the alert is a warning.
"""

from datetime import timedelta

import dagster as dg

from coffee_assets import contract as c
from coffee_assets.settings import DBT_SCHEMA, RAW_SCHEMA, TIMEZONE

DEADLINE_CRON = "0 9 * * *"  # 09:00 Kyiv, 4.5 hours after the daily_refresh schedule

DAILY_BY_NINE = dg.FreshnessPolicy.cron(
    deadline_cron=DEADLINE_CRON, lower_bound_delta=timedelta(hours=24), timezone=TIMEZONE
)

# Both ends of the warehouse: if yesterday reached them, it reached what lies between.
FRESH_ASSETS = [
    *(dg.AssetKey([RAW_SCHEMA, t.table]) for t in c.DAILY_TABLES),
    dg.AssetKey([DBT_SCHEMA, "flat_order_details"]),
    dg.AssetKey([DBT_SCHEMA, "flat_customer_metrics"]),
]


def policy_for(key: dg.AssetKey) -> dg.FreshnessPolicy | None:
    """The freshness policy of an asset (set where the asset is defined)."""
    return DAILY_BY_NINE if key in FRESH_ASSETS else None
