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
from datetime import date
from decimal import Decimal
from typing import Any

from coffee_assets.core import contract as c
from coffee_assets.core.generator.core import days_between

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
    # Rows with a value the contract refuses (each a finding already), with the values that
    # could be read: another row that names one of them is not a dangling reference.
    refused: list[Row] = field(default_factory=list)

    def refused_keys(self) -> set[Any]:
        key = self.contract.key
        return {row.values[key] for row in self.refused if key in row.values}

    def refused_without_key(self) -> bool:
        """Some refused row's key cannot be read: what it was is unknown."""
        return any(self.contract.key not in row.values for row in self.refused)


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
        return days_between(self.first_day, self.last_day)


# ------------------------------------------------------------------------------------ parsing
_PERCENT = re.compile(c.PERCENT)


def _parse(col: c.Column, text: str) -> Any:
    """The value of one field, or raise ValueError with the reason (the contract's words)."""
    value = _typed(col, text)
    if value is not None:
        # Money in cents and rates in hundredths are compared as the amounts they stand for.
        number = Decimal(value) / 100 if col.type in (c.MONEY, c.RATE) else value
        problem = col.value_problem(number)
        if problem:
            raise ValueError(f"value {text!r} {problem}")
    return value


def _typed(col: c.Column, text: str) -> Any:
    """The value of one field as its type says, or raise ValueError with the contract's words."""
    value = text.strip()
    if value == "":
        if col.nullable:
            return None
        raise ValueError("empty where a value is required")
    kind = col.type
    if kind == c.RATE and value == c.NO_RATE:
        return 0  # the original's generator: a customer without a discount level
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
    """Parse a whole file; rows with a bad value become findings and are kept apart (refused),
    with the values that could be read, so that the rules over the other rows neither use them
    nor report what follows from them (a reference to a refused row is not dangling)."""
    name = contract.file_name
    if not data:
        raise ImportProblem(f"{name}: {c.EMPTY_FILE}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, words = c.utf8_problem(data, exc)
        raise ImportProblem(f"{name} line {line}: {words}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ImportProblem(f"{name}: line 1 is empty: expected the header (the column names)")
    problem = contract.header_problem(header)
    if problem:
        raise ImportProblem(f"{name}: {problem}")
    positions = {col.name: header.index(col.name) for col in contract.columns if col.name in header}
    extra = [i for i, h in enumerate(header) if h not in contract.column_names]
    table = Table(contract, [header[i] for i in extra], [])
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(header):
            findings.append(
                Finding("malformed", name, line, f"{len(fields)} fields, the header has "
                        f"{len(header)}")
            )  # fmt: skip
            key = contract.key
            readable = {}
            if key in positions and positions[key] < len(fields):
                try:
                    readable[key] = _parse(contract.column(key), fields[positions[key]])
                except ValueError:
                    pass
            table.refused.append(Row(line, readable, []))
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
        (table.rows if ok else table.refused).append(Row(line, values, [fields[i] for i in extra]))
    return table


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

    def refused(self, contract: c.TableContract) -> Table:
        return self.tables[contract.table]


def plan_import(files: Mapping[str, bytes], *, repair: bool = False) -> ImportPlan:
    """Check the five files (by file name: Customers.csv, ...) and, with `repair`, repair what
    the module docstring lists. The plan's `blocking` findings say whether it may be written."""
    missing = [t.file_name for t in c.ALL_TABLES if t.file_name not in files]
    if missing:
        raise ImportProblem(f"missing file(s): {', '.join(missing)}")
    findings: list[Finding] = []
    tables = {t.table: read_table(t, files[t.file_name], findings) for t in c.ALL_TABLES}
    by_id = {name: _unique(table, findings) for name, table in tables.items()}
    parsed = _Files(tables, by_id, repair, findings)
    _references(parsed)
    _registered_by_first_order(parsed)
    _amounts(parsed)
    _lines_add_up(parsed)

    plan = ImportPlan(parsed.findings, parsed.changes, tables, repaired=repair)
    dates = [row.values[t.date_column] for t in (c.CUSTOMERS, c.ORDERS) for row in parsed.rows(t)]
    if dates:
        plan.first_day, plan.last_day = min(dates), max(dates)
    plan.rows = {name: len(t.rows) for name, t in tables.items()}
    return plan


def _references(f: _Files) -> None:
    """Every store, customer, order and product a row names exists."""
    checks = [
        (c.ORDERS, "StoreId", c.STORES),
        (c.ORDERS, "CustomerId", c.CUSTOMERS),
        (c.ORDER_DETAILS, "OrderId", c.ORDERS),
        (c.ORDER_DETAILS, "ProductId", c.PRODUCTS),
    ]
    for table, column, target in checks:
        known = f.ids(target)
        target_table = f.tables[target.table]
        if target_table.refused_without_key():
            continue  # which ids the refused rows hold is unknown: they are reported
        refused = target_table.refused_keys()
        for row in f.rows(table):
            value = row.values[column]
            if value is not None and value not in known and value not in refused:
                f.findings.append(
                    _dangling(table.file_name, row, f"{column}={value}", target.file_name)
                )


def _registered_by_first_order(f: _Files) -> None:
    """A customer registers on or before their first order; repaired by moving the
    registration back to that order's date."""
    customers = f.ids(c.CUSTOMERS)
    first_order: dict[int, date] = {}
    for row in f.rows(c.ORDERS):
        customer, day = row.values["CustomerId"], row.values["OrderDate"]
        if customer not in customers:
            continue  # anonymous, or a dangling reference (reported)
        first_order[customer] = min(first_order.get(customer, day), day)
        registered = customers[customer].values["RegistrationDate"]
        if registered > day:
            f.findings.append(
                Finding(REGISTERED_AFTER_ORDER, "Orders.csv", row.line,
                        f"order {row.values['OrderId']} of {day} is by customer {customer}, "
                        f"registered on {registered} (Customers.csv line "
                        f"{customers[customer].line})")
            )  # fmt: skip
    if not f.repair:
        return
    for customer, first in sorted(first_order.items()):
        row = customers[customer]
        registered = row.values["RegistrationDate"]
        if registered > first:
            row.values["RegistrationDate"] = first
            f.changes.append(
                Change("Customers.csv", row.line, f"CustomerId={customer}", "RegistrationDate",
                       str(registered), str(first), REGISTERED_AFTER_ORDER)
            )  # fmt: skip


def _amounts(f: _Files) -> None:
    """DiscountAmount = round half up(SubTotal x rate), TotalAmount = SubTotal - DiscountAmount,
    DiscountApplied = rate > 0 (in cents; a rate in hundredths). A discount half a cent below
    is repairable; any other difference is not."""
    customers = f.ids(c.CUSTOMERS)
    for row in f.rows(c.ORDERS):
        v = row.values
        customer = v["CustomerId"]
        if customer is not None and customer not in customers:
            continue  # a dangling reference, reported
        rate = 0 if customer is None else customers[customer].values["LevelOfDiscount"]
        sub, discount, total = v["SubTotal"], v["DiscountAmount"], v["TotalAmount"]
        exact = sub * rate  # in 1/100 of a cent
        expected = (exact + 50) // 100
        applied_ok = v["DiscountApplied"] == (rate > 0)
        half_cent_down = exact % 100 == 50 and discount == expected - 1
        if half_cent_down and total in (sub - discount, sub - expected) and applied_ok:
            f.findings.append(
                Finding(HALF_CENT_DOWN, "Orders.csv", row.line,
                        f"order {v['OrderId']}: DiscountAmount {_money(discount)} is "
                        f"{_money(sub)} x {rate}% = {exact / 10000:.4f} rounded down; half up "
                        f"gives {_money(expected)}")
            )  # fmt: skip
            if f.repair:
                _set_amounts(f, row, discount=expected, total=sub - expected)
        elif discount != expected or total != sub - discount or not applied_ok:
            f.findings.append(
                Finding("amounts_reconcile", "Orders.csv", row.line,
                        f"order {v['OrderId']}: SubTotal {_money(sub)}, rate {rate}%, "
                        f"DiscountAmount {_money(discount)} (expected {_money(expected)}), "
                        f"TotalAmount {_money(total)}, DiscountApplied {v['DiscountApplied']}")
            )  # fmt: skip


def _set_amounts(f: _Files, row: Row, *, discount: int, total: int) -> None:
    key = f"OrderId={row.values['OrderId']}"
    for column, new in (("DiscountAmount", discount), ("TotalAmount", total)):
        old = row.values[column]
        if old != new:
            f.changes.append(
                Change("Orders.csv", row.line, key, column, _money(old), _money(new),
                       HALF_CENT_DOWN)
            )  # fmt: skip
            row.values[column] = new


def _lines_add_up(f: _Files) -> None:
    """Each order's lines add up to its SubTotal; each line takes its order's date (the
    OrderDate column this project adds)."""
    orders, products = f.ids(c.ORDERS), f.ids(c.PRODUCTS)
    line_sum: Counter[int] = Counter()
    for row in f.rows(c.ORDER_DETAILS):
        order, product = orders.get(row.values["OrderId"]), products.get(row.values["ProductId"])
        if order is not None:
            row.values["OrderDate"] = order.values["OrderDate"]
        if product is not None:
            line_sum[row.values["OrderId"]] += row.values["Quantity"] * product.values["Price"]
    lines, known_products = f.tables[c.ORDER_DETAILS.table], f.tables[c.PRODUCTS.table]
    if any("OrderId" not in row.values for row in lines.refused) or known_products.refused:
        return  # a refused line or product could be anywhere: those rows are reported
    # An order with a refused line cannot add up; the line is reported, not the order.
    incomplete = {row.values["OrderId"] for row in lines.refused}
    for row in f.rows(c.ORDERS):
        v = row.values
        if v["OrderId"] not in incomplete and line_sum[v["OrderId"]] != v["SubTotal"]:
            f.findings.append(
                Finding("lines_add_up_to_subtotal", "Orders.csv", row.line,
                        f"order {v['OrderId']}: SubTotal {_money(v['SubTotal'])}, its lines in "
                        f"OrderDetails.csv add up to {_money(line_sum[v['OrderId']])}")
            )  # fmt: skip


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
