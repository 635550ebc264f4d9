"""The daily partitions every date-based asset shares, and the days a run covers."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.core.dates import days_between
from coffee_assets.core.project import TIMEZONE

__all__ = [
    "check_run_range",
    "daily_partitions",
    "partition_days",
    "range_problem",
    "run_days",
    "run_window",
]

# Dagster's run tags for a partition range executed as one run (what the UI's single-run
# backfills, the schedule and `--partition-range` set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    """One partition per day of the history, in Kyiv time; the newest is yesterday."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=TIMEZONE)


def partition_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last day (inclusive) of the partition range a run materializes."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def run_window(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date] | None:
    """First and last day of the run's partitions (a range, or one partition), or None for a
    run without any (a checks-only run: the weekly whole-table pass, a check run from the UI)."""
    op = context.op_execution_context
    if not (op.has_partition_key_range or op.has_partition_key):
        return None
    return partition_days(context)


def run_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """Every day of the run's partition range (one day for a scheduled run)."""
    days = days_between(*partition_days(context))
    if not days:
        raise dg.Failure(description=range_problem(dict(context.run.tags)) or "no day to run")
    return days


def range_problem(tags: dict[str, str]) -> str | None:
    """Why a run's partition range cannot run (reversed: no day in it), or None. Dagster's CLI
    checks that each end is a partition, not their order."""
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end and end < start:
        return (
            f"the partition range {start}...{end} is reversed (it holds no day): write the "
            f"earlier day first, {end}...{start}"
        )
    return None


def check_run_range(context: dg.InitResourceContext) -> None:
    """Refuse a run whose partition range holds no day, before any step: called where the run's
    resources are set up (the warehouse and the bucket, which every step uses)."""
    run = context.dagster_run
    problem = range_problem(dict(run.tags)) if run is not None else None
    if problem:
        raise dg.Failure(description=problem)
