import dagster as dg

from coffee_assets.defs.alerts.sensors import (
    build_check_alert_sensor,
    build_run_failure_alert_sensor,
)
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    interval = current_settings().alerts.interval_seconds  # COFFEE_ALERT_INTERVAL_SECONDS
    return dg.Definitions(
        sensors=[build_check_alert_sensor(interval), build_run_failure_alert_sensor(interval)]
    )
