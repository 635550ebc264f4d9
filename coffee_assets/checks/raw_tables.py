"""Checks on the raw tables: keys, references, registration dates, money and dates.

All blocking with ERROR severity: a raw table that fails one holds corrupt data, so dbt must not
build on it (the marts keep their last good content). The loader already guarantees types,
required values and each file's dates; these rules span rows, days and tables. The SQL is
written for both DuckDB and BigQuery (see common.py).
"""

from collections.abc import Callable
from datetime import date

import dagster as dg

from coffee_assets import contract as c
from coffee_assets.assets.raw_tables import raw_asset_key
from coffee_assets.checks.common import (
    ERROR,
    Offenders,
    Verdict,
    cents,
    check_metadata,
    date_window,
    emit,
    offenders,
    offenders_per_day,
    window_days,
)
from coffee_assets.resources import Warehouse
from coffee_assets.settings import RAW_SCHEMA, Settings

# (warehouse, first, last) -> per-day offending rows of the window
DailyRule = Callable[[Warehouse, date, date], dict[date, Offenders]]


def raw(warehouse: Warehouse, table: c.TableContract) -> str:
    return warehouse.table_ref(f"{RAW_SCHEMA}.{table.table}")


def _daily_check(
    table: c.TableContract,
    name: str,
    description: str,
    rule: DailyRule,
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
    reads: tuple[c.TableContract, ...] = (),
    ok: str,
    bad: str,
) -> dg.AssetChecksDefinition:
    """A blocking ERROR check of a daily raw table, one verdict per day of the run's range.
    `reads`: other raw tables the rule joins, so the check runs after they are loaded."""

    @dg.asset_check(
        asset=raw_asset_key(table),
        name=name,
        description=description,
        blocking=True,
        partitions_def=partitions_def,
        additional_deps=[raw_asset_key(other) for other in reads],
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        days = window_days(context)
        found = rule(warehouse, days[0], days[-1])
        verdicts = {}
        for day in days:
            hits = found.get(day, Offenders(0, [], []))
            verdicts[day.isoformat()] = Verdict(
                hits.count == 0,
                ok if hits.count == 0 else f"{hits.count} {bad} on {day}",
                {
                    "table": f"{RAW_SCHEMA}.{table.table}",
                    "partition": day.isoformat(),
                    **hits.metadata(),
                },
            )
        yield from emit(context, verdicts)

    return _check


# ---------------------------------------------------------------------------------- keys
def build_unique_key_check(
    table: c.TableContract, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> dg.AssetChecksDefinition:
    key = table.key
    description = f"{key} is unique across the whole table (ids never repeat, also across days)."
    if table.partitioned:

        def rule(warehouse: Warehouse, first: date, last: date) -> dict[date, Offenders]:
            t = raw(warehouse, table)
            return offenders_per_day(
                warehouse.query,
                f"""
                SELECT w.day AS day, w.k AS {key}, d.copies AS copies
                FROM (SELECT DISTINCT {table.date_column} AS day, {key} AS k FROM {t}
                      WHERE {date_window(table.date_column, first, last)}) AS w
                JOIN (SELECT {key} AS k, COUNT(*) AS copies FROM {t}
                      GROUP BY {key} HAVING COUNT(*) > 1) AS d ON w.k = d.k
                """,
                [key, "copies"],
            )

        return _daily_check(
            table,
            "unique_key",
            description,
            rule,
            partitions_def,
            pool=pool,
            ok=f"every {key} is unique",
            bad=f"duplicated {key} value(s)",
        )

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="unique_key",
        description=description,
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _unique_reference_key(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        hits = offenders(
            warehouse.query,
            f"SELECT {key}, COUNT(*) AS copies FROM {raw(warehouse, table)} "
            f"GROUP BY {key} HAVING COUNT(*) > 1",
            [key, "copies"],
        )
        verdict = Verdict(
            hits.count == 0,
            f"every {key} is unique" if not hits.count else f"{hits.count} duplicated {key}",
            {"table": f"{RAW_SCHEMA}.{table.table}", **hits.metadata()},
        )
        yield from emit(context, {None: verdict})

    return _unique_reference_key


# ---------------------------------------------------------------------------- references
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
        WHERE {date_window("l.OrderDate", first, last)}
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
        WHERE {date_window("o.OrderDate", first, last)}
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
        WHERE {date_window("o.OrderDate", first, last)} AND cu.RegistrationDate > o.OrderDate
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
            WHERE {date_window("o.OrderDate", first, last)}
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
            WHERE {date_window("o.OrderDate", first, last)}
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
        WHERE {date_window("l.OrderDate", first, last)} AND o.OrderDate <> l.OrderDate
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
    def _dates_inside_partitions(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        last_key = partitions_def.get_last_partition_key()
        last = date.fromisoformat(last_key) if last_key else settings.start_date
        hits = offenders(
            warehouse.query,
            f"SELECT {table.key}, {column} FROM {raw(warehouse, table)} "
            f"WHERE NOT ({date_window(column, settings.start_date, last)})",
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


def build_raw_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    p = partitions_def
    return [
        *(build_unique_key_check(t, p, pool=pool) for t in c.ALL_TABLES),
        _daily_check(
            c.ORDER_DETAILS,
            "references_exist",
            "Every order line's OrderId is an order (of any day) and its ProductId a product.",
            _order_lines_references,
            p,
            pool=pool,
            reads=(c.ORDERS, c.PRODUCTS),
            ok="every line's order and product exist",
            bad="order line(s) with a dangling reference",
        ),
        _daily_check(
            c.ORDERS,
            "references_exist",
            "Every order's StoreId is a store and its CustomerId, when set, a customer.",
            _orders_references,
            p,
            pool=pool,
            reads=(c.STORES, c.CUSTOMERS),
            ok="every order's store and customer exist",
            bad="order(s) with a dangling reference",
        ),
        _daily_check(
            c.ORDERS,
            "customer_registered_by_order_date",
            "No order references a customer registered after the order's date.",
            _customers_registered_before_order,
            p,
            pool=pool,
            reads=(c.CUSTOMERS,),
            ok="every customer registered on or before the order",
            bad="order(s) by a customer registered after the order date",
        ),
        _daily_check(
            c.ORDERS,
            "amounts_reconcile",
            "To the cent: DiscountAmount = round(SubTotal x the customer's LevelOfDiscount, 2) "
            "(0 for anonymous orders), TotalAmount = SubTotal - DiscountAmount, DiscountApplied "
            "= (rate > 0).",
            _amounts_reconcile,
            p,
            pool=pool,
            reads=(c.CUSTOMERS,),
            ok="every order's amounts reconcile",
            bad="order(s) whose amounts do not reconcile",
        ),
        _daily_check(
            c.ORDER_DETAILS,
            "lines_add_up_to_subtotal",
            "To the cent: each order's SubTotal = sum(Quantity x Price) of its lines (an order "
            "without lines has 0).",
            _lines_add_up_to_subtotal,
            p,
            pool=pool,
            reads=(c.ORDERS, c.PRODUCTS),
            ok="every order's lines add up to its SubTotal",
            bad="order(s) whose lines do not add up to the SubTotal",
        ),
        _daily_check(
            c.ORDER_DETAILS,
            "dated_like_its_order",
            "Each order line's OrderDate (the partition it is loaded in) is its order's date.",
            _lines_dated_like_their_order,
            p,
            pool=pool,
            reads=(c.ORDERS,),
            ok="every line is dated like its order",
            bad="line(s) dated unlike their order",
        ),
        *(build_history_dates_check(t, settings, p, pool=pool) for t in c.DAILY_TABLES),
    ]
