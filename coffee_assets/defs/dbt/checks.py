"""Checks on the reporting marts against the rollups they are built from.

Blocking with ERROR severity: what is built on the marts (reports) must not show numbers that
disagree with the data they come from. (Each day's revenue in the marts against the raw orders
is the dbt test assert_daily_revenue_matches_raw_orders, an asset check of flat_order_details.)
"""

from datetime import date

import dagster as dg

from coffee_assets.core.dates import as_date
from coffee_assets.core.sql import between
from coffee_assets.defs.dbt.assets import LAST_DAILY_MODEL, STORE_DAYS_MODEL, mart_key
from coffee_assets.defs.dbt.coverage import coverage, held_days
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.checks import ERROR, Verdict, check_metadata, emit, offenders
from coffee_assets.platform.partitions import run_window
from coffee_assets.platform.target import target_of
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import Settings


def customer_rows_sql(mart: str, customer_days: str, window: tuple[date, date] | None) -> str:
    """The customers whose rows in flat_customer_metrics disagree with the customer-day rollup
    it is built from (agg_customer_days), like with like: each customer with orders in the
    window has exactly one row, recent and full enough to hold those days; no customer has two
    rows or a row without orders. Without a window, every customer of the rollup, and no row
    the rollup does not explain."""
    scope = f"WHERE {between('order_date', *window)}" if window else ""
    rollup = f"""
        SELECT customer_id, MAX(order_date) AS last_day, SUM(orders) AS orders
        FROM {customer_days} {scope} GROUP BY customer_id"""
    rows = f"""
        SELECT customer_id, COUNT(*) AS mart_rows, MIN(last_order_date) AS last_order_date,
               MIN(orders_all_time) AS orders_all_time
        FROM {mart} GROUP BY customer_id"""
    join = "LEFT JOIN" if window else "FULL OUTER JOIN"
    return f"""
        SELECT customer_id, mart_rows, problem FROM (
            SELECT COALESCE(d.customer_id, m.customer_id) AS customer_id,
                   COALESCE(m.mart_rows, 0) AS mart_rows,
                   CASE WHEN m.customer_id IS NULL THEN 'missing'
                        WHEN d.customer_id IS NULL THEN 'unexpected'
                        WHEN m.mart_rows <> 1 THEN 'duplicated'
                        WHEN m.last_order_date < d.last_day THEN 'last order too early'
                        WHEN m.orders_all_time < d.orders THEN 'too few orders'
                   END AS problem
            FROM ({rollup}) AS d {join} ({rows}) AS m ON m.customer_id = d.customer_id
            UNION DISTINCT
            SELECT customer_id, mart_rows,
                   CASE WHEN mart_rows <> 1 THEN 'duplicated' ELSE 'no orders' END AS problem
            FROM ({rows}) AS m
            WHERE mart_rows <> 1 OR orders_all_time < 1
        ) AS found
        WHERE problem IS NOT NULL"""


def build_customer_metrics_check(settings: Settings) -> dg.AssetChecksDefinition:
    """flat_customer_metrics holds every customer of agg_customer_days as of one day (through
    agg_customers, carried on by day): the check compares it with that rollup on the run's days
    (what changed), not with every raw order of the history, and names the days the mart is
    built without (coverage.py)."""

    metrics = mart_key(settings, "flat_customer_metrics")
    customer_days = mart_key(settings, "agg_customer_days")
    last_daily = mart_key(settings, LAST_DAILY_MODEL)
    store_days = mart_key(settings, STORE_DAYS_MODEL)
    relation = ".".join(metrics.path)

    @dg.asset_check(
        asset=metrics,
        name="one_row_per_customer_with_orders",
        description=(
            "Every registered customer with orders on the run's days (agg_customer_days) has "
            "exactly one row, as recent and with at least as many orders as those days; no "
            "customer has two rows or a row without orders. A run without days checks every "
            "customer of the rollup. Its metadata names the days the mart is built without."
        ),
        blocking=True,
        pool=target_of(settings).pool,
        metadata=check_metadata(ERROR, layer="marts"),
    )
    def _one_row_per_customer(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        mart = warehouse.table_ref(relation)
        rollup = warehouse.table_ref(".".join(customer_days.path))
        window = run_window(context)
        [(as_of, rows)] = warehouse.query(f"SELECT MAX(as_of_date), COUNT(*) FROM {mart}")
        as_of_day = as_date(as_of) if as_of else None
        hits = offenders(
            warehouse.query,
            customer_rows_sql(mart, rollup, window),
            ["customer_id", "mart_rows", "problem"],
        )
        scope = f"{window[0]}...{window[1]}" if window else "every day"
        held = (
            coverage(
                context.instance,
                last_daily,
                settings.start_date,
                as_of_day,
                held_days(
                    warehouse.query,
                    warehouse.table_ref(".".join(store_days.path)),
                    settings.start_date,
                    as_of_day,
                ),
            )
            if as_of_day
            else None
        )
        note = f" ({held.note()})" if held else ""
        verdict = Verdict(
            hits.count == 0,
            f"one row per customer with orders on {scope}{note}"
            if not hits.count
            else f"{hits.count} customer(s) of {scope} without exactly one fitting row{note}",
            {
                "as_of_date": str(as_of_day),
                "mart_rows": rows,
                "table": relation,
                "scope": scope,
                **(held.metadata() if held else {}),
                **hits.metadata(),
            },
        )
        yield from emit(context, {None: verdict})

    return _one_row_per_customer


def build_mart_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [build_customer_metrics_check(settings)]
