"""The job that materializes the whole lineage and its morning schedule that catches up; the
weekly job that tests whole tables."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.core.importer.manifest import read_manifest
from coffee_assets.core.project import TIMEZONE
from coffee_assets.defs.schedules.catch_up import plan_catch_up
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


def build_daily_refresh_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    complete_asset: dg.AssetKey,
    cron: str,
) -> dg.ScheduleDefinition:
    """Every morning (04:30 Kyiv time by default): every day of the history up to yesterday that
    is not built yet, one run per stretch of consecutive days (catch_up.py). After a week with
    the laptop closed, the first morning it is open catches the week up in one run; a day left
    behind by a crash is built again; a quarantined day is left alone and the days around it go
    on; days something already builds are not requested again (in_flight.py)."""

    @dg.schedule(
        job=job,
        name=SCHEDULE,
        cron_schedule=cron,  # Settings.schedule_cron: 04:30 unless COFFEE_SCHEDULE_CRON says
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"'{cron}' (Kyiv time): daily_refresh for every day up to yesterday not built yet, "
            "one run per stretch of consecutive days; quarantined days are left until repaired."
        ),
    )
    def daily_refresh_schedule(context: dg.ScheduleEvaluationContext, storage: Bucket):
        manifest = read_manifest(storage)
        # Imported data: the days after the import have no files (nothing generates them).
        last_day = manifest.last_day if manifest is not None else None
        plan = plan_catch_up(
            context.instance,
            partitions_def,
            complete_asset,
            DAILY_REFRESH,
            context.scheduled_execution_time,
            last_day,
        )
        for note in plan.notes():
            context.log.info(note)
        if not plan.ranges:
            done = (
                f"every imported day is complete ({manifest.label}, up to {manifest.last_day}); "
                "newer days come with the next import"
                if manifest is not None
                else "every day up to yesterday is complete"
            )
            notes = plan.notes()
            return dg.SkipReason(f"nothing to request: {'; '.join(notes)}" if notes else done)
        return [
            dg.RunRequest(run_key=f"{first}...{last}", tags=partition_range_tags(first, last))
            for first, last in plan.ranges
        ]

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
