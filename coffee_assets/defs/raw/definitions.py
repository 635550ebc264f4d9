import dagster as dg

from coffee_assets.defs.raw.assets import build_raw_table_assets
from coffee_assets.defs.raw.checks import build_raw_checks
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.platform.target import target_of
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    target = target_of(settings)
    partitions_def = daily_partitions(settings.start_date)
    return dg.Definitions(
        assets=build_raw_table_assets(partitions_def, kind=target.kind, pool=target.pool),
        asset_checks=build_raw_checks(settings, partitions_def, pool=target.pool),
    )
