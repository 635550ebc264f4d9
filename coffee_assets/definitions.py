"""The code location: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

import sys

import dagster as dg

from coffee_assets.alerts import alert_resources, build_alert_sensors
from coffee_assets.assets.csv_files import build_csv_assets
from coffee_assets.assets.dbt_models import build_dbt_assets
from coffee_assets.assets.raw_tables import build_raw_table_assets
from coffee_assets.assets.reports import build_report_assets
from coffee_assets.checks import build_asset_checks
from coffee_assets.checks.marts import FLAT_ORDER_DETAILS
from coffee_assets.jobs import build_daily_refresh, build_daily_refresh_schedule
from coffee_assets.partitions import daily_partitions
from coffee_assets.resources import build_resources
from coffee_assets.runs import build_run_health_sensor
from coffee_assets.settings import Settings, SettingsError

# Everything that opens the DuckDB file shares this pool; dagster_home/dagster.yaml limits it
# to 1, so a backfill and a scheduled run never write at the same time.
DUCKDB_POOL = "duckdb"


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    resources = build_resources(settings)  # first: an unusable target fails before dbt parses
    partitions_def = daily_partitions(settings.start_date)
    pool = DUCKDB_POOL if settings.target == "local" else None
    kind = "duckdb" if settings.target == "local" else "bigquery"
    daily_refresh = build_daily_refresh()
    return dg.Definitions(
        assets=[
            *build_csv_assets(partitions_def),
            *build_raw_table_assets(partitions_def, kind=kind, pool=pool),
            build_dbt_assets(settings, partitions_def, pool=pool),
            *build_report_assets(pool=pool),
        ],
        asset_checks=build_asset_checks(settings, partitions_def, pool=pool),
        jobs=[daily_refresh],
        # flat_order_details is the lineage's last daily asset: a day is complete once it is.
        schedules=[
            build_daily_refresh_schedule(
                daily_refresh, partitions_def, FLAT_ORDER_DETAILS, settings.schedule_cron
            )
        ],
        sensors=[*build_alert_sensors(), build_run_health_sensor()],
        resources={**resources, **alert_resources(settings.alerts)},
        # Every job, UI materializations included, on both targets: in process. The steps run
        # one after the other anyway (one DuckDB writer; on BigQuery each waits on its jobs),
        # a process per step costs more than a day's work, and the run's process is the one
        # whose life and locks the run's books follow (coffee_assets/runs.py).
        executor=dg.in_process_executor,
    )


def _defs_from_environment() -> dg.Definitions:
    """The code location of the environment's settings. A bad setting is printed first, as the
    one line `coffee-settings` prints, before the traceback Dagster's loader adds around it
    (`dg launch`, `dg dev` and the code server print both; the line is what to read)."""
    try:
        return build_definitions(Settings.from_env())
    except SettingsError as exc:
        print(f"Settings error: {exc}", file=sys.stderr, flush=True)
        raise


defs = _defs_from_environment()
