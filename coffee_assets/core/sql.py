"""SQL that DuckDB and BigQuery both accept: one place for each piece.

The checks and the reports query either warehouse through `Warehouse.query` with this SQL.
"""

from __future__ import annotations

from datetime import date


def date_literal(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def between(column: str, first: date, last: date) -> str:
    """`column` within first...last, both included."""
    return f"{column} BETWEEN {date_literal(first)} AND {date_literal(last)}"


def cents(expression: str) -> str:
    """Money as integer cents: exact in both warehouses whatever the column's numeric type
    (INTEGER is BigQuery's INT64 and DuckDB's 32-bit integer: plenty for one order or day)."""
    return f"CAST(ROUND(({expression}) * 100) AS INTEGER)"
