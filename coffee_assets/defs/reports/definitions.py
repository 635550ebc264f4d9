import dagster as dg

from coffee_assets.defs.reports.assets import build_report_assets
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_report_assets(current_settings()))
