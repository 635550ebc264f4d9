"""The alert sensors: failed asset checks (ERROR and WARN, freshness included) and failed runs.

Each failure is announced once, also across daemon restarts: the check sensor keeps in its
cursor (stored by Dagster) the ids of the failed check executions it has announced, and
Dagster's run failure sensor keeps its own cursor of processed run failures. A run that failed
only because blocking checks failed is not announced again as a run failure: its checks were.
"""

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

from coffee_assets.alerts.channels import AlertChannels
from coffee_assets.alerts.message import CHECK_FAILED, FRESHNESS_MISSED, RUN_FAILED, Alert
from coffee_assets.jobs import RANGE_END_TAG, RANGE_START_TAG

CHECK_ALERT_SENSOR = "asset_check_alerts"
RUN_FAILURE_SENSOR = "run_failure_alerts"
# A failure is announced if it is newer than this when first seen: far longer than the daemon is
# ever down, and it bounds the cursor (ids older than this are forgotten).
HORIZON_SECONDS = 7 * 24 * 3600
# On the very first tick (no cursor), older failures are history, not news.
FIRST_TICK_SECONDS = 24 * 3600
RECORDS_PER_CHECK = 50
BLOCKING_CHECK_ERROR = "DagsterAssetCheckFailedError"


def metadata_text(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Metadata values as text (markdown tables stay markdown), in their order."""
    text: dict[str, str] = {}
    for name, value in metadata.items():
        raw = getattr(value, "value", value)
        if name.endswith("timestamp") and isinstance(raw, int | float):
            raw = datetime.fromtimestamp(raw, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        elif isinstance(raw, dict | list):
            raw = json.dumps(raw, sort_keys=True, default=str)
        text[name] = str(raw)
    return text


def run_partition(tags: Mapping[str, str]) -> str | None:
    if RANGE_START_TAG in tags:
        start, end = tags[RANGE_START_TAG], tags.get(RANGE_END_TAG, tags[RANGE_START_TAG])
        return start if start == end else f"{start}...{end}"
    return tags.get("dagster/partition")


def check_alert(
    record: AssetCheckExecutionRecord, instance: dg.DagsterInstance, alerts: AlertChannels
) -> Alert:
    evaluation = record.evaluation
    assert evaluation is not None
    run = instance.get_run_by_id(record.run_id)
    freshness = "dagster/freshness_params" in evaluation.metadata
    details = metadata_text(evaluation.metadata)
    if freshness:  # the params are noise in a message; the overdue figures are the news
        details.pop("dagster/freshness_params", None)
    return Alert(
        key=f"check-execution-{record.id}",
        kind=FRESHNESS_MISSED if freshness else CHECK_FAILED,
        severity=evaluation.severity.value,
        summary=evaluation.description or f"{evaluation.check_name} did not pass",
        asset=evaluation.asset_key.to_user_string(),
        partition=record.partition
        or evaluation.partition
        or run_partition(run.tags if run else {}),
        check=evaluation.check_name,
        job=run.job_name if run else None,
        run_id=record.run_id,
        run_url=alerts.run_url(record.run_id),
        blocking=bool(evaluation.blocking),
        details=details,
        timestamp=record.event.timestamp if record.event else record.create_timestamp,
    )


def failed_check_records(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], since: float
) -> list[AssetCheckExecutionRecord]:
    """Failed check executions evaluated after `since`, oldest first."""
    found = []
    for key in check_keys:
        for record in instance.event_log_storage.get_asset_check_execution_history(
            key, limit=RECORDS_PER_CHECK, status={AssetCheckExecutionRecordStatus.FAILED}
        ):
            if record.event is not None and record.event.timestamp > since:
                found.append(record)
    return sorted(found, key=lambda r: (r.event.timestamp, r.id))


def build_check_alert_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=CHECK_ALERT_SENSOR,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Announces every failed asset check of this code location (ERROR and WARN, dbt "
            "tests and freshness included) once, on the configured alert channels."
        ),
    )
    def asset_check_alerts(context: dg.SensorEvaluationContext, alerts: AlertChannels):
        now = time.time()
        state = json.loads(context.cursor) if context.cursor else None
        seen = set(state["seen"]) if state else set()
        since = now - (HORIZON_SECONDS if state else FIRST_TICK_SECONDS)
        check_keys = context.repository_def.asset_graph.asset_check_keys
        records = failed_check_records(context.instance, check_keys, since)
        sent = 0
        for record in records:
            if record.id in seen:
                continue
            alerts.deliver(check_alert(record, context.instance, alerts), context.log)
            seen.add(record.id)
            sent += 1
        # Only ids still inside the horizon can come back: the cursor stays small.
        keep = sorted({r.id for r in records} & seen)
        context.update_cursor(json.dumps({"seen": keep}))
        return dg.SkipReason(f"{sent} new failed check(s) announced")

    return asset_check_alerts


def build_run_failure_alert_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Announces every failed run once, on the configured alert channels.",
    )
    def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertChannels):
        run = context.dagster_run
        steps = context.get_step_failure_events()
        errors = {
            step.step_key: step.event_specific_data.error
            for step in steps
            if step.event_specific_data is not None and step.event_specific_data.error
        }
        if errors and all(e.cls_name == BLOCKING_CHECK_ERROR for e in errors.values()):
            context.log.info(
                f"run {run.run_id} failed only on blocking checks ({', '.join(errors)}): "
                f"announced by {CHECK_ALERT_SENSOR}"
            )
            return
        details = {
            f"step {step_key}": (error.message or "").strip().splitlines()[0]
            if error.message
            else error.cls_name or "error"
            for step_key, error in errors.items()
        }
        summary = (
            f"{len(errors)} step(s) failed: {', '.join(errors)}"
            if errors
            else (context.failure_event.message or "the run failed")
        )
        alert = Alert(
            key=f"run-{run.run_id}",
            kind=RUN_FAILED,
            severity="ERROR",
            summary=summary,
            partition=run_partition(run.tags),
            job=run.job_name,
            run_id=run.run_id,
            run_url=alerts.run_url(run.run_id),
            details=details,
            timestamp=time.time(),
        )
        alerts.deliver(alert, context.log)

    return run_failure_alerts
