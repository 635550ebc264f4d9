import dagster as dg

from coffee_assets.operations.health import build_run_health_sensor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_run_health_sensor()])
