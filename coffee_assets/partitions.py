"""The daily partitions every date-based asset shares."""

from __future__ import annotations

from datetime import date

import dagster as dg

from coffee_assets.settings import TIMEZONE


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    """One partition per day of the history, in Kyiv time; the newest is yesterday."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone=TIMEZONE)


def partition_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partition range a run materializes."""
    key_range = context.partition_key_range
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
