import dagster as dg

from coffee_assets.defs.sources.assets import build_csv_assets
from coffee_assets.platform.partitions import daily_partitions
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_csv_assets(daily_partitions(current_settings().start_date)))
