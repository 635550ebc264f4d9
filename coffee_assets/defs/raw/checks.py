"""Checks on the raw tables: keys and dates over the whole table, and each day's rules.

All blocking: a raw table that fails an ERROR rule holds corrupt data, so dbt must not build on
it (the marts keep their last good content). The loader already guarantees types, required
values and each file's dates; these rules span rows, days and tables. The SQL is written for
both DuckDB and BigQuery (see common.py).

- `unique_key` (every table) and `dates_inside_partitions` (daily tables): one verdict per run
  over the whole table; a duplicate or a stray date is a property of the table, not of a day.
- `daily_rules` (orders, order lines): one verdict per day of the run, covering every rule a
  single day can break on its own; the day's metadata names each failed rule with its offending
  rows. Its severity is ERROR when an ERROR rule fails (blocking what is downstream), WARN when
  only an implausible but consistent volume does.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.core.generator import VolumeProfile, get_profile
from coffee_assets.core.sql import as_date, between, cents
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.runs.books import RunBooks
from coffee_assets.platform.checks import (
    ERROR,
    WARN,
    Offenders,
    Verdict,
    check_metadata,
    emit,
    offenders,
    offenders_per_day,
)
from coffee_assets.platform.partitions import days_between, run_days
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import RAW_SCHEMA, Settings


def raw(warehouse: Warehouse, table: c.TableContract) -> str:
    return warehouse.table_ref(f"{RAW_SCHEMA}.{table.table}")


def raw_name(table: c.TableContract) -> str:
    return f"{RAW_SCHEMA}.{table.table}"


# ------------------------------------------------------------------------ whole-table checks
def build_unique_key_check(table: c.TableContract, *, pool: str | None) -> dg.AssetChecksDefinition:
    key = table.key

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="unique_key",
        description=f"{key} is unique across the whole table (ids never repeat, also across days).",
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _unique_key(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        t = raw(warehouse, table)
        if table.partitioned:
            sql = (
                f"SELECT {key}, COUNT(*) AS copies, MIN({table.date_column}) AS first_day, "
                f"MAX({table.date_column}) AS last_day FROM {t} "
                f"GROUP BY {key} HAVING COUNT(*) > 1"
            )
            columns = [key, "copies", "first_day", "last_day"]
        else:
            sql = f"SELECT {key}, COUNT(*) AS copies FROM {t} GROUP BY {key} HAVING COUNT(*) > 1"
            columns = [key, "copies"]
        hits = offenders(warehouse.query, sql, columns)
        verdict = Verdict(
            hits.count == 0,
            f"every {key} is unique"
            if not hits.count
            else f"{hits.count} duplicated {key} value(s)",
            {"table": raw_name(table), **hits.metadata()},
        )
        yield from emit(context, {None: verdict})

    return _unique_key


# ------------------------------------------------------------- the SQL of the daily rules
def _order_lines_references(warehouse: Warehouse, first: date, last: date):
    lines, orders, products = (raw(warehouse, t) for t in (c.ORDER_DETAILS, c.ORDERS, c.PRODUCTS))
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT l.OrderDate AS day, l.OrderDetailId AS OrderDetailId, l.OrderId AS OrderId,
               l.ProductId AS ProductId,
               CASE WHEN o.OrderId IS NULL AND p.ProductId IS NULL THEN 'no such order, product'
                    WHEN o.OrderId IS NULL THEN 'no such order'
                    ELSE 'no such product' END AS problem
        FROM {lines} AS l
        LEFT JOIN (SELECT DISTINCT OrderId FROM {orders}) AS o ON o.OrderId = l.OrderId
        LEFT JOIN {products} AS p ON p.ProductId = l.ProductId
        WHERE {between("l.OrderDate", first, last)}
          AND (o.OrderId IS NULL OR p.ProductId IS NULL)
        """,
        ["OrderDetailId", "OrderId", "ProductId", "problem"],
    )


def _orders_references(warehouse: Warehouse, first: date, last: date):
    orders, stores, customers = (raw(warehouse, t) for t in (c.ORDERS, c.STORES, c.CUSTOMERS))
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT o.OrderDate AS day, o.OrderId AS OrderId, o.StoreId AS StoreId,
               o.CustomerId AS CustomerId,
               CASE WHEN s.StoreId IS NULL AND o.CustomerId IS NOT NULL AND cu.CustomerId IS NULL
                         THEN 'no such store, customer'
                    WHEN s.StoreId IS NULL THEN 'no such store'
                    ELSE 'no such customer' END AS problem
        FROM {orders} AS o
        LEFT JOIN {stores} AS s ON s.StoreId = o.StoreId
        LEFT JOIN (SELECT DISTINCT CustomerId FROM {customers}) AS cu
               ON cu.CustomerId = o.CustomerId
        WHERE {between("o.OrderDate", first, last)}
          AND (s.StoreId IS NULL OR (o.CustomerId IS NOT NULL AND cu.CustomerId IS NULL))
        """,
        ["OrderId", "StoreId", "CustomerId", "problem"],
    )


def _customers_registered_before_order(warehouse: Warehouse, first: date, last: date):
    orders, customers = raw(warehouse, c.ORDERS), raw(warehouse, c.CUSTOMERS)
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT o.OrderDate AS day, o.OrderId AS OrderId, o.CustomerId AS CustomerId,
               o.OrderDate AS OrderDate, cu.RegistrationDate AS RegistrationDate
        FROM {orders} AS o JOIN {customers} AS cu ON cu.CustomerId = o.CustomerId
        WHERE {between("o.OrderDate", first, last)} AND cu.RegistrationDate > o.OrderDate
        """,
        ["OrderId", "CustomerId", "OrderDate", "RegistrationDate"],
    )


def _amounts_reconcile(warehouse: Warehouse, first: date, last: date):
    """SPEC.md: DiscountAmount = round(SubTotal x rate, 2); TotalAmount = SubTotal -
    DiscountAmount; DiscountApplied = rate > 0; anonymous orders: rate 0. Compared in integer
    cents. Orders whose customer does not exist are the reference check's, not this one's."""
    orders, customers = raw(warehouse, c.ORDERS), raw(warehouse, c.CUSTOMERS)
    rate = "COALESCE(cu.LevelOfDiscount, 0)"
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT day, OrderId, SubTotal, DiscountAmount, expected_discount, TotalAmount,
               expected_total, DiscountApplied
        FROM (
            SELECT o.OrderDate AS day, o.OrderId AS OrderId,
                   {cents("o.SubTotal")} AS SubTotal,
                   {cents("o.DiscountAmount")} AS DiscountAmount,
                   {cents(f"o.SubTotal * {rate}")} AS expected_discount,
                   {cents("o.TotalAmount")} AS TotalAmount,
                   {cents("o.SubTotal")} - {cents(f"o.SubTotal * {rate}")} AS expected_total,
                   o.DiscountApplied AS DiscountApplied,
                   {rate} > 0 AS expected_applied
            FROM {orders} AS o
            LEFT JOIN {customers} AS cu ON cu.CustomerId = o.CustomerId
            WHERE {between("o.OrderDate", first, last)}
              AND (o.CustomerId IS NULL OR cu.CustomerId IS NOT NULL)
        ) AS m
        WHERE DiscountAmount <> expected_discount OR TotalAmount <> expected_total
           OR DiscountApplied <> expected_applied
        """,
        [
            "OrderId",
            "SubTotal",
            "DiscountAmount",
            "expected_discount",
            "TotalAmount",
            "expected_total",
            "DiscountApplied",
        ],
        money=["SubTotal", "DiscountAmount", "expected_discount", "TotalAmount", "expected_total"],
    )


def _lines_add_up_to_subtotal(warehouse: Warehouse, first: date, last: date):
    """SPEC.md: SubTotal = sum(Price x Quantity) of the order's lines, in integer cents. Checked
    on the lines (which need their orders loaded first); per day of the orders in the window."""
    orders, lines, products = (raw(warehouse, t) for t in (c.ORDERS, c.ORDER_DETAILS, c.PRODUCTS))
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT day, OrderId, SubTotal, lines_sum, lines
        FROM (
            SELECT o.OrderDate AS day, o.OrderId AS OrderId, {cents("o.SubTotal")} AS SubTotal,
                   COALESCE(ls.cents, 0) AS lines_sum, COALESCE(ls.lines, 0) AS lines
            FROM {orders} AS o
            LEFT JOIN (
                SELECT l.OrderId AS OrderId, SUM({cents("l.Quantity * p.Price")}) AS cents,
                       COUNT(*) AS lines
                FROM {lines} AS l JOIN {products} AS p ON p.ProductId = l.ProductId
                GROUP BY l.OrderId
            ) AS ls ON ls.OrderId = o.OrderId
            WHERE {between("o.OrderDate", first, last)}
        ) AS m
        WHERE SubTotal <> lines_sum
        """,
        ["OrderId", "SubTotal", "lines_sum", "lines"],
        money=["SubTotal", "lines_sum"],
    )


def _lines_dated_like_their_order(warehouse: Warehouse, first: date, last: date):
    lines, orders = raw(warehouse, c.ORDER_DETAILS), raw(warehouse, c.ORDERS)
    return offenders_per_day(
        warehouse.query,
        f"""
        SELECT l.OrderDate AS day, l.OrderDetailId AS OrderDetailId, l.OrderId AS OrderId,
               l.OrderDate AS line_date, o.OrderDate AS order_date
        FROM {lines} AS l JOIN {orders} AS o ON o.OrderId = l.OrderId
        WHERE {between("l.OrderDate", first, last)} AND o.OrderDate <> l.OrderDate
        """,
        ["OrderDetailId", "OrderId", "line_date", "order_date"],
    )


def build_history_dates_check(
    table: c.TableContract,
    settings: Settings,
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
) -> dg.AssetChecksDefinition:
    """Rows dated outside the partitions (before the history or in an unfinished day) would
    never be replaced or checked by any partition's run: the table holds nothing there."""
    column = table.date_column

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="dates_inside_partitions",
        description=(
            f"No row's {column} lies outside the daily partitions (before the history's start "
            f"{settings.start_date} or after the last complete day): each row belongs to a "
            "partition that loads and checks it."
        ),
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _dates_inside_partitions(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        last_key = partitions_def.get_last_partition_key()
        last = date.fromisoformat(last_key) if last_key else settings.start_date
        hits = offenders(
            warehouse.query,
            f"SELECT {table.key}, {column} FROM {raw(warehouse, table)} "
            f"WHERE NOT ({between(column, settings.start_date, last)})",
            [table.key, column],
        )
        verdict = Verdict(
            hits.count == 0,
            f"every {column} lies within {settings.start_date}...{last}"
            if not hits.count
            else f"{hits.count} row(s) dated outside {settings.start_date}...{last}",
            {
                "table": f"{RAW_SCHEMA}.{table.table}",
                "partitions": f"{settings.start_date}...{last}",
                **hits.metadata(),
            },
        )
        yield from emit(context, {None: verdict})

    return _dates_inside_partitions


# ------------------------------------------------------------------------------ daily rules
@dataclass(frozen=True)
class Finding:
    """What one rule found wrong on one day."""

    summary: str  # e.g. "1 order(s) whose amounts do not reconcile"
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: dg.AssetCheckSeverity = ERROR


# (warehouse, first, last) -> the days of the window on which the rule fails
Finder = Callable[[Warehouse, date, date], dict[date, Finding]]


@dataclass(frozen=True)
class DailyRule:
    name: str
    asserts: str  # what holds when the rule passes, for the check's description
    find: Finder
    reads: tuple[c.TableContract, ...] = ()  # other raw tables the rule joins


def sql_rule(
    name: str,
    asserts: str,
    problem: str,
    offending: Callable[[Warehouse, date, date], dict[date, Offenders]],
    reads: tuple[c.TableContract, ...],
) -> DailyRule:
    """A rule whose SQL returns the offending rows of each day (all of them ERROR)."""

    def find(warehouse: Warehouse, first: date, last: date) -> dict[date, Finding]:
        return {
            day: Finding(f"{hits.count} {problem}", hits.metadata())
            for day, hits in offending(warehouse, first, last).items()
        }

    return DailyRule(name, asserts, find, reads)


def plausible_range(mean: float) -> tuple[int, int]:
    """Counts a Poisson(mean) day falls outside with negligible probability (6 sigma)."""
    spread = 6 * math.sqrt(mean) + 3
    return max(0, math.floor(mean - spread)), math.ceil(mean + spread)


def order_counts(warehouse: Warehouse, first: date, last: date) -> dict[date, int]:
    rows = warehouse.query(
        f"SELECT OrderDate, COUNT(*) FROM {raw(warehouse, c.ORDERS)} "
        f"WHERE {between('OrderDate', first, last)} GROUP BY OrderDate"
    )
    return {as_date(day): int(n) for day, n in rows}


def volume_rule(profile: VolumeProfile) -> DailyRule:
    """The day's order count against the volume profile. An empty day where the profile makes
    one impossible (a header-only or lost delivery) is an ERROR; a count outside 6 standard
    deviations but not zero (a truncated or doubled delivery, or a real odd day) is a WARN."""

    def find(warehouse: Warehouse, first: date, last: date) -> dict[date, Finding]:
        counts = order_counts(warehouse, first, last)
        found = {}
        for day in days_between(first, last):
            count, mean = counts.get(day, 0), profile.mean_for(day)
            low, high = plausible_range(mean)
            if low <= count <= high:
                continue
            empty = count == 0
            found[day] = Finding(
                f"{count} orders, outside the plausible {low}..{high} for a mean of {mean:.1f}"
                + (" (an empty delivery?)" if empty else ""),
                {"orders": count, "plausible_min": low, "plausible_max": high},
                ERROR if empty else WARN,
            )
        return found

    return DailyRule(
        "orders_per_day_plausible",
        f"the day has a number of orders the volume profile ({profile.name}) makes plausible "
        "(within 6 standard deviations; an empty day is an error, another odd count a warning)",
        find,
    )


def build_daily_rules_check(
    table: c.TableContract,
    rules: list[DailyRule],
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
) -> dg.AssetChecksDefinition:
    reads = sorted(
        {t.table: t for rule in rules for t in rule.reads}.values(), key=lambda t: t.table
    )

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="daily_rules",
        description=(
            f"Each day of {raw_name(table)}: "
            + "; ".join(f"{rule.name}: {rule.asserts}" for rule in rules)
            + ". One result per day; the day's metadata names each failed rule."
        ),
        blocking=True,
        partitions_def=partitions_def,
        additional_deps=[raw_asset_key(other) for other in reads if other != table],
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw", rules=", ".join(r.name for r in rules)),
    )
    def _daily_rules(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        days = run_days(context)
        findings = {rule.name: rule.find(warehouse, days[0], days[-1]) for rule in rules}
        verdicts = {}
        for day in days:
            failed = {name: found[day] for name, found in findings.items() if day in found}
            metadata: dict[str, Any] = {"table": raw_name(table), "partition": day.isoformat()}
            for name, finding in failed.items():
                metadata[name] = finding.summary
                metadata |= {f"{name}.{key}": value for key, value in finding.metadata.items()}
            severity = ERROR if any(f.severity == ERROR for f in failed.values()) else WARN
            verdicts[day.isoformat()] = Verdict(
                not failed,
                (
                    "; ".join(f"{name}: {finding.summary}" for name, finding in failed.items())
                    + f" on {day}"
                )
                if failed
                else f"all {len(rules)} rules hold on {day}",
                metadata,
                severity if failed else None,
            )
        yield from emit(context, verdicts)

    return _daily_rules


def daily_rules(settings: Settings) -> dict[c.TableContract, list[DailyRule]]:
    """The rules each daily raw table's `daily_rules` check evaluates, per table."""
    profile = get_profile(settings.volume_profile, settings.orders_per_day)
    orders_rules = [
        volume_rule(profile),
        sql_rule(
            "references_exist",
            "every order's StoreId is a store and its CustomerId, when set, a customer",
            "order(s) with a dangling reference",
            _orders_references,
            reads=(c.STORES, c.CUSTOMERS),
        ),
        sql_rule(
            "customer_registered_by_order_date",
            "no order references a customer registered after the order's date",
            "order(s) by a customer registered after the order date",
            _customers_registered_before_order,
            reads=(c.CUSTOMERS,),
        ),
        sql_rule(
            "amounts_reconcile",
            "to the cent, DiscountAmount = round(SubTotal x the customer's LevelOfDiscount, 2) "
            "(0 for anonymous orders), TotalAmount = SubTotal - DiscountAmount, DiscountApplied "
            "= (rate > 0)",
            "order(s) whose amounts do not reconcile",
            _amounts_reconcile,
            reads=(c.CUSTOMERS,),
        ),
    ]
    order_line_rules = [
        sql_rule(
            "references_exist",
            "every order line's OrderId is an order (of any day) and its ProductId a product",
            "order line(s) with a dangling reference",
            _order_lines_references,
            reads=(c.ORDERS, c.PRODUCTS),
        ),
        sql_rule(
            "dated_like_its_order",
            "each order line's OrderDate (the partition it is loaded in) is its order's date",
            "line(s) dated unlike their order",
            _lines_dated_like_their_order,
            reads=(c.ORDERS,),
        ),
        sql_rule(
            "lines_add_up_to_subtotal",
            "to the cent, each order's SubTotal = sum(Quantity x Price) of its lines (an order "
            "without lines has 0)",
            "order(s) whose lines do not add up to the SubTotal",
            _lines_add_up_to_subtotal,
            reads=(c.ORDERS, c.PRODUCTS),
        ),
    ]
    return {c.ORDERS: orders_rules, c.ORDER_DETAILS: order_line_rules}


def build_raw_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    return [
        *(build_unique_key_check(t, pool=pool) for t in c.ALL_TABLES),
        *(
            build_history_dates_check(t, settings, partitions_def, pool=pool)
            for t in c.DAILY_TABLES
        ),
        *(
            build_daily_rules_check(table, rules, partitions_def, pool=pool)
            for table, rules in daily_rules(settings).items()
        ),
    ]
