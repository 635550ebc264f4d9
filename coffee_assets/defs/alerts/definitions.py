import dagster as dg

from coffee_assets.defs.alerts.sensors import (
    build_check_alert_sensor,
    build_run_failure_alert_sensor,
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_check_alert_sensor(), build_run_failure_alert_sensor()])
