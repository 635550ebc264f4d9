import dagster as dg

from coffee_assets.defs.business.checks import build_store_day_check
from coffee_assets.defs.business.verdicts import build_verdicts_asset
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.platform.target import target_of
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    target = target_of(settings)
    return dg.Definitions(
        assets=[build_verdicts_asset(kind=target.kind, pool=target.pool)],
        asset_checks=[
            build_store_day_check(
                daily_partitions(settings.start_date),
                pool=target.pool,
                holidays=settings.holidays,
            )
        ],
    )
