"""The job that materializes the whole lineage, and its daily schedule."""

from __future__ import annotations

import dagster as dg

DAILY_REFRESH = "daily_refresh"


def build_daily_refresh(partitions_def: dg.PartitionsDefinition) -> dg.UnresolvedAssetJobDefinition:
    # In-process: the steps share one DuckDB writer anyway (pool of 1), and starting a process
    # per step costs more than the work of a day (see README, Performance).
    return dg.define_asset_job(
        DAILY_REFRESH,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions_def,
        executor_def=dg.in_process_executor,
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
