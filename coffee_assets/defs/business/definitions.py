import dagster as dg

from coffee_assets.defs.business.checks import build_store_day_check
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.platform.target import target_of
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(
        asset_checks=[
            build_store_day_check(
                daily_partitions(settings.start_date),
                pool=target_of(settings).pool,
                holidays=settings.holidays,
            )
        ],
    )
