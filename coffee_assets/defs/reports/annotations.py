"""What the sales report marks on its daily charts.

What explains a curve: the chain's calendar of
known events (stg_business_events: openings, holidays, promotions, price changes; with the public
holidays and the price list's changes and promotions it does not list) overlapping the report's
days (`calendar`), and the incidents the store-day judge (core/anomalies.py) found, read from
the store_day_verdicts table of what the `store_days_as_usual` check judged (`incidents`): an
outage is in no calendar, the figures show it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from coffee_assets.core import anomalies
from coffee_assets.core import price_list as pl
from coffee_assets.core.business_calendar import (
    CalendarEvent,
    events_from_rows,
)
from coffee_assets.core.dates import as_date
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


def store_day_incidents(
    grid: Grid, verdicts: Sequence[anomalies.DayVerdict], names: Sequence[str]
) -> list[dict[str, Any]]:
    """The judge's failed store-days (the store_day_verdicts table: what the
    `store_days_as_usual` check judged), one entry per store and day of the report:
    {day, store (indexes into the report's days and stores; -1: the whole chain, which the judge
    weighs too), text (what the judgement says, both metrics when both failed)}. A store
    without a single order in the report has no place on its charts."""
    index = {store_id: i for i, store_id in enumerate(grid.store_ids)}
    index[anomalies.CHAIN] = -1
    incidents = []
    for verdict in verdicts:
        day = (verdict.day - grid.first_day).days
        if not 0 <= day < grid.n_days:
            continue
        failed: dict[int, list[str]] = defaultdict(list)
        for judgement in verdict.failed:
            s = index.get(judgement.store_id)
            if s is not None:
                failed[s].append(judgement.text(names[s] if s >= 0 else "The whole chain"))
        for s in sorted(failed):
            incidents.append({"day": day, "store": s, "text": "; ".join(failed[s])})
    return incidents
