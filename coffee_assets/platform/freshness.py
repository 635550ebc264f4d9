"""Freshness: yesterday's data reaches the raw tables and the marts by 09:00 Kyiv time.

The schedule runs at 04:30; 09:00 leaves 4.5 hours for a slow or retried run. Both ends of the
warehouse carry the policy below (if yesterday reached them, it reached what lies between): the
daily raw tables (defs/raw) and the marts (defs/dbt/translator.py). An asset with it is fresh
when it was materialized in the 24 hours before the last 09:00. Dagster's daemon evaluates the
policies (no run, no check: a backfill or an ad-hoc materialization never judges freshness), the
UI shows the state, and the `asset_check_alerts` sensor announces each change to stale once
(defs/alerts/sensors.py). Late data is not corrupt data: the alert is a warning.
"""

from datetime import timedelta

import dagster as dg

from coffee_assets.core.project import TIMEZONE

DEADLINE_CRON = "0 9 * * *"  # 09:00 Kyiv, 4.5 hours after the daily_refresh schedule

DAILY_BY_NINE = dg.FreshnessPolicy.cron(
    deadline_cron=DEADLINE_CRON, lower_bound_delta=timedelta(hours=24), timezone=TIMEZONE
)
