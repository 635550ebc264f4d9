"""What the reports show, pulled from the marts' rollups as compact, pre-aggregated arrays.

The browser filters every chart and KPI by date range, store and order type, so the figures are
pre-aggregated to exactly that grain, a *slice* = (day, store, order type), and shipped as dense
arrays indexed by slice (`slice = (day * n_stores + store) * n_types + type`), read from the
rollups (agg_store_days and its category and mix breakdowns). Two years of history are 7,300
slices whatever the order volume.

Distinct counts are not additive across slices, so the registered customers' activity ships at
the (customer, slice) grain (`events`, agg_customer_days): the browser counts distinct customers
in any selection. That part grows with the customers and their active days, not with the orders
(docs/reports.md has the sizes).
Customer metrics (RFM, LTV, age, activity) come from flat_customer_metrics, one table measured as
of one day (its as_of_date, the newest day of the data): the report is as of that day, and its
order figures stop there too.

What the sales report marks on its charts (the calendar, the incidents): annotations.py; the
marts it reads and the slice layout: marts.py.

Money travels as integer cents (exact sums in JavaScript). The SQL runs unchanged on DuckDB
and BigQuery: no `::`, no double-quoted identifiers, dates from coffee_assets/core/sql.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from coffee_assets.core.business_calendar import completed
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.core.sql import date_literal
from coffee_assets.defs.business import verdicts
from coffee_assets.defs.reports.annotations import (
    calendar_entries,
    load_calendar,
    load_opening_days,
    load_price_moves,
    store_day_incidents,
)
from coffee_assets.defs.reports.marts import (
    CATEGORIES,
    MIX_TYPES,
    SALES_MEASURES,
    SEGMENTS,
    Grid,
    Marts,
    ReportDataError,
    cents,
)
from coffee_assets.platform.warehouse import Warehouse


def _ordered(known: Sequence[str], found: Sequence[str], what: str, table: str) -> list[str]:
    unknown = sorted(set(found) - set(known))
    if unknown:
        raise ReportDataError(f"{table}: unexpected {what} {unknown}; expected one of {known}")
    return list(known)


def load_report_data(
    warehouse: Warehouse, marts: Marts, holidays: HolidayCalendar
) -> dict[str, Any]:
    """Every figure both reports need, as of flat_customer_metrics' day: from the history's
    first order up to that day inclusive. The customer metrics are read first, in one query, so
    a run that rebuilds the marts meanwhile cannot mix two days into one report. The calendar is
    the business's, with what it does not list of the public holidays of `holidays` and of the
    price list's changes and promotions (core/business_calendar.py, as the check reads it)."""
    store_days = warehouse.table_ref(marts.store_days)
    customers, as_of = load_customers(warehouse, marts.customer_metrics)
    until = f"order_date <= {date_literal(as_of)}"

    span = warehouse.query(
        f"select min(order_date), max(order_date), sum(orders) from {store_days} where {until}"
    )
    first, last, orders_total = span[0]
    if not orders_total:
        raise ReportDataError(
            f"{marts.store_days} has no orders on or before {as_of}: materialize the dbt "
            f"models for that day first"
        )
    first = as_date(first)
    ordered = {
        int(row[0])
        for row in warehouse.query(f"select distinct store_id from {store_days} where {until}")
    }
    stores = [
        (int(store_id), str(name))
        for store_id, name in warehouse.query(
            f"select store_id, store_name from {warehouse.table_ref(marts.stores)} "
            f"order by store_id"
        )
        if int(store_id) in ordered
    ]
    missing = sorted(ordered - {store_id for store_id, _ in stores})
    if missing:
        raise ReportDataError(f"{marts.store_days}: store(s) {missing} not in {marts.stores}")
    types = [
        row[0]
        for row in warehouse.query(
            f"select distinct order_type from {store_days} where {until} order by order_type"
        )
    ]
    grid = Grid(first, (as_of - first).days + 1, [s for s, _ in stores], types)

    sales = {name: [0] * grid.n_slices for name in SALES_MEASURES}
    for row in warehouse.query(
        f"""
        select order_date, store_id, order_type, orders, revenue, sub_total, discount_amount,
            items, registered_orders, registered_revenue
        from {store_days}
        where {until}
        """
    ):
        i = grid.slice(as_date(row[0]), int(row[1]), row[2])
        orders, revenue, sub_total, discount, items, reg_orders, reg_revenue = row[3:]
        sales["orders"][i] = int(orders)
        sales["revenue"][i] = cents(revenue)
        sales["sub_total"][i] = cents(sub_total)
        sales["discount"][i] = cents(discount)
        sales["items"][i] = int(items)
        sales["reg_orders"][i] = int(reg_orders)
        sales["reg_revenue"][i] = cents(reg_revenue)

    category_rows = warehouse.query(
        f"""
        select order_date, store_id, order_type, product_category, items, revenue
        from {warehouse.table_ref(marts.categories)}
        where {until}
        """
    )
    categories = _ordered(
        CATEGORIES, [r[3] for r in category_rows], "product_category", marts.categories
    )
    category = {
        "items": [0] * grid.n_slices * len(categories),
        "revenue": [0] * grid.n_slices * len(categories),
    }
    for day, store_id, order_type, name, items, revenue in category_rows:
        i = grid.slice(as_date(day), int(store_id), order_type) * len(categories)
        i += categories.index(name)
        category["items"][i] = int(items)
        category["revenue"][i] = cents(revenue)

    mix_rows = warehouse.query(
        f"""
        select order_date, store_id, order_type, product_mix_type, orders
        from {warehouse.table_ref(marts.mixes)}
        where {until}
        """
    )
    mix_types = _ordered(MIX_TYPES, [r[3] for r in mix_rows], "product_mix_type", marts.mixes)
    mix = {"orders": [0] * grid.n_slices * len(mix_types)}
    for day, store_id, order_type, name, orders in mix_rows:
        i = grid.slice(as_date(day), int(store_id), order_type) * len(mix_types)
        mix["orders"][i + mix_types.index(name)] = int(orders)

    events = load_customer_events(warehouse, marts, grid, customers["id"], until, as_of)

    names = [name for _, name in stores]
    opened = load_opening_days(warehouse, marts.stores)
    calendar = completed(
        load_calendar(warehouse, marts.calendar, grid.first_day, as_of),
        holidays,
        load_price_moves(warehouse, marts),
        grid.first_day,
        as_of,
        {store_id: (name, opened.get(store_id)) for store_id, name in stores},
    )
    judged = verdicts.read(warehouse, days_between(grid.first_day, as_of))
    incidents = store_day_incidents(grid, judged, names)
    # Days without a verdict (never judged: a warehouse built before the verdicts table, or
    # days loaded outside the pipeline): their incidents cannot be marked, and the report says so.
    unjudged = [verdict.day for verdict in judged if not verdict.judgements]

    return {
        "as_of": as_of.isoformat(),
        "first_day": grid.first_day.isoformat(),
        "last_order_day": as_date(last).isoformat(),
        "n_days": grid.n_days,
        "store_ids": grid.store_ids,
        "stores": names,
        "order_types": grid.order_types,
        "categories": categories,
        "mix_types": mix_types,
        "segments": SEGMENTS,
        "sales": sales,
        "category": category,
        "mix": mix,
        "customers": customers,
        "events": events,
        "calendar": calendar_entries(grid, calendar),
        "incidents": incidents,
        "unjudged": {
            "days": len(unjudged),
            "first": unjudged[0].isoformat() if unjudged else None,
            "last": unjudged[-1].isoformat() if unjudged else None,
        },
    }


def load_customer_events(
    warehouse: Warehouse,
    marts: Marts,
    grid: Grid,
    customer_ids: list[int],
    until: str,
    as_of: date,
) -> dict[str, list[int]]:
    """Each registered customer's orders per slice (agg_customer_days): the customer as its
    index in `customer_ids` (ascending), the slice, the orders. Millions of rows at volume, so
    read as columns and indexed with numpy, not row by row."""
    relation = marts.customer_days
    table = warehouse.query_arrow(
        f"""
        select customer_id, order_date, store_id, order_type, orders
        from {warehouse.table_ref(relation)}
        where {until}
        order by customer_id, order_date, store_id, order_type
        """
    )
    if table.num_rows == 0:
        return {"customer": [], "slice": [], "orders": []}
    ids = np.asarray(customer_ids, dtype=np.int64)
    customer = table.column("customer_id").to_numpy().astype(np.int64)
    index = np.minimum(np.searchsorted(ids, customer), len(ids) - 1)
    missing = np.flatnonzero(ids[index] != customer) if len(ids) else np.arange(len(customer))
    if len(missing):
        first = int(missing[0])
        raise ReportDataError(
            f"{relation}: customer {customer[first]} ordered on "
            f"{table.column('order_date')[first]} but is missing from {marts.customer_metrics} "
            f"as of {as_of}: rebuild the dbt models for {as_of}"
        )
    day = (
        table.column("order_date").to_numpy().astype("datetime64[D]")
        - np.datetime64(grid.first_day, "D")
    ).astype(np.int64)
    store = np.asarray(
        pc.index_in(table.column("store_id").cast(pa.int64()), pa.array(grid.store_ids, pa.int64()))
    )
    kind = np.asarray(pc.index_in(table.column("order_type"), pa.array(grid.order_types)))
    slices = (day * len(grid.store_ids) + store) * len(grid.order_types) + kind
    return {
        "customer": index.tolist(),
        "slice": slices.tolist(),
        "orders": table.column("orders").to_numpy().astype(np.int64).tolist(),
    }


def load_customers(warehouse: Warehouse, relation: str) -> tuple[dict[str, list], date]:
    """flat_customer_metrics as columns, and the one day it is measured as of."""
    metrics = warehouse.table_ref(relation)
    rows = warehouse.query(
        f"""
        select customer_id, rfm_segment, ltv, customer_age_days, discount_rate,
            orders_all_time, orders_past_180_days, days_since_last_order, as_of_date
        from {metrics}
        order by customer_id
        """
    )
    dates = sorted({as_date(r[8]).isoformat() for r in rows})
    if len(dates) != 1:
        raise ReportDataError(
            f"{relation} is as of {', '.join(dates) or 'no day (it is empty)'}: it must "
            f"hold one as-of day; materialize the dbt models (daily_refresh does)"
        )
    unknown = sorted({r[1] for r in rows} - set(SEGMENTS))
    if unknown:
        raise ReportDataError(f"{relation}: unexpected rfm_segment {unknown}")
    columns = {
        "id": [int(r[0]) for r in rows],
        "segment": [SEGMENTS.index(r[1]) for r in rows],
        "ltv": [cents(r[2]) for r in rows],
        "age": [int(r[3]) for r in rows],
        # Discount level in whole percent (0, 3, 5, 7, 10).
        "discount": [cents(r[4]) for r in rows],
        "orders_all_time": [int(r[5]) for r in rows],
        "orders_180d": [int(r[6]) for r in rows],
        "days_since_last": [int(r[7]) for r in rows],
    }
    return columns, date.fromisoformat(dates[0])
