"""The chain's calendar as the anomaly check and the reports read it: one assembly for both.

Three sources, in this order of precedence:

1. the business's own calendar (Events.csv: openings, holidays, promotions, price changes),
   which the generator writes and a user can edit;
2. the public holidays of the settings' country it does not list (the `holidays` library:
   core/public_holidays.py);
3. the price changes and promotions the price list shows that it does not list
   (ProductPrices.csv: core/price_list.py);
4. a store's opening weeks, from its opening day in the store list (Stores.csv's OpeningDate),
   where the calendar lists no opening for it.

Imported or real data, which arrives without an events file, still knows 2 to 4: what a real
business has without keeping a calendar.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from coffee_assets.core import price_list as pl
from coffee_assets.core.anomalies import Known
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.public_holidays import PUBLIC_HOLIDAY, HolidayCalendar, missing_holidays

STORE_OPENING = "store_opening"
# How long a new store's opening explains its days: its first eight weeks (the ramp-up).
OPENING_DAYS = 56


@dataclass(frozen=True)
class CalendarEvent:
    """One event of the chain's calendar, from `start` to `end` (both included)."""

    type: str  # store_opening, public_holiday, promotion, price_change
    name: str
    start: date
    end: date
    store_id: int | None  # None: the whole chain


def events_from_rows(rows: Sequence[Sequence]) -> list[CalendarEvent]:
    """CalendarEvent from rows of (type, name, start, end, store id or None), as the raw table
    and the staging model return them."""
    return [
        CalendarEvent(
            str(kind),
            str(name),
            as_date(start),
            as_date(end),
            int(store) if store is not None else None,
        )  # fmt: skip
        for kind, name, start, end, store in rows
    ]


def completed(
    listed: Sequence[CalendarEvent],
    holidays: HolidayCalendar,
    moves: Sequence[pl.PriceMove],
    first: date,
    last: date,
    openings: Mapping[int, tuple[str, date | None]] | None = None,
) -> list[CalendarEvent]:
    """The business's calendar (`listed`) with what it does not list of the public holidays, of
    the price list's changes and promotions and of the stores' opening weeks (`openings`: a
    store's name and opening day, None when it opened before the history), first...last, in
    the order of their days."""
    days = [(e.type, e.store_id, day) for e in listed for day in days_between(e.start, e.end)]
    added = [
        CalendarEvent(PUBLIC_HOLIDAY, name, day, day, None)
        for day, name in missing_holidays(holidays, first, last, days).items()
    ]
    added += [
        CalendarEvent(event.type, event.name, event.start, event.end, None)
        for event in pl.derived_events(moves, first, last, ((k, d) for k, _, d in days))
    ]
    opened = {store for kind, store, _ in days if kind == STORE_OPENING}
    for store, (name, day) in sorted((openings or {}).items()):
        end = day + timedelta(days=OPENING_DAYS - 1) if day else None
        if day and end and store not in opened and day <= last and end >= first:
            added.append(
                CalendarEvent(STORE_OPENING, f"{name} opened (store list)", day, end, store)
            )
    return sorted([*listed, *added], key=lambda e: (e.start, e.end, e.type, e.name))


def known_days(events: Sequence[CalendarEvent], first: date, last: date) -> Known:
    """The events as the judge reads them: (type, name) by (store or None, day), first...last."""
    known: dict[tuple[int | None, date], list[tuple[str, str]]] = defaultdict(list)
    for event in events:
        for day in days_between(max(event.start, first), min(event.end, last)):
            known[(event.store_id, day)].append((event.type, event.name))
    return known
