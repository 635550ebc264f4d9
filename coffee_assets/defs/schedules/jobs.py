"""The job that materializes the whole lineage and its morning schedule that catches up; the
weekly job that tests whole tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from coffee_assets.core.importer.manifest import read_manifest
from coffee_assets.core.project import TIMEZONE
from coffee_assets.defs.schedules.in_flight import days_left, in_flight
from coffee_assets.platform.partitions import RANGE_END_TAG, RANGE_START_TAG
from coffee_assets.platform.storage import Bucket

DAILY_REFRESH = "daily_refresh"
SCHEDULE = f"{DAILY_REFRESH}_schedule"
WHOLE_TABLE_TESTS = "whole_table_tests"
# Sunday 05:30 Kyiv time: after the morning's daily_refresh (04:30), before anyone reads.
WHOLE_TABLE_CRON = "30 5 * * 0"

# On every daily_refresh run: the production instance's queue runs one at a time
# (deploy/dagster.yaml, tag_concurrency_limits).
JOB_TAG = {"coffee/job": DAILY_REFRESH}


def partition_range_tags(first: date, last: date) -> dict[str, str]:
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def build_daily_refresh() -> dg.UnresolvedAssetJobDefinition:
    # The executor is the code location's (definitions.py): in process.
    return dg.define_asset_job(
        DAILY_REFRESH,
        selection=dg.AssetSelection.all(),  # partitions: inferred from the assets (daily)
        tags=JOB_TAG,
        description=(
            "CSV files -> raw tables -> dbt models -> reports for a day or a range of days "
            "(one run)."
        ),
    )


def build_whole_table_tests(checks: dg.AssetSelection) -> dg.UnresolvedAssetJobDefinition:
    """The checks a daily run scopes to its days, run over whole tables: dbt's data tests and
    the raw tables' unique keys. A run without partitions, so nothing is windowed (the dbt step
    runs the selected tests only, without window vars). What no day's run can see: a key
    repeated across days, a row changed outside the pipeline."""
    return dg.define_asset_job(
        WHOLE_TABLE_TESTS,
        selection=checks,
        tags={"coffee/job": WHOLE_TABLE_TESTS},
        description=(
            "Every data test over whole tables (a daily run tests its own days): dbt's tests "
            "and the raw tables' unique keys. Weekly, or on demand."
        ),
    )


def build_whole_table_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"{WHOLE_TABLE_TESTS}_schedule",
        job=job,
        cron_schedule=WHOLE_TABLE_CRON,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"'{WHOLE_TABLE_CRON}' (Kyiv time): whole_table_tests, every Sunday.",
    )


def days_to_catch_up(
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    complete_asset: dg.AssetKey,
    now: datetime,
) -> tuple[date, date] | None:
    """The days from the one after the newest complete day (the newest partition of
    `complete_asset`, the lineage's last daily asset) to yesterday; None when there is none."""
    keys = partitions_def.get_partition_keys(current_time=now)
    if not keys:
        return None
    statuses = instance.get_status_by_partition(complete_asset, keys, partitions_def) or {}
    done = [
        key for key, status in statuses.items() if status == dg.AssetPartitionStatus.MATERIALIZED
    ]
    first = (
        date.fromisoformat(max(done)) + timedelta(days=1) if done else date.fromisoformat(keys[0])
    )
    last = date.fromisoformat(keys[-1])
    return (first, last) if first <= last else None


def build_daily_refresh_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    complete_asset: dg.AssetKey,
    cron: str,
) -> dg.ScheduleDefinition:
    """Every morning (04:30 Kyiv time by default): every day from the newest complete day up to
    yesterday, as ONE run (the range tags of a single-run backfill). After a week with the laptop
    closed, the first morning it is open catches the week up in one run. Days that a queued or
    running run, or a requested backfill, already builds are not requested again (in_flight.py):
    a tick while the previous tick's run is still on its way skips, naming it."""

    @dg.schedule(
        job=job,
        name=SCHEDULE,
        cron_schedule=cron,  # Settings.schedule_cron: 04:30 unless COFFEE_SCHEDULE_CRON says
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"'{cron}' (Kyiv time): daily_refresh for every day since the newest complete day "
            "up to yesterday, as one run."
        ),
    )
    def daily_refresh_schedule(context: dg.ScheduleEvaluationContext, storage: Bucket):
        days = days_to_catch_up(
            context.instance, partitions_def, complete_asset, context.scheduled_execution_time
        )
        if days is None:
            return dg.SkipReason("every day up to yesterday is complete")
        first, last = days
        manifest = read_manifest(storage)
        if manifest is not None and last > manifest.last_day:
            # Imported data: the days after the import have no files (nothing generates them).
            last = manifest.last_day
            if first > last:
                return dg.SkipReason(
                    f"every imported day is complete ({manifest.label}, up to "
                    f"{manifest.last_day}); newer days come with the next import"
                )
        left = days_left(first, last, in_flight(context.instance, complete_asset, DAILY_REFRESH))
        if isinstance(left, dg.SkipReason):
            return left
        first, last = left
        return dg.RunRequest(
            run_key=f"{first}...{last}",
            tags=partition_range_tags(first, last),
        )

    return daily_refresh_schedule


def execute_daily_refresh(
    defs: dg.Definitions,
    first: date,
    last: date,
    *,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Run daily_refresh for first...last (inclusive) as one run in this process.

    For notebooks, tests and benchmarks. On the command line, `dg launch --job daily_refresh
    --partition-range FIRST...LAST` does the same (see scripts/run-local.sh).
    """
    return defs.resolve_job_def(DAILY_REFRESH).execute_in_process(
        instance=instance, tags=partition_range_tags(first, last), raise_on_error=raise_on_error
    )
