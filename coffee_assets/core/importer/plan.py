"""The original showcase's whole-history files, checked and split into this project's daily files.

Pure Python (no Dagster, no bucket): `plan_import` takes the five files' bytes and returns what
breaks this project's rules (every offending row, by file and line), the repairs it made when
asked to, and the daily files to write. Nothing is dropped: a row the import cannot take as it
is, and cannot repair, stops the import.

The rules are the raw tables' (core/rules.py, the same SQL the `daily_rules` checks run): the
parsed files are loaded into an in-memory DuckDB as the raw tables they will become, and each
rule runs over their whole history. A rule the import passes, the checks pass.

What the import converts (the files' meaning does not change):
- LevelOfDiscount written as a percentage ('5%') or `None` is written as the fraction (0.05, 0);
- OrderDetails.csv gets this project's OrderDate column: its order's date;
- booleans are written true/false; any extra column is kept, after the contract's.

What breaks the rules, and what `repair=True` does about it (repair.py):
- `customer_registered_by_order_date`: an order by a customer who registered after the order's
  date (the original drew registration dates at random over the whole history). Repair: the
  customer's RegistrationDate moves back to the date of their first order.
- `discount_half_cent_down` (an `amounts_reconcile` break): a DiscountAmount one cent below
  round-half-up(SubTotal x rate), where the exact amount ends in half a cent (the original
  rounded binary floats). Repair: the discount is rounded half up and TotalAmount = SubTotal -
  DiscountAmount.
- never repaired: values the contract cannot hold (`bad_value`, `malformed`), duplicated ids
  (`unique_key`), dangling references (`references_exist`), amounts off by more than that half
  cent (`amounts_reconcile`), lines dated unlike their order (`dated_like_its_order`) and order
  lines that do not add up to their order's SubTotal (`lines_add_up_to_subtotal`).

Each problem is reported once, at its cause: a row the contract refuses is left out of the
tables the rules read, and what follows from its absence (a reference to it, its order not
adding up) is not reported again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from coffee_assets.core import contract as c
from coffee_assets.core import rules as r
from coffee_assets.core.importer.model import (
    HALF_CENT_DOWN,
    Change,
    Finding,
    ImportPlan,
    ImportProblem,
    Row,
    Table,
)
from coffee_assets.core.importer.parse import read_table
from coffee_assets.core.importer.repair import (
    is_half_cent_down,
    register_on_first_order,
    round_half_up,
)
from coffee_assets.core.importer.write import contract_arrays, money_text


def _load(con: duckdb.DuckDBPyConnection, table: Table, first_day: date) -> None:
    """The accepted rows of a file as the raw table the rules read, typed as the contract says.
    An order line whose order is unknown has no date of its own: it is given the history's
    first day, so that the rules still see it (the references rule reports it)."""
    contract = table.contract
    columns = contract_arrays(contract, table.rows)
    if contract.date_column:
        columns[contract.date_column] = pc.fill_null(columns[contract.date_column], first_day)
    arrow = pa.table(columns)  # noqa: F841 (read by DuckDB by name)
    con.execute(f"CREATE TABLE {contract.table} AS SELECT * FROM arrow")


def _unique(table: Table, findings: list[Finding]) -> dict[Any, Row]:
    """Rows by key; every row whose key an earlier row has is a `unique_key` finding."""
    key = table.contract.key
    seen: dict[Any, Row] = {}
    for row in table.rows:
        value = row.values[key]
        if value in seen:
            findings.append(
                Finding("unique_key", table.contract.file_name, row.line,
                        f"{key}={value} is also on line {seen[value].line}")
            )  # fmt: skip
        else:
            seen[value] = row
    return seen


@dataclass
class _Files:
    """The parsed files, their rows by id, and what the rules found and changed."""

    tables: dict[str, Table]
    by_id: dict[str, dict[Any, Row]]
    repair: bool
    findings: list[Finding] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def rows(self, contract: c.TableContract) -> list[Row]:
        return self.tables[contract.table].rows

    def ids(self, contract: c.TableContract) -> dict[Any, Row]:
        return self.by_id[contract.table]


def plan_import(files: Mapping[str, bytes], *, repair: bool = False) -> ImportPlan:
    """Check the five files (by file name: Customers.csv, ...) and, with `repair`, repair what
    the module docstring lists. The plan's `blocking` findings say whether it may be written."""
    missing = [t.file_name for t in c.ORIGINAL_TABLES if t.file_name not in files]
    if missing:
        raise ImportProblem(f"missing file(s): {', '.join(missing)}")
    findings: list[Finding] = []
    # This project's own reference files (prices over time, the calendar) are optional: the
    # original has none, and without them every product costs its Products.csv price.
    header_only = {t.file_name: (",".join(t.column_names) + "\n").encode() for t in c.ALL_TABLES}
    files = {**header_only, **files}
    tables = {t.table: read_table(t, files[t.file_name], findings) for t in c.ALL_TABLES}
    by_id = {name: _unique(table, findings) for name, table in tables.items()}
    parsed = _Files(tables, by_id, repair, findings)
    _date_lines_by_their_order(parsed)

    plan = ImportPlan(parsed.findings, parsed.changes, tables, repaired=repair)
    dates = [row.values[t.day_column] for t in (c.CUSTOMERS, c.ORDERS) for row in parsed.rows(t)]
    if dates:
        plan.first_day, plan.last_day = min(dates), max(dates)
        _apply_rules(parsed, plan.first_day, plan.last_day)
    plan.rows = {name: len(t.rows) for name, t in tables.items()}
    return plan


def _date_lines_by_their_order(f: _Files) -> None:
    """The OrderDate this project adds to OrderDetails.csv: its order's date, where the file
    does not have it."""
    orders = f.ids(c.ORDERS)
    for row in f.rows(c.ORDER_DETAILS):
        order = orders.get(row.values["OrderId"])
        if row.values.get("OrderDate") is None and order is not None:
            row.values["OrderDate"] = order.values["OrderDate"]


def _apply_rules(f: _Files, first: date, last: date) -> None:
    """Run every rule of core/rules.py over the files' whole history, report what they find
    (leaving out what follows from a refused row) and, with repair, repair what can be."""
    con = duckdb.connect()
    try:
        for table in f.tables.values():
            _load(con, table, first)
        names = {t.table: t.table for t in c.ALL_TABLES}
        found: dict[str, list[dict[str, Any]]] = {}
        for rule in r.ORDER_RULES:
            result = con.execute(rule.query(names, first, last))
            columns = [d[0] for d in result.description]
            rows = [dict(zip(columns, values)) for values in result.fetchall()]
            found.setdefault(rule.name, [])
            found[rule.name] += [
                {"_rule": rule, **row} for row in rows if not _follows_refused(f, rule, row)
            ]
    finally:
        con.close()
    for rows in found.values():
        for row in sorted(rows, key=lambda row: _line(f, row["_rule"], row)):
            rule = row["_rule"]
            if rule.name == r.AMOUNTS and is_half_cent_down(row):
                _report_half_cent(f, row)
                continue
            f.findings.append(
                Finding(
                    rule.name,
                    rule.row_table.file_name,
                    _line(f, rule, row),
                    rule.finding.format(**_shown(rule, row)),
                )
            )
    if f.repair:
        f.changes += register_on_first_order(f.ids(c.CUSTOMERS), found[r.REGISTERED_BY_ORDER_DATE])


def _line(f: _Files, rule: r.Rule, row: dict[str, Any]) -> int:
    table = rule.row_table
    return f.ids(table)[row[rule.columns[0]]].line


def _shown(rule: r.Rule, row: dict[str, Any]) -> dict[str, Any]:
    """A rule's row as the importer words it: amounts as money, tables as their files."""
    shown = dict(row)
    for name in rule.money:
        shown[name] = money_text(row[name])
    if "missing_from" in row:
        shown["missing_from"] = next(
            t.file_name for t in c.ALL_TABLES if t.table == row["missing_from"]
        )
    return shown


def _follows_refused(f: _Files, rule: r.Rule, row: dict[str, Any]) -> bool:
    """A finding that is only the echo of a refused row, reported already at its cause."""
    if rule.name == r.REFERENCES:
        target = f.tables[row["missing_from"]]
        return target.refused_without_key() or row["value"] in target.refused_keys()
    if rule.name == r.LINES_ADD_UP:
        lines = f.tables[c.ORDER_DETAILS.table]
        return (
            bool(f.tables[c.PRODUCTS.table].refused)
            or bool(f.tables[c.PRODUCT_PRICES.table].refused)
            or any("OrderId" not in line.values for line in lines.refused)
            or row["OrderId"] in {line.values["OrderId"] for line in lines.refused}
        )
    return False


def _report_half_cent(f: _Files, row: dict[str, Any]) -> None:
    order = f.ids(c.ORDERS)[row["OrderId"]]
    sub, discount, expected, rate = (
        row["SubTotal"], row["DiscountAmount"], row["expected_discount"], row["rate"]
    )  # fmt: skip
    f.findings.append(
        Finding(HALF_CENT_DOWN, "Orders.csv", order.line,
                f"order {row['OrderId']}: DiscountAmount {money_text(discount)} is "
                f"{money_text(sub)} x {rate}% = {sub * rate / 10000:.4f} rounded down; half up "
                f"gives {money_text(expected)}")
    )  # fmt: skip
    if f.repair:
        f.changes += round_half_up(order, subtotal=sub, discount=expected)
