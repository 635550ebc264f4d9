import dagster as dg

from coffee_assets.defs.alerts.resources import ALERTS_RESOURCE, alerts_resource
from coffee_assets.defs.alerts.sensors import (
    build_check_alert_sensor,
    build_run_failure_alert_sensor,
)
from coffee_assets.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        sensors=[build_check_alert_sensor(), build_run_failure_alert_sensor()],
        resources={ALERTS_RESOURCE: alerts_resource(current_settings().alerts)},
    )
