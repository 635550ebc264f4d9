"""A planned import as this project's files: the daily files by day, the reference files, and the
rows each day holds."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from coffee_assets.core import contract as c
from coffee_assets.core.generator.writer import to_csv_bytes
from coffee_assets.core.importer.model import ImportPlan, Row, Table

# The contract's types as exact values: money and rates as decimals with 2 places (written
# 12.50 and 0.05), whatever the original spelled.
_ARROW = {
    c.INT: pa.int64(),
    c.MONEY: pa.decimal128(12, 2),
    c.RATE: pa.decimal128(4, 2),
    c.STRING: pa.string(),
    c.DATE: pa.date32(),
    c.BOOL: pa.bool_(),
    c.FLOAT: pa.float64(),
}


def _exact(col: c.Column, value: Any) -> Any:
    """A parsed value as the raw table holds it (money in cents and rates in hundredths as
    exact decimals)."""
    if value is not None and col.type in (c.MONEY, c.RATE):
        return Decimal(value) / 100
    return value


def contract_arrays(contract: c.TableContract, rows: list[Row]) -> dict[str, pa.Array]:
    """The rows' values column by column, typed as the contract says: what the raw table
    holds, and what the files are written from."""
    return {
        col.name: pa.array([_exact(col, r.values.get(col.name)) for r in rows], _ARROW[col.type])
        for col in contract.columns
    }


def money_text(cents: int) -> str:
    """An amount in cents as the files write it: 1250 -> 12.50."""
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def csv_bytes(table: Table, rows: list[Row]) -> bytes:
    """A file in this project's spelling, through the generator's writer: the contract's
    columns, then the file's extra ones (as the original wrote them)."""
    columns = contract_arrays(table.contract, rows)
    for i, name in enumerate(table.extra_columns):
        columns[name] = pa.array([row.extra[i] for row in rows], pa.string())
    return to_csv_bytes(pa.table(columns))


def daily_files(plan: ImportPlan) -> dict[date, dict[c.TableContract, bytes]]:
    """Every day of the plan's range, each daily table's file (header only on a day without
    rows, so every partition of the range has its files)."""
    per_day: dict[c.TableContract, dict[date, list[Row]]] = {}
    for contract in c.DAILY_TABLES:
        grouped: dict[date, list[Row]] = defaultdict(list)
        for row in plan.tables[contract.table].rows:
            grouped[row.values[contract.day_column]].append(row)
        per_day[contract] = grouped
    return {
        day: {
            contract: csv_bytes(plan.tables[contract.table], per_day[contract].get(day, []))
            for contract in c.DAILY_TABLES
        }
        for day in plan.days
    }


def reference_files(plan: ImportPlan) -> dict[c.TableContract, bytes]:
    return {
        t: csv_bytes(plan.tables[t.table], plan.tables[t.table].rows) for t in c.REFERENCE_TABLES
    }


def rows_per_day(plan: ImportPlan) -> dict[str, dict[str, int]]:
    """{table: {day: rows}} for the manifest."""
    counts: dict[str, dict[str, int]] = {}
    for contract in c.DAILY_TABLES:
        tally = Counter(
            str(r.values[contract.day_column]) for r in plan.tables[contract.table].rows
        )
        counts[contract.table] = dict(sorted(tally.items()))
    return counts
