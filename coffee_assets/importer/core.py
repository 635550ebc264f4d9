"""The original showcase's whole-history files, checked and split into this project's daily files.

Pure Python (no Dagster, no bucket): `plan_import` takes the five files' bytes and returns what
breaks this project's rules (every offending row, by file and line), the repairs it made when
asked to, and the daily files to write. Nothing is dropped: a row the import cannot take as it
is, and cannot repair, stops the import.

What the import converts (the files' meaning does not change):
- LevelOfDiscount written as a percentage ('5%') is written as the fraction (0.05);
- OrderDetails.csv gets this project's OrderDate column: its order's date;
- booleans are written true/false; any extra column is kept, after the contract's.

What breaks the rules, and what `repair=True` does about it:
- `registered_after_order`: an order by a customer who registered after the order's date (the
  original drew registration dates at random over the whole history). Repair: the customer's
  RegistrationDate moves back to the date of their first order.
- `discount_half_cent_down`: a DiscountAmount one cent below round-half-up(SubTotal x rate),
  where the exact amount ends in half a cent (the original rounded binary floats). Repair: the
  discount is rounded half up and TotalAmount = SubTotal - DiscountAmount.
- never repaired: values the contract cannot hold, duplicated ids, dangling references (a store,
  customer, order or product that does not exist), amounts off by more than that half cent, and
  order lines that do not add up to their order's SubTotal.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from coffee_assets import contract as c

REGISTERED_AFTER_ORDER = "registered_after_order"
HALF_CENT_DOWN = "discount_half_cent_down"
REPAIRABLE = {
    REGISTERED_AFTER_ORDER: "the customer's RegistrationDate moves back to their first order",
    HALF_CENT_DOWN: "DiscountAmount rounded half up, TotalAmount = SubTotal - DiscountAmount",
}


class ImportProblem(ValueError):
    """The files cannot be imported at all (a file missing, a header off the contract)."""


@dataclass(frozen=True)
class Finding:
    """A row that breaks a rule."""

    rule: str
    file: str
    line: int
    message: str

    @property
    def repairable(self) -> bool:
        return self.rule in REPAIRABLE

    def __str__(self) -> str:
        fix = f" [repair: {REPAIRABLE[self.rule]}]" if self.repairable else " [not repairable]"
        return f"{self.file} line {self.line}: {self.rule}: {self.message}{fix}"


@dataclass(frozen=True)
class Change:
    """One value a repair changed."""

    file: str
    line: int
    key: str  # e.g. "CustomerId=17"
    column: str
    old: str
    new: str
    rule: str

    def __str__(self) -> str:
        return (
            f"{self.file} line {self.line} ({self.key}): {self.column} {self.old} -> {self.new}"
            f" ({self.rule})"
        )


@dataclass
class Row:
    """A parsed row: contract values (typed) plus the file's extra columns (text)."""

    line: int
    values: dict[str, Any]
    extra: list[str]


@dataclass
class Table:
    contract: c.TableContract
    extra_columns: list[str]
    rows: list[Row]


@dataclass
class ImportPlan:
    findings: list[Finding]
    changes: list[Change]
    tables: dict[str, Table]
    repaired: bool = False
    first_day: date | None = None
    last_day: date | None = None
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Finding]:
        """Findings that stop the import: all of them without repair, else the unrepairable."""
        return [f for f in self.findings if not (self.repaired and f.repairable)]

    @property
    def days(self) -> list[date]:
        if self.first_day is None or self.last_day is None:
            return []
        n = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(n)]


# ------------------------------------------------------------------------------------ parsing
_PERCENT = re.compile(c.PERCENT)


def _parse(col: c.Column, text: str) -> Any:
    """The value of one field, or raise ValueError with the reason (the contract's words)."""
    value = text.strip()
    if value == "":
        if col.nullable:
            return None
        raise ValueError("empty where a value is required")
    kind = col.type
    if kind == c.RATE and _PERCENT.fullmatch(value):
        hundredths = _cents(value[:-1])  # '5%' -> 5 hundredths; '2.5%' has no exact hundredth
        if hundredths is None or hundredths % 100 or not 0 <= hundredths <= 10000:
            raise ValueError(f"value {text!r} is not {kind.words}")
        return hundredths // 100
    if kind.pattern and not re.fullmatch(kind.pattern, value):
        raise ValueError(f"value {text!r} is not {kind.words}")
    try:
        if kind == c.INT:
            return int(value)
        if kind in (c.MONEY, c.RATE):
            return _cents(value)  # money in cents, a rate in hundredths (0.05 -> 5)
        if kind == c.DATE:
            return date.fromisoformat(value)
        if kind == c.BOOL:
            return value.lower() == "true"
        if kind == c.FLOAT:
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
    except ValueError:
        raise ValueError(f"value {text!r} is not {kind.words}") from None
    return value


def _cents(text: str) -> int | None:
    """'10.5' -> 1050 (exact, no float); None when it has more than 2 decimals."""
    sign = -1 if text.startswith("-") else 1
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > 2 or not (whole + fraction).isdigit():
        return None
    return sign * (int(whole or "0") * 100 + int(fraction.ljust(2, "0")))


def _format(col: c.Column, value: Any) -> str:
    """A value in this project's spelling."""
    if value is None:
        return ""
    if col.type in (c.MONEY, c.RATE):
        cents = int(value)
        return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
    if col.type == c.BOOL:
        return "true" if value else "false"
    return str(value)


def read_table(contract: c.TableContract, data: bytes, findings: list[Finding]) -> Table:
    """Parse a whole file; rows with a bad value become findings (and are left out of the
    checks that need their values, which cannot matter: such findings stop the import)."""
    name = contract.file_name
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader, None)
    if not header:
        raise ImportProblem(f"{name}: the file is empty (no header)")
    problem = contract.header_problem(header)
    if problem:
        raise ImportProblem(f"{name}: {problem}")
    positions = {col.name: header.index(col.name) for col in contract.columns if col.name in header}
    extra = [i for i, h in enumerate(header) if h not in contract.column_names]
    rows = []
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(header):
            findings.append(
                Finding("malformed", name, line, f"{len(fields)} fields, the header has "
                        f"{len(header)}")
            )  # fmt: skip
            continue
        values: dict[str, Any] = {}
        ok = True
        for col in contract.columns:
            if col.name not in positions:  # from_partition_if_missing: filled in later
                continue
            try:
                values[col.name] = _parse(col, fields[positions[col.name]])
            except ValueError as exc:
                findings.append(Finding("bad_value", name, line, f"column {col.name}: {exc}"))
                ok = False
        if ok:
            rows.append(Row(line, values, [fields[i] for i in extra]))
    return Table(contract, [header[i] for i in extra], rows)


# ------------------------------------------------------------------------------------ checking
def _unique(table: Table, findings: list[Finding]) -> dict[Any, Row]:
    key = table.contract.key
    seen: dict[Any, Row] = {}
    for row in table.rows:
        value = row.values[key]
        if value in seen:
            findings.append(
                Finding("duplicated_id", table.contract.file_name, row.line,
                        f"{key}={value} is also on line {seen[value].line}")
            )  # fmt: skip
        else:
            seen[value] = row
    return seen


def plan_import(files: Mapping[str, bytes], *, repair: bool = False) -> ImportPlan:
    """Check the five files (by file name: Customers.csv, ...) and, with `repair`, repair what
    the module docstring lists. The plan's `blocking` findings say whether it may be written."""
    missing = [t.file_name for t in c.ALL_TABLES if t.file_name not in files]
    if missing:
        raise ImportProblem(f"missing file(s): {', '.join(missing)}")
    findings: list[Finding] = []
    tables = {t.table: read_table(t, files[t.file_name], findings) for t in c.ALL_TABLES}
    customers, orders, lines = (tables[t.table] for t in c.DAILY_TABLES)
    by_id = {name: _unique(table, findings) for name, table in tables.items()}
    stores, products = by_id[c.STORES.table], by_id[c.PRODUCTS.table]
    by_customer, by_order = by_id[c.CUSTOMERS.table], by_id[c.ORDERS.table]
    changes: list[Change] = []

    # References.
    for row in orders.rows:
        v = row.values
        if v["StoreId"] not in stores:
            findings.append(_dangling("Orders.csv", row, f"StoreId={v['StoreId']}", "Stores.csv"))
        if v["CustomerId"] is not None and v["CustomerId"] not in by_customer:
            findings.append(
                _dangling("Orders.csv", row, f"CustomerId={v['CustomerId']}", "Customers.csv")
            )
    for row in lines.rows:
        v = row.values
        if v["OrderId"] not in by_order:
            findings.append(
                _dangling("OrderDetails.csv", row, f"OrderId={v['OrderId']}", "Orders.csv")
            )
        if v["ProductId"] not in products:
            findings.append(
                _dangling("OrderDetails.csv", row, f"ProductId={v['ProductId']}", "Products.csv")
            )

    # A customer registers on or before their first order.
    first_order: dict[int, date] = {}
    for row in orders.rows:
        customer = row.values["CustomerId"]
        if customer in by_customer:
            day = row.values["OrderDate"]
            first_order[customer] = min(first_order.get(customer, day), day)
            registered = by_customer[customer].values["RegistrationDate"]
            if registered > day:
                findings.append(
                    Finding(REGISTERED_AFTER_ORDER, "Orders.csv", row.line,
                            f"order {row.values['OrderId']} of {day} is by customer {customer}, "
                            f"registered on {registered} (Customers.csv line "
                            f"{by_customer[customer].line})")
                )  # fmt: skip
    if repair:
        for customer, first in sorted(first_order.items(), key=lambda kv: str(kv[0])):
            row = by_customer[customer]
            registered = row.values["RegistrationDate"]
            if registered > first:
                row.values["RegistrationDate"] = first
                changes.append(
                    Change("Customers.csv", row.line, f"CustomerId={customer}",
                           "RegistrationDate", str(registered), str(first), REGISTERED_AFTER_ORDER)
                )  # fmt: skip

    # Amounts: DiscountAmount = round half up(SubTotal x rate), TotalAmount = SubTotal - discount.
    for row in orders.rows:
        v = row.values
        customer = v["CustomerId"]
        if customer is not None and customer not in by_customer:
            continue  # a dangling reference, reported above
        rate = 0 if customer is None else by_customer[customer].values["LevelOfDiscount"]
        sub, discount, total = v["SubTotal"], v["DiscountAmount"], v["TotalAmount"]
        exact = sub * rate  # in 1/100 of a cent
        expected = (exact + 50) // 100
        applied_ok = v["DiscountApplied"] == (rate > 0)
        half_cent_down = exact % 100 == 50 and discount == expected - 1
        if half_cent_down and total in (sub - discount, sub - expected) and applied_ok:
            findings.append(
                Finding(HALF_CENT_DOWN, "Orders.csv", row.line,
                        f"order {v['OrderId']}: DiscountAmount {_money(discount)} is "
                        f"{_money(sub)} x {rate}% = {exact / 10000:.4f} rounded down; half up "
                        f"gives {_money(expected)}")
            )  # fmt: skip
            if repair:
                key = f"OrderId={v['OrderId']}"
                for column, new in (("DiscountAmount", expected), ("TotalAmount", sub - expected)):
                    if v[column] != new:
                        changes.append(
                            Change("Orders.csv", row.line, key, column, _money(v[column]),
                                   _money(new), HALF_CENT_DOWN)
                        )  # fmt: skip
                        v[column] = new
        elif discount != expected or total != sub - discount or not applied_ok:
            findings.append(
                Finding("amounts_reconcile", "Orders.csv", row.line,
                        f"order {v['OrderId']}: SubTotal {_money(sub)}, rate {rate}%, "
                        f"DiscountAmount {_money(discount)} (expected {_money(expected)}), "
                        f"TotalAmount {_money(total)}, DiscountApplied {v['DiscountApplied']}")
            )  # fmt: skip

    # Lines add up to their order's SubTotal; each line takes its order's date.
    line_sum: Counter[int] = Counter()
    for row in lines.rows:
        order, product = by_order.get(row.values["OrderId"]), products.get(row.values["ProductId"])
        if order is not None:
            row.values["OrderDate"] = order.values["OrderDate"]
        if product is not None:
            line_sum[row.values["OrderId"]] += row.values["Quantity"] * product.values["Price"]
    for row in orders.rows:
        v = row.values
        if line_sum[v["OrderId"]] != v["SubTotal"]:
            findings.append(
                Finding("lines_add_up_to_subtotal", "Orders.csv", row.line,
                        f"order {v['OrderId']}: SubTotal {_money(v['SubTotal'])}, its lines in "
                        f"OrderDetails.csv add up to {_money(line_sum[v['OrderId']])}")
            )  # fmt: skip

    plan = ImportPlan(findings, changes, tables, repaired=repair)
    dates = [r.values[t.contract.date_column] for t in (customers, orders) for r in t.rows]
    if dates:
        plan.first_day, plan.last_day = min(dates), max(dates)
    plan.rows = {name: len(t.rows) for name, t in tables.items()}
    return plan


def _dangling(file: str, row: Row, reference: str, target: str) -> Finding:
    return Finding("dangling_reference", file, row.line, f"{reference} is not in {target}")


def _money(cents: int) -> str:
    return _format(c.Column("x", c.MONEY), cents)


# ------------------------------------------------------------------------------------ writing
def csv_bytes(table: Table, rows: list[Row]) -> bytes:
    """A file in this project's spelling: the contract's columns, then the file's extra ones."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.contract.column_names + table.extra_columns)
    for row in rows:
        writer.writerow(
            [_format(col, row.values.get(col.name)) for col in table.contract.columns] + row.extra
        )
    return out.getvalue().encode()


def daily_files(plan: ImportPlan) -> dict[date, dict[c.TableContract, bytes]]:
    """Every day of the plan's range, each daily table's file (header only on a day without
    rows, so every partition of the range has its files)."""
    per_day: dict[c.TableContract, dict[date, list[Row]]] = {}
    for contract in c.DAILY_TABLES:
        grouped: dict[date, list[Row]] = defaultdict(list)
        for row in plan.tables[contract.table].rows:
            grouped[row.values[contract.date_column]].append(row)
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
            str(r.values[contract.date_column]) for r in plan.tables[contract.table].rows
        )
        counts[contract.table] = dict(sorted(tally.items()))
    return counts
