"""What a coffee chain's year holds: the business events of the synthetic history.

Deterministic per (seed, history start), like every generated row: the same seed always opens the
same store on the same day, runs the same promotions and loses the same POS days. On in the
realistic profile (`VolumeProfile.events`), off in the original's.

- **store_opening**: a sixth store opens about five months into the history and ramps up over
  eight weeks, from 30 % to its full volume (12 % of the chain's first five stores'); its row in
  Stores.csv says since when (OpeningDate).
- **public_holiday**: Ukraine's public holidays (the holidays library's), each with the volume a
  coffee shop sees on it (New Year's Day 55 %, Women's Day 125 %, Independence Day 120 %, ...).
- **promotion**: every five to ten weeks, a product or a whole category at 20 % off for five to
  ten days; the promoted products sell twice as often meanwhile.
- **price_change**: twice a year a product's price rises by about 10 %, from its day on (the
  event is that day: what follows is the new normal, which the checks learn within days).
- **pos_outage**: every seven to thirteen weeks a store's tills are down, all day (half of the
  outages) or for part of it (40 % to 70 % of its orders never recorded). Not in the chain's
  calendar: an outage is an incident, what the anomaly checks are there to catch.

The chain's calendar (Events.csv) holds the known events; prices with their valid dates
(ProductPrices.csv) follow from the promotions and price changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa

from coffee_assets.core import contract
from coffee_assets.core.generator.reference import (
    NEW_STORE,
    PRICE_CENTS,
    PRODUCTS,
    STORES,
    product_prices_table,
    products_table,
    stores_table,
)
from coffee_assets.core.generator.schema import arrow_schema
from coffee_assets.core.public_holidays import PUBLIC_HOLIDAY, HolidayCalendar

STREAM_EVENTS = 3  # the events' own random stream (core.py has 1 and 2)
HORIZON_DAYS = 20 * 366  # events are planned this far from the history's start

STORE_OPENING = "store_opening"
PROMOTION = "promotion"
PRICE_CHANGE = "price_change"
POS_OUTAGE = "pos_outage"
EVENT_TYPES = (STORE_OPENING, PUBLIC_HOLIDAY, PROMOTION, PRICE_CHANGE, POS_OUTAGE)
KNOWN_TYPES = (STORE_OPENING, PUBLIC_HOLIDAY, PROMOTION, PRICE_CHANGE)

NEW_STORE_ID = NEW_STORE[0]  # reference.py: the store that opens during the history
NEW_STORE_SHARE = 0.12  # of the first five stores' volume, once ramped up
RAMP_DAYS = 56
RAMP_FROM = 0.30
PROMOTION_PRICE = 0.80
PROMOTION_LIFT = 2.0

Price = tuple[int, int, date, date | None]  # ProductId, cents, valid from, valid to (None: still)


@dataclass(frozen=True)
class Event:
    """One event, from `start` to `end` (both included)."""

    id: int
    type: str
    name: str
    start: date
    end: date
    store_id: int | None = None
    product_id: int | None = None
    category: str | None = None
    volume: float = 1.0  # what it does to the orders it touches (0: none recorded)
    price: float = 1.0  # what it does to the prices it touches

    @property
    def known(self) -> bool:
        """In the chain's calendar: planned or public (an outage is an incident)."""
        return self.type in KNOWN_TYPES

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def touches_product(self, product_id: int, category: str) -> bool:
        return self.product_id == product_id or (
            self.category is not None and self.category == category
        )


# ------------------------------------------------------------------------------ holidays
# The chain is in Kyiv: its public holidays are Ukraine's, as the holidays library keeps them
# (core/public_holidays.py: the 2023 reform, martial law's working-day holidays, observed and
# substituted days off). What each does to a coffee shop's orders, by the library's name (an
# "(observed)" day like its holiday); a holiday not listed here, 90 %.
CHAIN_HOLIDAYS = HolidayCalendar("UA")
HOLIDAY_VOLUME = {
    "New Year's Day": 0.55,
    "International Women's Day": 1.25,
    "Easter Sunday (Pascha)": 0.70,
    "Christmas Day": 0.75,
    "Independence Day": 1.20,
    "Ukrainian Statehood Day": 0.95,
}
OTHER_HOLIDAY_VOLUME = 0.90


def holiday_volume(name: str) -> float:
    return HOLIDAY_VOLUME.get(name.removesuffix(" (observed)"), OTHER_HOLIDAY_VOLUME)


def chain_holidays(year: int) -> list[tuple[date, str, float]]:
    """(day, name, volume) of the chain's public holidays in a year."""
    found = CHAIN_HOLIDAYS.between(date(year, 1, 1), date(year, 12, 31))
    return [(day, name, holiday_volume(name)) for day, name in found.items()]


# ------------------------------------------------------------------------------ the calendar
def _rng(seed: int, history_start: date) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed, history_start.toordinal(), STREAM_EVENTS])
    )


@lru_cache(maxsize=16)
def _events(seed: int, history_start: date) -> tuple[Event, ...]:
    rng = _rng(seed, history_start)
    horizon = history_start + timedelta(days=HORIZON_DAYS)
    found: list[Event] = []

    def add(**fields) -> None:
        found.append(Event(id=0, **fields))

    opening = history_start + timedelta(days=int(rng.integers(130, 171)))
    ramped = opening + timedelta(days=RAMP_DAYS - 1)
    add(type=STORE_OPENING, name=f"{NEW_STORE[1]} opens", start=opening, end=ramped,
        store_id=NEW_STORE_ID)  # fmt: skip
    for year in range(history_start.year, horizon.year + 1):
        for day, name, volume in chain_holidays(year):
            if history_start <= day <= horizon:
                add(type=PUBLIC_HOLIDAY, name=name, start=day, end=day, volume=volume)

    categories = sorted({p[2] for p in PRODUCTS})
    day = history_start + timedelta(days=int(rng.integers(21, 43)))
    while day <= horizon:
        length = int(rng.integers(5, 11))
        if rng.random() < 0.5:
            product = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
            target = {"product_id": product[0], "name": f"{product[1]} at 20% off"}
        else:
            category = categories[int(rng.integers(len(categories)))]
            target = {"category": category, "name": f"Every {category.lower()} at 20% off"}
        add(type=PROMOTION, start=day, end=day + timedelta(days=length - 1),
            volume=PROMOTION_LIFT, price=PROMOTION_PRICE, **target)  # fmt: skip
        day += timedelta(days=int(rng.integers(35, 71)))

    day = history_start + timedelta(days=int(rng.integers(60, 121)))
    while day <= horizon:
        product = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
        rise = float(rng.choice([0.08, 0.10, 0.12]))
        add(type=PRICE_CHANGE, name=f"{product[1]} up {rise:.0%}", start=day, end=day,
            product_id=product[0], price=1 + rise)  # fmt: skip
        day += timedelta(days=int(rng.integers(150, 211)))

    day = history_start + timedelta(days=int(rng.integers(25, 60)))
    shares = np.array([s[6] for s in STORES])
    while day <= horizon:
        store = int(rng.choice([s[0] for s in STORES], p=shares / shares.sum()))
        full = rng.random() < 0.5
        kept = 0.0 if full else float(np.round(rng.uniform(0.3, 0.6), 2))
        name = f"{STORES[store - 1][1]} POS down " + ("all day" if full else f"({kept:.0%} kept)")
        add(type=POS_OUTAGE, name=name, start=day, end=day, store_id=store, volume=kept)
        day += timedelta(days=int(rng.integers(49, 92)))

    ordered = sorted(found, key=lambda e: (e.start, EVENT_TYPES.index(e.type), e.name))
    return tuple(Event(**{**e.__dict__, "id": i}) for i, e in enumerate(ordered, start=1))


def events(seed: int, history_start: date, until: date | None = None) -> list[Event]:
    """Every event of the history starting on or before `until` (all of them when None)."""
    return [e for e in _events(seed, history_start) if until is None or e.start <= until]


def known_events(seed: int, history_start: date, until: date) -> list[Event]:
    """The chain's calendar up to `until`: what Events.csv holds (no outage)."""
    return [e for e in events(seed, history_start, until) if e.known]


# ------------------------------------------------------------------------------ one day
@dataclass(frozen=True)
class DayPlan:
    """What the events make of one day: the chain's volume, each store's, products' weights
    and prices."""

    volume: float  # the chain's (a holiday's) multiplier
    store_ids: np.ndarray  # the stores open that day
    store_volume: np.ndarray  # each open store's expected share of the day's base volume
    kept: dict[int, float]  # store -> share of its orders recorded (an outage)
    product_weights: np.ndarray | None  # by ProductId (index 0 unused); None: uniform
    price_cents: np.ndarray  # by ProductId (index 0 unused)
    plain: bool  # nothing changes the original draws (the stores' fixed shares, uniform products)


_CATEGORY = {p[0]: p[2] for p in PRODUCTS}


def price_cents_on(active: Iterable[Event], day: date) -> np.ndarray:
    """Every product's price in cents on `day` (price changes compound, a promotion on top)."""
    prices = PRICE_CENTS.astype(np.float64)
    for event in active:
        # A price change holds from its day on; a promotion while it lasts.
        if (event.type == PRICE_CHANGE and event.start <= day) or (
            event.type == PROMOTION and event.covers(day)
        ):
            for product_id, category in _CATEGORY.items():
                if event.touches_product(product_id, category):
                    prices[product_id] *= event.price
    # To the nearest 5 cents, as a menu prints prices.
    return (np.round(prices / 5) * 5).astype(np.int64)


def plan_day(seed: int, history_start: date, day: date) -> DayPlan:
    active = [
        e
        for e in events(seed, history_start, day)
        if e.end >= day or e.type in (STORE_OPENING, PRICE_CHANGE)
    ]
    volume = 1.0
    for e in active:
        if e.type == PUBLIC_HOLIDAY and e.covers(day):
            volume *= e.volume
    store_ids = [s[0] for s in STORES]
    shares = [s[6] for s in STORES]
    for e in active:
        if e.type == STORE_OPENING and e.start <= day:
            ramp = min(1.0, RAMP_FROM + (1 - RAMP_FROM) * (day - e.start).days / (RAMP_DAYS - 1))
            store_ids.append(NEW_STORE_ID)
            shares.append(NEW_STORE_SHARE * ramp)
    kept = {e.store_id: e.volume for e in active if e.type == POS_OUTAGE and e.covers(day)}
    promoted = [e for e in active if e.type == PROMOTION and e.covers(day)]
    weights = None
    if promoted:
        weights = np.ones(len(PRICE_CENTS))
        weights[0] = 0.0
        for product_id, category in _CATEGORY.items():
            if any(e.touches_product(product_id, category) for e in promoted):
                weights[product_id] = PROMOTION_LIFT
    prices = price_cents_on(active, day)
    plain = (
        len(store_ids) == len(STORES)
        and weights is None
        and bool(np.array_equal(prices, PRICE_CENTS))
    )
    return DayPlan(
        volume,
        np.array(store_ids, dtype=np.int64),
        np.array(shares),
        {k: v for k, v in kept.items() if k is not None},
        weights,
        prices,
        plain,
    )


def price_timeline(seed: int, history_start: date, until: date) -> list[Price]:
    """(ProductId, price in cents, valid from, valid to or None: still valid) from the history's
    start to `until`: what ProductPrices.csv holds."""
    changes = sorted(
        {history_start}
        | {
            d
            for e in events(seed, history_start, until)
            if e.type in (PRICE_CHANGE, PROMOTION)
            for d in (e.start, e.end + timedelta(days=1))
            if d <= until
        }
    )
    rows: list[Price] = []
    for product_id in _CATEGORY:
        current: tuple[int, date] | None = None
        for day in changes:
            price = int(price_cents_on(events(seed, history_start, day), day)[product_id])
            if current is None or price != current[0]:
                if current is not None:
                    rows.append((product_id, current[0], current[1], day - timedelta(days=1)))
                current = (price, day)
        assert current is not None
        rows.append((product_id, current[0], current[1], None))
    return rows


def outage_days(seed: int, history_start: date, first: date, last: date) -> list[Event]:
    """The outages of first...last: what the anomaly checks should catch (for benchmarks)."""
    return [
        e
        for e in events(seed, history_start, last)
        if e.type == POS_OUTAGE and first <= e.start <= last
    ]


def opening_day(seed: int, history_start: date) -> date:
    [opening] = [e for e in events(seed, history_start) if e.type == STORE_OPENING]
    return opening.start


def events_table(calendar: list[Event]) -> pa.Table:
    """Events.csv (contract.BUSINESS_EVENTS) from the chain's calendar."""
    return pa.Table.from_arrays(
        [
            pa.array([e.id for e in calendar], pa.int64()),
            pa.array([e.type for e in calendar]),
            pa.array([e.name for e in calendar]),
            pa.array([e.start for e in calendar], pa.date32()),
            pa.array([e.end for e in calendar], pa.date32()),
            pa.array([e.store_id for e in calendar], pa.int64()),
            pa.array([e.product_id for e in calendar], pa.int64()),
            pa.array([e.category for e in calendar], pa.string()),
        ],
        schema=arrow_schema(contract.BUSINESS_EVENTS),
    )


def reference_tables(
    seed: int = 42,
    history_start: date = date(2025, 1, 1),
    until: date | None = None,
    *,
    with_events: bool = True,
) -> dict[str, pa.Table]:
    """The reference files by raw table name, as known on `until` (the calendar's horizon: the
    history's start when None): products, stores (the sixth with its opening day once the
    calendar holds it), product prices with their valid dates, the chain's calendar. Without
    events: the five stores, one price per product, an empty calendar."""
    until = until or history_start
    prices: list[Price]
    if not with_events:
        prices = [(p[0], p[3], history_start, None) for p in PRODUCTS]
        calendar: list[Event] = []
        opens = None
    else:
        prices = price_timeline(seed, history_start, until)
        calendar = known_events(seed, history_start, until)
        opening = opening_day(seed, history_start)
        opens = opening if opening <= until else None
    return {
        contract.PRODUCTS.table: products_table(),
        contract.STORES.table: stores_table(opens),
        contract.PRODUCT_PRICES.table: product_prices_table(prices),
        contract.BUSINESS_EVENTS.table: events_table(calendar),
    }
