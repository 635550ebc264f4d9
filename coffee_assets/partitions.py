"""The daily partitions every date-based asset shares, and the days a run covers."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.generator.core import days_between
from coffee_assets.settings import TIMEZONE

__all__ = ["daily_partitions", "days_between", "partition_days", "run_days"]


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    """One partition per day of the history, in Kyiv time; the newest is yesterday."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=TIMEZONE)


def partition_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last day (inclusive) of the partition range a run materializes."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def run_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """Every day of the run's partition range (one day for a scheduled run)."""
    return days_between(*partition_days(context))
