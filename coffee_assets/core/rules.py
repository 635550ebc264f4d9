"""The rules a day of orders keeps, as data: one home for the raw tables' checks and the importer.

Each rule is SQL that DuckDB and BigQuery both read, over the raw tables as the contract types
them, returning the rows that break it: the day first, then `columns`, the first of which names
the offending row. The raw tables' `daily_rules` checks (defs/raw/checks.py) run the rules on the
warehouse for a run's days; coffee-import (core/importer) runs them on the files it reads, loaded
into an in-memory DuckDB, for their whole history. A rule broken in one is broken in the other,
in the same words.

Money is compared in integer cents (sql.cents), a rate in hundredths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from coffee_assets.core import contract as c
from coffee_assets.core.sql import between, cents

# The SQL of a rule: (the name of each raw table in the warehouse's SQL, first day, last day).
Tables = dict[str, str]
RuleSql = Callable[[Tables, date, date], str]


@dataclass(frozen=True)
class Rule:
    name: str
    table: c.TableContract  # the raw table whose `daily_rules` check runs the rule
    asserts: str  # what holds when the rule passes: the check's description
    problem: str  # what a count of offending rows is, e.g. "order(s) whose amounts ..."
    finding: str  # one offending row, formatted with its columns: the importer's message
    sql: RuleSql
    columns: tuple[str, ...]  # what the SQL returns after the day; the first names the row
    reads: tuple[c.TableContract, ...] = ()  # the other raw tables it joins
    money: tuple[str, ...] = ()  # columns in integer cents, shown as amounts
    subject: c.TableContract | None = None  # whose row the first column names (else `table`)

    @property
    def row_table(self) -> c.TableContract:
        return self.subject or self.table

    def query(self, tables: Tables, first: date, last: date) -> str:
        return self.sql(tables, first, last)


def _missing_references(
    table: c.TableContract, references: tuple[tuple[str, c.TableContract], ...]
) -> RuleSql:
    """Rows naming a row of another table that does not exist: one row per missing reference
    (column, value, the table it is missing from). A left join on the key, not a DISTINCT of
    the other table's keys: the window's rows probe it (only unmatched rows come out, so a
    duplicated key there, the unique_key check's finding, repeats nothing)."""

    def sql(t: Tables, first: date, last: date) -> str:
        parts = []
        for column, target in references:
            parts.append(
                f"""
                SELECT s.{table.date_column} AS day, s.{table.key} AS {table.key},
                       '{column}' AS reference, s.{column} AS value,
                       '{target.table}' AS missing_from
                FROM {t[table.table]} AS s
                LEFT JOIN {t[target.table]} AS x ON x.{target.key} = s.{column}
                WHERE {between(f"s.{table.date_column}", first, last)}
                  AND s.{column} IS NOT NULL AND x.{target.key} IS NULL
                """
            )
        return " UNION ALL ".join(parts)

    return sql


def _registered_after_order(t: Tables, first: date, last: date) -> str:
    return f"""
        SELECT o.OrderDate AS day, o.OrderId AS OrderId, o.CustomerId AS CustomerId,
               o.OrderDate AS OrderDate, cu.RegistrationDate AS RegistrationDate
        FROM {t["orders"]} AS o JOIN {t["customers"]} AS cu ON cu.CustomerId = o.CustomerId
        WHERE {between("o.OrderDate", first, last)} AND cu.RegistrationDate > o.OrderDate
    """


def _amounts(t: Tables, first: date, last: date) -> str:
    """docs/spec.md: DiscountAmount = round(SubTotal x rate, 2); TotalAmount = SubTotal -
    DiscountAmount; DiscountApplied = rate > 0; anonymous orders: rate 0. Orders whose customer
    does not exist are the references rule's, not this one's."""
    rate = "COALESCE(cu.LevelOfDiscount, 0)"
    return f"""
        SELECT day, OrderId, SubTotal, DiscountAmount, expected_discount, TotalAmount,
               expected_total, DiscountApplied, rate
        FROM (
            SELECT o.OrderDate AS day, o.OrderId AS OrderId,
                   {cents("o.SubTotal")} AS SubTotal,
                   {cents("o.DiscountAmount")} AS DiscountAmount,
                   {cents(f"o.SubTotal * {rate}")} AS expected_discount,
                   {cents("o.TotalAmount")} AS TotalAmount,
                   {cents("o.SubTotal")} - {cents(f"o.SubTotal * {rate}")} AS expected_total,
                   o.DiscountApplied AS DiscountApplied,
                   {rate} > 0 AS expected_applied,
                   {cents(rate)} AS rate
            FROM {t["orders"]} AS o
            LEFT JOIN {t["customers"]} AS cu ON cu.CustomerId = o.CustomerId
            WHERE {between("o.OrderDate", first, last)}
              AND (o.CustomerId IS NULL OR cu.CustomerId IS NOT NULL)
        ) AS m
        WHERE DiscountAmount <> expected_discount OR TotalAmount <> expected_total
           OR DiscountApplied <> expected_applied
    """


def _lines_dated_like_their_order(t: Tables, first: date, last: date) -> str:
    return f"""
        SELECT l.OrderDate AS day, l.OrderDetailId AS OrderDetailId, l.OrderId AS OrderId,
               l.OrderDate AS line_date, o.OrderDate AS order_date
        FROM {t["order_details"]} AS l JOIN {t["orders"]} AS o ON o.OrderId = l.OrderId
        WHERE {between("l.OrderDate", first, last)} AND o.OrderDate <> l.OrderDate
    """


def _lines_add_up(t: Tables, first: date, last: date) -> str:
    """SubTotal = sum(Price x Quantity) of the order's lines, in integer cents, each line at the
    price valid on its day (ProductPrices, else Products' Price); per day of the orders (whose
    lines must be loaded: the check is on the order lines). The lines are those of the days'
    orders, whatever their own date (a misdated line is the dated_like_its_order rule's
    finding, not a missing line here): found by OrderId, not by scanning every day's lines."""
    window_orders = f"SELECT OrderId FROM {t['orders']} WHERE {between('OrderDate', first, last)}"
    return f"""
        SELECT day, OrderId, SubTotal, lines_sum, lines
        FROM (
            SELECT o.OrderDate AS day, o.OrderId AS OrderId, {cents("o.SubTotal")} AS SubTotal,
                   COALESCE(ls.cents, 0) AS lines_sum, COALESCE(ls.lines, 0) AS lines
            FROM {t["orders"]} AS o
            LEFT JOIN (
                SELECT l.OrderId AS OrderId,
                       SUM({cents("l.Quantity * COALESCE(pp.Price, p.Price)")}) AS cents,
                       COUNT(*) AS lines
                FROM {t["order_details"]} AS l
                JOIN ({window_orders}) AS w ON w.OrderId = l.OrderId
                JOIN {t["products"]} AS p
                     ON p.ProductId = l.ProductId
                LEFT JOIN {t["product_prices"]} AS pp
                     ON pp.ProductId = l.ProductId AND l.OrderDate >= pp.ValidFrom
                    AND (pp.ValidTo IS NULL OR l.OrderDate <= pp.ValidTo)
                GROUP BY l.OrderId
            ) AS ls ON ls.OrderId = o.OrderId
            WHERE {between("o.OrderDate", first, last)}
        ) AS m
        WHERE SubTotal <> lines_sum
    """


REFERENCES = "references_exist"
REGISTERED_BY_ORDER_DATE = "customer_registered_by_order_date"
AMOUNTS = "amounts_reconcile"
DATED_LIKE_ORDER = "dated_like_its_order"
LINES_ADD_UP = "lines_add_up_to_subtotal"

ORDER_RULES: tuple[Rule, ...] = (
    Rule(
        REFERENCES,
        c.ORDERS,
        "every order's StoreId is a store and its CustomerId, when set, a customer",
        "dangling reference(s) of orders",
        "{reference}={value} is not in {missing_from}",
        _missing_references(c.ORDERS, (("StoreId", c.STORES), ("CustomerId", c.CUSTOMERS))),
        ("OrderId", "reference", "value", "missing_from"),
        reads=(c.STORES, c.CUSTOMERS),
    ),
    Rule(
        REGISTERED_BY_ORDER_DATE,
        c.ORDERS,
        "no order references a customer registered after the order's date",
        "order(s) by a customer registered after the order date",
        "order {OrderId} of {OrderDate} is by customer {CustomerId}, registered on "
        "{RegistrationDate}",
        _registered_after_order,
        ("OrderId", "CustomerId", "OrderDate", "RegistrationDate"),
        reads=(c.CUSTOMERS,),
    ),
    Rule(
        AMOUNTS,
        c.ORDERS,
        "to the cent, DiscountAmount = round(SubTotal x the customer's LevelOfDiscount, 2) "
        "(0 for anonymous orders), TotalAmount = SubTotal - DiscountAmount, DiscountApplied "
        "= (rate > 0)",
        "order(s) whose amounts do not reconcile",
        "order {OrderId}: SubTotal {SubTotal}, rate {rate}%, DiscountAmount {DiscountAmount} "
        "(expected {expected_discount}), TotalAmount {TotalAmount} (expected "
        "{expected_total}), DiscountApplied {DiscountApplied}",
        _amounts,
        (
            "OrderId",
            "SubTotal",
            "DiscountAmount",
            "expected_discount",
            "TotalAmount",
            "expected_total",
            "DiscountApplied",
            "rate",
        ),  # fmt: skip
        reads=(c.CUSTOMERS,),
        money=("SubTotal", "DiscountAmount", "expected_discount", "TotalAmount", "expected_total"),
    ),
    Rule(
        REFERENCES,
        c.ORDER_DETAILS,
        "every order line's OrderId is an order (of any day) and its ProductId a product",
        "dangling reference(s) of order lines",
        "{reference}={value} is not in {missing_from}",
        _missing_references(c.ORDER_DETAILS, (("OrderId", c.ORDERS), ("ProductId", c.PRODUCTS))),
        ("OrderDetailId", "reference", "value", "missing_from"),
        reads=(c.ORDERS, c.PRODUCTS),
    ),
    Rule(
        DATED_LIKE_ORDER,
        c.ORDER_DETAILS,
        "each order line's OrderDate (the partition it is loaded in) is its order's date",
        "line(s) dated unlike their order",
        "line {OrderDetailId} of order {OrderId} is dated {line_date}, its order {order_date}",
        _lines_dated_like_their_order,
        ("OrderDetailId", "OrderId", "line_date", "order_date"),
        reads=(c.ORDERS,),
    ),
    Rule(
        LINES_ADD_UP,
        c.ORDER_DETAILS,
        "to the cent, each order's SubTotal = sum(Quantity x Price) of its lines, at the price "
        "valid on the day (an order without lines has 0)",
        "order(s) whose lines do not add up to the SubTotal",
        "order {OrderId}: SubTotal {SubTotal}, its {lines} line(s) in OrderDetails.csv add up "
        "to {lines_sum}",
        _lines_add_up,
        ("OrderId", "SubTotal", "lines_sum", "lines"),
        reads=(c.ORDERS, c.PRODUCTS, c.PRODUCT_PRICES),
        money=("SubTotal", "lines_sum"),
        subject=c.ORDERS,
    ),
)


def rules_of(table: c.TableContract) -> tuple[Rule, ...]:
    """The rules the `daily_rules` check of a raw table runs."""
    return tuple(rule for rule in ORDER_RULES if rule.table == table)


def duplicated_keys(
    table: c.TableContract, ref: str, window: tuple[date, date] | None = None
) -> str:
    """Key values found more than once, with how often and, for a daily table, on which days:
    a duplicate is a property of the whole table (ids never repeat, also across days). With a
    window (a daily table's run), only the keys of the window's rows, each counted over the
    whole table: a day's run finds a new row repeating any older one without grouping the
    history by key, and a pass without a window finds everything."""
    key = table.key
    if table.partitioned:
        scope = ""
        if window is not None:
            day = between(table.day_column, *window)
            scope = f"WHERE {key} IN (SELECT {key} FROM {ref} WHERE {day}) "
        return (
            f"SELECT {key}, COUNT(*) AS copies, MIN({table.date_column}) AS first_day, "
            f"MAX({table.date_column}) AS last_day FROM {ref} {scope}"
            f"GROUP BY {key} HAVING COUNT(*) > 1"
        )
    return f"SELECT {key}, COUNT(*) AS copies FROM {ref} GROUP BY {key} HAVING COUNT(*) > 1"
