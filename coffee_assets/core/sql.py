"""SQL that DuckDB and BigQuery both accept, and the dates they give back: one place for each.

The checks and the reports query either warehouse through `Warehouse.query` with this SQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def date_literal(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def between(column: str, first: date, last: date) -> str:
    """`column` within first...last, both included."""
    return f"{column} BETWEEN {date_literal(first)} AND {date_literal(last)}"


def cents(expression: str) -> str:
    """Money as integer cents: exact in both warehouses whatever the column's numeric type
    (INTEGER is BigQuery's INT64 and DuckDB's 32-bit integer: plenty for one order or day)."""
    return f"CAST(ROUND(({expression}) * 100) AS INTEGER)"


def as_date(value: Any) -> date:
    """A date as a warehouse returns it (a date, a datetime, or ISO text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
