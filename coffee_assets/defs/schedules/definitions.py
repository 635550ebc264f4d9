import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.defs.dbt.assets import build_dbt_assets, mart_key
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.schedules.jobs import (
    build_daily_refresh,
    build_daily_refresh_schedule,
    build_whole_table_schedule,
    build_whole_table_tests,
)
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    daily_refresh = build_daily_refresh()
    # flat_order_details is the lineage's last daily asset: a day is complete once it is.
    complete = mart_key(settings, "flat_order_details")
    schedule = build_daily_refresh_schedule(
        daily_refresh, daily_partitions(settings.start_date), complete, settings.schedule_cron
    )
    whole_tables = build_whole_table_tests(
        dg.AssetSelection.checks_for_assets(build_dbt_assets(settings))
        | dg.AssetSelection.checks(
            *(dg.AssetCheckKey(raw_asset_key(t), "unique_key") for t in c.ALL_TABLES)
        )
    )
    return dg.Definitions(
        jobs=[daily_refresh, whole_tables],
        schedules=[schedule, build_whole_table_schedule(whole_tables)],
    )
