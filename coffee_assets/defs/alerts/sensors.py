"""The alert sensors: failed asset checks (ERROR and WARN), missed freshness, failed runs.

Each failure is announced once, also across daemon restarts, and never lost: each sensor keeps
in its cursor (stored by Dagster) what it has announced and an outbox of the alerts some channel
has not taken yet (outbox.py: tried again with backoff for two days, the channels that took an
alert never get it twice).

- `asset_check_alerts` reads every failed check execution of the last 7 days (page by page,
  however many a backfill failed), keeps the ids it has announced, the incidents it has
  announced (a store down three days fails three daily evaluations: one incident), the
  quarantined days it announced until they are lifted (then one "resolved" alert:
  defs/raw/quarantine.py), the lasting incidents it announced until an evaluation of a later
  day ends them (a store back to its usual: one "resolved" alert) and, per asset, the moment
  its freshness last turned stale. More than DIGEST_AFTER new failures of one check in one tick
  (a backfill over a bad stretch) are one alert that lists every one of them.
- `run_failure_alerts` reads the failed runs of the last 7 days and keeps the ids it has
  announced. A run that failed only because blocking checks failed is not announced again as a
  run failure: its checks were.
"""

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from coffee_assets.core.alert import CHECK_FAILED, FRESHNESS_MISSED, RESOLVED, RUN_FAILED, Alert
from coffee_assets.core.project import TIMEZONE
from coffee_assets.defs.alerts.channels import AlertChannels
from coffee_assets.defs.alerts.outbox import Outbox
from coffee_assets.defs.raw.quarantine import ACCEPTED, day_rule_checks
from coffee_assets.operations import dagster_internals as internals
from coffee_assets.platform.checks import INCIDENTS, LASTING
from coffee_assets.platform.freshness import DEADLINE_CRON
from coffee_assets.platform.partitions import RANGE_END_TAG, RANGE_START_TAG

CHECK_ALERT_SENSOR = "asset_check_alerts"
RUN_FAILURE_SENSOR = "run_failure_alerts"
# A failure is announced if it is newer than this when first seen: far longer than the daemon is
# ever down, and it bounds the cursor (ids older than this are forgotten).
HORIZON_SECONDS = 7 * 24 * 3600
# On the very first tick (no cursor), older failures are history, not news.
FIRST_TICK_SECONDS = 24 * 3600
# Failed executions read per query (newest first), page after page back to the horizon.
PAGE = 200
# More new failures of one check than this in one tick are announced as one alert listing all.
DIGEST_AFTER = 5
BLOCKING_CHECK_ERROR = "DagsterAssetCheckFailedError"
# Days after a lasting incident's newest known day read per tick to find where it ends: one
# backfill can carry an incident on for at most the judge's INCIDENT_DAYS_MAX days.
INCIDENT_SCAN_DAYS = 60
STALE = ("FAIL", "WARN")


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
    failure: internals.CheckFailure, instance: dg.DagsterInstance, alerts: AlertChannels
) -> Alert:
    evaluation = failure.evaluation
    run = instance.get_run_by_id(failure.run_id)
    return Alert(
        key=f"check-execution-{failure.id}",
        kind=CHECK_FAILED,
        severity=evaluation.severity.value,
        summary=evaluation.description or f"{evaluation.check_name} did not pass",
        asset=evaluation.asset_key.to_user_string(),
        partition=failure.partition
        or evaluation.partition
        or run_partition(run.tags if run else {}),
        check=evaluation.check_name,
        job=run.job_name if run else None,
        run_id=failure.run_id,
        run_url=alerts.run_url(failure.run_id),
        blocking=bool(evaluation.blocking),
        details=metadata_text(evaluation.metadata),
        timestamp=failure.timestamp,
    )


def freshness_alert(
    key: dg.AssetKey, state: internals.Freshness, instance: dg.DagsterInstance
) -> Alert:
    latest = instance.get_latest_materialization_event(key)
    last = (
        datetime.fromtimestamp(latest.timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        if latest
        else "never"
    )
    return Alert(
        key=f"freshness-{key.to_user_string()}-{state.since:.0f}",
        kind=FRESHNESS_MISSED,
        severity="WARN",
        summary=(
            f"{key.to_user_string()} missed its deadline ({DEADLINE_CRON} {TIMEZONE}, daily): "
            f"last materialized {last}"
        ),
        asset=key.to_user_string(),
        details={
            "freshness_state": state.state,
            "stale_since": datetime.fromtimestamp(state.since, tz=UTC).isoformat(),
            "last_materialization": last,
        },
        timestamp=state.since,
    )


def incident_names(evaluation: dg.AssetCheckEvaluation, entry: str = INCIDENTS) -> list[str]:
    """The incidents an evaluation names in its `incidents` metadata (or another `entry`)."""
    value = evaluation.metadata.get(entry)
    text = str(getattr(value, "value", value) or "")
    return [name.strip() for name in text.split(",") if name.strip()]


def failed_checks(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], since: float
) -> list[internals.CheckFailure]:
    """Every failed check execution evaluated after `since`, oldest first (read page by page:
    a backfill may fail a check on hundreds of days)."""
    found = []
    for key in check_keys:
        before = None
        while True:
            page = internals.failed_check_executions(instance, key, PAGE, before_id=before)
            found += [f for f in page if f.timestamp > since]
            if len(page) < PAGE or page[-1].timestamp <= since:
                break
            before = page[-1].id
    return sorted(found, key=lambda f: (f.timestamp, f.id))


def digest_alert(failures: list[internals.CheckFailure], alerts: AlertChannels) -> Alert:
    """One alert for many failures of one check (a backfill over a bad stretch): every
    partition and what it said, and the newest run."""
    newest = failures[-1]
    evaluation = newest.evaluation
    partitions = [f.partition or "-" for f in failures]
    severity = (
        "ERROR"
        if any(f.evaluation.severity == dg.AssetCheckSeverity.ERROR for f in failures)
        else "WARN"
    )
    return Alert(
        key=f"check-executions-{failures[0].id}-{newest.id}",
        kind=CHECK_FAILED,
        severity=severity,
        summary=(
            f"{evaluation.check_name} failed on {len(failures)} partition(s), "
            f"{min(partitions)} to {max(partitions)}; each is listed below"
        ),
        asset=evaluation.asset_key.to_user_string(),
        partition=f"{min(partitions)}...{max(partitions)}",
        check=evaluation.check_name,
        run_id=newest.run_id,
        run_url=alerts.run_url(newest.run_id),
        blocking=bool(evaluation.blocking),
        details={
            "failed": str(len(failures)),
            "partitions": "\n".join(
                f"{f.partition or '-'}: {f.evaluation.description or 'did not pass'}"
                for f in failures
            ),
        },
        timestamp=newest.timestamp,
    )


def incident_end(
    instance: dg.DagsterInstance, check_key: str, name: str, last: str
) -> tuple[internals.CheckFailure | None, str]:
    """How a lasting incident stands: the evaluation of the first day after `last` (its newest
    failed day known) that does not carry it on, which ends it (it names the incident as ended,
    or passes, or names another), and the newest day that carries it on. (None, last) while
    the next day has no evaluation yet."""
    key = dg.AssetCheckKey.from_user_string(check_key)
    day = date.fromisoformat(last)
    for _ in range(INCIDENT_SCAN_DAYS):
        day += timedelta(days=1)
        latest = internals.latest_check_executions(instance, key, day.isoformat())
        if not latest:
            break
        newest = latest[0]
        if not newest.passed and name in incident_names(newest.evaluation):
            last = day.isoformat()
            continue
        return newest, last
    return None, last


def ended_alert(
    name: str, ending: internals.CheckFailure, instance: dg.DagsterInstance, alerts: AlertChannels
) -> Alert:
    summary = f"the incident {name} ended on {ending.partition}: "
    summary += ending.evaluation.description or ""
    key = f"ended-{ending.evaluation.check_name}-{name}"
    return resolution_alert(key, summary, ending, instance, alerts)


def resolution_alert(
    key: str,
    summary: str,
    evaluation_record: internals.CheckFailure,
    instance: dg.DagsterInstance,
    alerts: AlertChannels,
) -> Alert:
    """A `resolved` alert (severity OK) naming the check evaluation that resolved something."""
    evaluation = evaluation_record.evaluation
    run = instance.get_run_by_id(evaluation_record.run_id)
    return Alert(
        key=key,
        kind=RESOLVED,
        severity="OK",
        summary=summary,
        asset=evaluation.asset_key.to_user_string(),
        partition=evaluation_record.partition,
        check=evaluation.check_name,
        job=run.job_name if run else None,
        run_id=evaluation_record.run_id,
        run_url=alerts.run_url(evaluation_record.run_id),
        details={"evaluation": evaluation.description or ""},
        timestamp=evaluation_record.timestamp,
    )


def lifting(
    instance: dg.DagsterInstance, check_key: str, partition: str
) -> internals.CheckFailure | None:
    """The evaluation that lifted a quarantined day (its newest one, when it passed or accepted
    the day), or None while the day is still quarantined."""
    key = dg.AssetCheckKey.from_user_string(check_key)
    latest = internals.latest_check_executions(instance, key, partition)
    if not latest:
        return None
    newest = latest[0]
    if newest.passed or ACCEPTED in newest.evaluation.metadata:
        return newest
    return None


def resolved_alert(
    lifted: internals.CheckFailure, instance: dg.DagsterInstance, alerts: AlertChannels
) -> Alert:
    evaluation = lifted.evaluation
    reason = evaluation.metadata.get(ACCEPTED)
    how = (
        f"accepted as it is ({getattr(reason, 'value', reason)})"
        if reason is not None
        else f"{evaluation.check_name} passes again"
    )
    summary = (
        f"{lifted.partition} is no longer quarantined: {how}; the customer metrics and the "
        "reports take it in on their next build"
    )
    return resolution_alert(f"resolved-{lifted.id}", summary, lifted, instance, alerts)


def cursor_state(cursor: str | None) -> dict[str, Any] | None:
    """A sensor's cursor as this module writes it; None on the first tick, or for a cursor of
    another format (Dagster's run_failure_sensor's, before this sensor replaced it)."""
    try:
        state = json.loads(cursor) if cursor else None
    except ValueError:
        return None
    return state if isinstance(state, dict) and "seen" in state else None


def deliver(
    context: dg.SensorEvaluationContext,
    alerts: AlertChannels,
    outbox: Outbox,
    new: list[Alert],
    now: float,
) -> str:
    """Queue the new alerts on every channel and deliver what is due; what the tick says."""
    for alert in new:
        outbox.add(alert, alerts.names(), now)
    delivery = outbox.deliver(alerts, context.log, now)
    return f"{len(new)} new alert(s); {delivery.summary()}"


def build_check_alert_sensor(interval_seconds: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=CHECK_ALERT_SENSOR,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Announces every failed asset check of this code location (ERROR and WARN, dbt "
            "tests included), every asset that goes stale (its FreshnessPolicy) and every "
            "quarantined day lifted, once, on the configured alert channels; a channel that "
            "fails is tried again on later ticks."
        ),
    )
    def asset_check_alerts(context: dg.SensorEvaluationContext, alerts: AlertChannels):
        now = time.time()
        state = cursor_state(context.cursor)
        seen = set(state["seen"]) if state else set()
        stale: dict[str, float] = dict((state or {}).get("stale", {}))
        # An incident that lasts several days fails a check once a day: announced once, by its
        # name (the evaluation's `incidents`: "store 3 since 2025-03-01").
        incidents: dict[str, float] = dict((state or {}).get("incidents", {}))
        # Quarantined days announced and not lifted yet (kept until they are, whatever their
        # age): "<check key>|<day>" -> when announced.
        quarantined: dict[str, float] = dict((state or {}).get("quarantined", {}))
        # Lasting incidents announced and not ended yet: "<check>: <incident>" -> the check's
        # key and the newest day known to carry it on; and those that ended (not reopened by
        # a rerun of one of their days).
        lasting: dict[str, dict[str, str]] = dict((state or {}).get("lasting", {}))
        ended: dict[str, float] = dict((state or {}).get("ended", {}))
        outbox = Outbox.from_state((state or {}).get("outbox"))
        since = now - (HORIZON_SECONDS if state else FIRST_TICK_SECONDS)
        assert context.repository_def is not None  # a sensor of a code location
        graph = context.repository_def.asset_graph
        failures = failed_checks(context.instance, graph.asset_check_keys, since)
        day_rules = {key.to_user_string() for key in day_rule_checks()}
        news: dict[str, list[internals.CheckFailure]] = defaultdict(list)
        for failure in failures:
            if failure.id in seen:
                continue
            seen.add(failure.id)
            evaluation = failure.evaluation
            check_key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if (
                check_key in day_rules
                and failure.partition
                and evaluation.severity == dg.AssetCheckSeverity.ERROR
            ):
                quarantined.setdefault(f"{check_key}|{failure.partition}", failure.timestamp)
            named = incident_names(evaluation)
            check = evaluation.check_name
            if LASTING in evaluation.metadata and failure.partition:
                for name in named:
                    open_key = f"{check}: {name}"
                    if open_key not in ended:
                        last = lasting.get(open_key, {}).get("last", failure.partition)
                        lasting[open_key] = {
                            "check": check_key,
                            "last": max(last, failure.partition),
                        }
            if named and all(f"{check}: {name}" in incidents for name in named):
                context.log.info(f"{check} ({failure.partition}): incident(s) announced already")
                continue
            incidents |= {f"{check}: {name}": failure.timestamp for name in named}
            news[check_key].append(failure)
        new: list[Alert] = []
        for group in news.values():
            if len(group) > DIGEST_AFTER:
                new.append(digest_alert(group, alerts))
            else:
                new += [check_alert(failure, context.instance, alerts) for failure in group]
        # A quarantined day lifted (its files repaired and the day run again, or accepted):
        # announced once, "resolved".
        for entry in sorted(quarantined):
            check_key, partition = entry.rsplit("|", 1)
            lifted = lifting(context.instance, check_key, partition)
            if lifted is not None:
                new.append(resolved_alert(lifted, context.instance, alerts))
                del quarantined[entry]
        # A lasting incident that ended (the store back to its usual): announced once.
        for open_key, incident in sorted(lasting.items()):
            name = open_key.split(": ", 1)[1]
            ending, incident["last"] = incident_end(
                context.instance, incident["check"], name, incident["last"]
            )
            if ending is not None:
                new.append(ended_alert(name, ending, context.instance, alerts))
                ended[open_key] = ending.timestamp
                del lasting[open_key]
        # Freshness: once per turn to stale (Dagster's daemon evaluates the policies).
        with_policy = [node.key for node in graph.asset_nodes if node.freshness_policy]
        for key, fresh in internals.freshness_states(context.instance, with_policy).items():
            name = key.to_user_string()
            if fresh.state not in STALE:
                stale.pop(name, None)
                continue
            if stale.get(name) == fresh.since or fresh.since <= since:
                continue
            new.append(freshness_alert(key, fresh, context.instance))
            stale[name] = fresh.since
        said = deliver(context, alerts, outbox, new, now)
        # Only ids still inside the horizon can come back: the cursor stays small.
        keep = sorted({f.id for f in failures} & seen)
        recent = {name: at for name, at in incidents.items() if at > now - HORIZON_SECONDS}
        context.update_cursor(
            json.dumps(
                {
                    "seen": keep,
                    "stale": stale,
                    "incidents": recent,
                    "quarantined": quarantined,
                    "lasting": lasting,
                    "ended": {k: at for k, at in ended.items() if at > now - HORIZON_SECONDS},
                    "outbox": outbox.state(),
                }
            )
        )
        return dg.SkipReason(said)

    return asset_check_alerts


def run_failure_alert(
    run: dg.DagsterRun, instance: dg.DagsterInstance, alerts: AlertChannels
) -> Alert | None:
    """The alert of a failed run; None when it failed only on blocking checks (announced as
    checks)."""
    steps = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    errors = {}
    for record in steps:
        event = record.get_dagster_event()
        error = event.step_failure_data.error
        if error is not None:
            errors[str(event.step_key)] = error
    if errors and all(e.cls_name == BLOCKING_CHECK_ERROR for e in errors.values()):
        return None
    details = {
        f"step {step_key}": (error.message or "").strip().splitlines()[0]
        if error.message
        else error.cls_name or "error"
        for step_key, error in errors.items()
    }
    if errors:
        summary = f"{len(errors)} step(s) failed: {', '.join(errors)}"
    else:
        failed = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        message = failed[-1].get_dagster_event().message if failed else None
        summary = message or "the run failed"
    return Alert(
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


def build_run_failure_alert_sensor(interval_seconds: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=RUN_FAILURE_SENSOR,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Announces every failed run of the instance once, on the configured alert "
            "channels; a channel that fails is tried again on later ticks."
        ),
    )
    def run_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertChannels):
        now = time.time()
        state = cursor_state(context.cursor)
        seen = set(state["seen"]) if state else set()
        outbox = Outbox.from_state((state or {}).get("outbox"))
        since = now - (HORIZON_SECONDS if state else FIRST_TICK_SECONDS)
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.FAILURE],
                updated_after=datetime.fromtimestamp(since, tz=UTC),
            ),
            ascending=True,
        )
        new = []
        current = set()
        for record in records:
            run = record.dagster_run
            current.add(run.run_id)
            if run.run_id in seen:
                continue
            seen.add(run.run_id)
            alert = run_failure_alert(run, context.instance, alerts)
            if alert is None:
                context.log.info(
                    f"run {run.run_id} failed only on blocking checks: announced by "
                    f"{CHECK_ALERT_SENSOR}"
                )
                continue
            new.append(alert)
        said = deliver(context, alerts, outbox, new, now)
        context.update_cursor(
            json.dumps({"seen": sorted(seen & current), "outbox": outbox.state()})
        )
        return dg.SkipReason(said)

    return run_failure_alerts
