import dagster as dg

from coffee_assets.defs.reports.assets import build_report_assets
from coffee_assets.defs.runs.books import run_books
from coffee_assets.platform.target import shared_resources
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(
        assets=build_report_assets(settings),
        resources={**shared_resources(settings), "run_books": run_books(settings)},
    )
