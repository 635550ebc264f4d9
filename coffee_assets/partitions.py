"""The daily partitions every date-based asset shares, and the days a run covers."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from coffee_assets.settings import TIMEZONE


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    """One partition per day of the history, in Kyiv time; the newest is yesterday."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=TIMEZONE)


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def partition_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last day (inclusive) of the partition range a run materializes."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


def run_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """Every day of the run's partition range (one day for a scheduled run)."""
    return days_between(*partition_days(context))
