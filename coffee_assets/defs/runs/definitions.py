import dagster as dg

from coffee_assets.defs.runs.books import run_books
from coffee_assets.defs.runs.health import build_run_health_sensor
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        sensors=[build_run_health_sensor()],
        resources={"run_books": run_books(current_settings())},
    )
