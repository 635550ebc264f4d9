"""The `run_health` sensor: the run books' recovery, every minute while the daemon runs."""

import time
from datetime import UTC, datetime

import dagster as dg

from coffee_assets.operations.books import MARKED_TAG, mark_failed_partitions, recover_dead_runs

HEALTH_SENSOR = "run_health"
RECENT_FAILURES_SECONDS = 7 * 24 * 3600


def build_run_health_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=HEALTH_SENSOR,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Marks runs whose process died as failed and frees their pool slots, and shows the "
            "undone partitions of failed runs as failed."
        ),
    )
    def run_health(context: dg.SensorEvaluationContext):
        recovered = recover_dead_runs(context.instance, context.log)
        since = time.time() - RECENT_FAILURES_SECONDS
        failed = context.instance.get_run_records(
            filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.FAILURE],
                updated_after=datetime.fromtimestamp(since, tz=UTC),
            )
        )
        marked = 0
        for record in failed:
            if not record.dagster_run.tags.get(MARKED_TAG):
                marked += bool(mark_failed_partitions(context.instance, record.dagster_run.run_id))
        return dg.SkipReason(
            f"{len(recovered)} dead run(s) recovered, {marked} failed run(s) marked"
        )

    return run_health
