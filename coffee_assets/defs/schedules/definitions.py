import dagster as dg

from coffee_assets.defs.dbt.assets import mart_key
from coffee_assets.defs.schedules.jobs import build_daily_refresh, build_daily_refresh_schedule
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.platform.target import shared_resources
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
    return dg.Definitions(
        jobs=[daily_refresh],
        schedules=[schedule],
        resources={"storage": shared_resources(settings)["storage"]},
    )
