"""Checks on the reporting marts against the raw tables they come from.

Blocking with ERROR severity: what is built on the marts (reports) must not show numbers that
disagree with the raw data. (Each day's revenue in the marts against the raw orders is the dbt
test assert_daily_revenue_matches_raw_orders, an asset check of flat_order_details.)
"""

from datetime import date

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.core.dates import as_date
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.core.sql import date_literal
from coffee_assets.defs.dbt.assets import mart_key
from coffee_assets.defs.runs.books import RunBooks
from coffee_assets.platform.checks import ERROR, Verdict, check_metadata, emit, offenders
from coffee_assets.platform.target import target_of
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import Settings


def build_customer_metrics_check(settings: Settings) -> dg.AssetChecksDefinition:
    """flat_customer_metrics is rebuilt whole as of one day (its as_of_date, the newest day of
    the data), so the check compares it with the raw orders up to that date."""

    metrics = mart_key(settings, "flat_customer_metrics")
    relation = ".".join(metrics.path)

    @dg.asset_check(
        asset=metrics,
        name="one_row_per_customer_with_orders",
        description=(
            "Every registered customer with an order on or before the mart's as_of_date has "
            "exactly one row, and no other customer has one."
        ),
        blocking=True,
        pool=target_of(settings).pool,
        metadata=check_metadata(ERROR, layer="marts"),
    )
    def _one_row_per_customer(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        mart = warehouse.table_ref(relation)
        orders = warehouse.table_ref(f"{RAW_SCHEMA}.{c.ORDERS.table}")
        customers = warehouse.table_ref(f"{RAW_SCHEMA}.{c.CUSTOMERS.table}")
        [(as_of, rows)] = warehouse.query(f"SELECT MAX(as_of_date), COUNT(*) FROM {mart}")
        as_of_day = as_date(as_of) if as_of else None
        limit = date_literal(as_of_day or date(1900, 1, 1))
        hits = offenders(
            warehouse.query,
            f"""
            SELECT COALESCE(e.CustomerId, m.customer_id) AS customer_id,
                   COALESCE(m.mart_rows, 0) AS mart_rows,
                   CASE WHEN m.customer_id IS NULL THEN 'missing'
                        WHEN e.CustomerId IS NULL THEN 'unexpected'
                        ELSE 'duplicated' END AS problem
            FROM (
                SELECT DISTINCT o.CustomerId AS CustomerId
                FROM {orders} AS o JOIN {customers} AS cu ON cu.CustomerId = o.CustomerId
                WHERE o.OrderDate <= {limit}
            ) AS e
            FULL OUTER JOIN (
                SELECT customer_id, COUNT(*) AS mart_rows FROM {mart} GROUP BY customer_id
            ) AS m ON m.customer_id = e.CustomerId
            WHERE m.customer_id IS NULL OR e.CustomerId IS NULL OR m.mart_rows <> 1
            """,
            ["customer_id", "mart_rows", "problem"],
        )
        verdict = Verdict(
            hits.count == 0,
            f"one row per customer with orders as of {as_of_day}"
            if not hits.count
            else f"{hits.count} customer(s) without exactly one row as of {as_of_day}",
            {
                "as_of_date": str(as_of_day),
                "mart_rows": rows,
                "table": relation,
                **hits.metadata(),
            },
        )
        yield from emit(context, {None: verdict})

    return _one_row_per_customer


def build_mart_checks(settings: Settings) -> list[dg.AssetChecksDefinition]:
    return [build_customer_metrics_check(settings)]
