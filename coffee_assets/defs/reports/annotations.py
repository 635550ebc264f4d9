"""What the sales report marks on its daily charts.

What explains a curve: the chain's calendar of
known events (stg_business_events: openings, holidays, promotions, price changes; with the public
holidays and the price list's changes and promotions it does not list) overlapping the report's
days (`calendar`), and the incidents the store-day judge (core/anomalies.py, the
same judgement as the `store_days_as_usual` check) finds in the report's own per-store daily
orders and revenue (`incidents`): an outage is in no calendar, the figures show it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from coffee_assets.core import anomalies
from coffee_assets.core import price_list as pl
from coffee_assets.core.business_calendar import (
    CalendarEvent,
    events_from_rows,
)
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.sql import date_literal
from coffee_assets.defs.reports.marts import Grid, Marts
from coffee_assets.platform.warehouse import Warehouse


def load_calendar(
    warehouse: Warehouse, relation: str, first: date, last: date
) -> list[CalendarEvent]:
    """The calendar's events that overlap first...last, in the order of their days."""
    rows = warehouse.query(
        f"select event_type, event_name, start_date, end_date, store_id "
        f"from {warehouse.table_ref(relation)} "
        f"where start_date <= {date_literal(last)} and end_date >= {date_literal(first)} "
        f"order by start_date, end_date, event_type, event_name, event_id"
    )
    return events_from_rows(rows)


def load_price_moves(warehouse: Warehouse, marts: Marts) -> list[pl.PriceMove]:
    """The price list's moves (stg_product_prices, with stg_products' names)."""
    prices, products = warehouse.table_ref(marts.prices), warehouse.table_ref(marts.products)
    return pl.read_moves(warehouse.query, prices, products, pl.STAGED_COLUMNS)


def load_opening_days(warehouse: Warehouse, relation: str) -> dict[int, date | None]:
    """{store: its opening day, or None when it opened before the history} from dim_store."""
    rows = warehouse.query(f"select store_id, opening_date from {warehouse.table_ref(relation)}")
    return {int(s): as_date(o) if o is not None else None for s, o in rows}


def calendar_entries(grid: Grid, events: Sequence[CalendarEvent]) -> list[dict[str, Any]]:
    """What the page draws: {start, end (day indexes from the report's first day; outside
    0..n_days-1 for the part of an event beyond the report, so the page can still say its
    real dates), type, name, store (index into the report's stores, -1: the whole chain)}."""
    index = {store_id: i for i, store_id in enumerate(grid.store_ids)}
    return [
        {
            "start": (event.start - grid.first_day).days,
            "end": (event.end - grid.first_day).days,
            "type": event.type,
            "name": event.name,
            "store": -1 if event.store_id is None else index[event.store_id],
        }
        for event in events
        # A store without a single order in the report has no place in its store filter.
        if event.store_id is None or event.store_id in index
    ]


def store_day_history(
    grid: Grid, sales: Mapping[str, Sequence[int]]
) -> dict[int, dict[date, anomalies.StoreDay]]:
    """{store: {day: orders and revenue}} from the per-slice sales (summed over order types).
    Only days with orders, as the raw orders give them to the `store_days_as_usual` check: a
    store's first order is where its history starts."""
    n_stores, n_types = len(grid.store_ids), len(grid.order_types)
    history: dict[int, dict[date, anomalies.StoreDay]] = {s: {} for s in grid.store_ids}
    for d in range(grid.n_days):
        for s, store_id in enumerate(grid.store_ids):
            first = (d * n_stores + s) * n_types
            orders = sum(sales["orders"][first : first + n_types])
            if orders:
                revenue = sum(sales["revenue"][first : first + n_types])
                history[store_id][grid.first_day + timedelta(days=d)] = anomalies.StoreDay(
                    orders, revenue
                )
    return history


def store_day_incidents(
    grid: Grid,
    sales: Mapping[str, Sequence[int]],
    names: Sequence[str],
    opened: Mapping[int, date | None],
    known: anomalies.Known,
) -> list[dict[str, Any]]:
    """The judge's failed store-days (core/anomalies.py), one entry per store and day: {day,
    store (indexes into the report's days and stores; -1: the whole chain, which the judge
    weighs too), text (what the judgement says, both metrics when both failed)}. Judged from
    the ninth week of the report on: before it, a store-day has no eight same weekdays to be
    compared with."""
    days = days_between(
        grid.first_day + timedelta(weeks=anomalies.WEEKS),
        grid.first_day + timedelta(days=grid.n_days - 1),
    )
    if not days:
        return []
    verdicts = anomalies.judge(
        store_day_history(grid, sales),
        days,
        opened={store_id: opened.get(store_id) for store_id in grid.store_ids},
        known=known,
    )
    index = {store_id: i for i, store_id in enumerate(grid.store_ids)}
    incidents = []
    for verdict in verdicts:
        failed: dict[int, list[str]] = defaultdict(list)
        for judgement in verdict.failed:
            # The judge is given the report's stores only: any other id is its judgement of
            # the whole chain (a delivery that lost part of every store's orders).
            s = index.get(judgement.store_id, -1)
            failed[s].append(judgement.text(names[s] if s >= 0 else "The whole chain"))
        for s in sorted(failed):
            incidents.append(
                {
                    "day": (verdict.day - grid.first_day).days,
                    "store": s,
                    "text": "; ".join(failed[s]),
                }
            )
    return incidents
