import dagster as dg

from coffee_assets.defs.dbt.assets import build_dbt_assets
from coffee_assets.defs.dbt.checks import build_mart_checks
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(
        assets=[build_dbt_assets(settings)], asset_checks=build_mart_checks(settings)
    )
