"""A planned import as this project's files: the daily files by day, the reference files, and the
rows each day holds."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from coffee_assets.core import contract as c
from coffee_assets.core.importer.model import ImportPlan, Row, Table


def cell_text(col: c.Column, value: Any) -> str:
    """A value in this project's spelling."""
    if value is None:
        return ""
    if col.type in (c.MONEY, c.RATE):
        cents = int(value)
        return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    if col.type == c.BOOL:
        return "true" if value else "false"
    return str(value)


def money_text(cents: int) -> str:
    """An amount in cents as the files write it: 1250 -> 12.50."""
    return cell_text(c.Column("amount", c.MONEY), cents)


def csv_bytes(table: Table, rows: list[Row]) -> bytes:
    """A file in this project's spelling: the contract's columns, then the file's extra ones."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.contract.column_names + table.extra_columns)
    for row in rows:
        writer.writerow(
            [cell_text(col, row.values.get(col.name)) for col in table.contract.columns] + row.extra
        )
    return out.getvalue().encode()


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
