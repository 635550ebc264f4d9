"""The job that materializes the whole lineage, and its daily schedule."""

from __future__ import annotations

from datetime import date

import dagster as dg

DAILY_REFRESH = "daily_refresh"


def build_daily_refresh() -> dg.UnresolvedAssetJobDefinition:
    # The executor is the code location's (definitions.py): in process on the local target.
    return dg.define_asset_job(
        DAILY_REFRESH,
        selection=dg.AssetSelection.all(),  # partitions: inferred from the assets (daily)
        description="CSV files -> raw tables -> dbt models for a day or a range of days (one run).",
    )


def build_daily_refresh_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every morning at 04:30 Kyiv time, for yesterday's partition."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name=f"{DAILY_REFRESH}_schedule",
        hour_of_day=4,
        minute_of_hour=30,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


# Dagster's run tags for a partition range executed as one run (what the UI's single-run
# backfills and `--partition-range` set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_range_tags(first: date, last: date) -> dict[str, str]:
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def execute_daily_refresh(
    defs: dg.Definitions,
    first: date,
    last: date,
    *,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Run daily_refresh for first...last (inclusive) as one run in this process.

    For notebooks, tests and benchmarks. On the command line, `dagster job execute -j
    daily_refresh --tags` with these two tags does the same (see scripts/run-local.sh).
    """
    return defs.resolve_job_def(DAILY_REFRESH).execute_in_process(
        instance=instance, tags=partition_range_tags(first, last), raise_on_error=raise_on_error
    )
