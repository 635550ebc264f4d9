"""Generate one day of customers, orders and order lines, deterministically and vectorized.

Every random draw comes from a numpy Generator seeded by (seed, date, stream), so a day's rows
depend only on (seed, history_start, profile, date): any range can be (re)built in any order.
Money is computed in integer cents and only converted to float64 (cents / 100) at the end.
A customer picked by an order is found without generating earlier days: registration counts per
day come from their own cheap stream and are cached cumulatively (see _RegistrationLedger).

Reproducibility holds for a given numpy version: numpy may change a Generator method's stream
in a future release (NEP 19), which would change the rows, never their properties.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa

from coffee_assets.core import contract
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.generator import events, ids
from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.reference import PRICE_CENTS, STORE_IDS, STORE_SHARES
from coffee_assets.core.generator.schema import arrow_schema

# Random streams: each (seed, date, stream) has its own Generator.
STREAM_REGISTRATIONS = 1  # the day's number of new customers (cheap, read for every later day)
STREAM_ORDERS = 2  # everything about the day's orders and their lines

ORDER_TYPES = pa.array(["In-store", "Takeaway"], pa.string())  # 50/50
REGISTERED_SHARE = 0.30
DISCOUNT_PCTS = np.array([0, 3, 5, 7, 10], dtype=np.int64)  # uniform per customer
ITEMS_WEIGHTS = (0.40, 0.30, 0.20, 0.07, 0.03)  # 1..5 items per order
QUANTITY_WEIGHTS = (0.80, 0.15, 0.05)  # quantity 1..3 per line
N_PRODUCTS = len(PRICE_CENTS) - 1  # products 1..15, uniform


def _lookup(
    values: np.ndarray, weights: np.ndarray | tuple[float, ...], buckets: int
) -> np.ndarray:
    """Table of `buckets` entries where each value fills weight * buckets slots.

    Indexing it with a uniform integer in [0, buckets) samples `values` with `weights` exactly
    (every weight must be a multiple of 1 / buckets).
    """
    counts = np.rint(np.asarray(weights) * buckets).astype(np.int64)
    if counts.sum() != buckets or not np.allclose(counts, np.asarray(weights) * buckets):
        raise ValueError(f"weights {weights} are not multiples of 1/{buckets}")
    return np.repeat(np.asarray(values), counts)


# Categorical draws as table lookups on uniform small integers (exact for these weights).
STORE_LUT = _lookup(STORE_IDS, STORE_SHARES, 20)
ITEMS_LUT = _lookup(np.arange(1, 6, dtype=np.int64), ITEMS_WEIGHTS, 100)
QUANTITY_LUT = _lookup(np.arange(1, 4, dtype=np.int64), QUANTITY_WEIGHTS, 20)

_SCHEMAS = {t.table: arrow_schema(t) for t in contract.DAILY_TABLES}


@dataclass(frozen=True)
class DayData:
    """One day's raw tables, typed as contract.CUSTOMERS / ORDERS / ORDER_DETAILS."""

    day: date
    customers: pa.Table
    orders: pa.Table
    order_details: pa.Table

    def tables(self) -> dict[contract.TableContract, pa.Table]:
        """The three daily tables keyed by their contract."""
        return {
            contract.CUSTOMERS: self.customers,
            contract.ORDERS: self.orders,
            contract.ORDER_DETAILS: self.order_details,
        }


def rng_for(seed: int, day: date, stream: int) -> np.random.Generator:
    """The Generator of one (seed, date, stream)."""
    return np.random.default_rng(np.random.SeedSequence([seed, day.toordinal(), stream]))


# --- customers -----------------------------------------------------------------------------

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_DISCOUNT_DOMAIN = 0xD15C0_0417  # separates this hash from any other use of the seed


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _U64(30))) * _MIX1
    z = (z ^ (z >> _U64(27))) * _MIX2
    return z ^ (z >> _U64(31))


def discount_pcts(seed: int, customer_ids: np.ndarray) -> np.ndarray:
    """Each customer's discount in percent (0, 3, 5, 7 or 10): a pure function of (seed, id)."""
    key = _splitmix64(np.array([seed ^ _DISCOUNT_DOMAIN], dtype=_U64))[0]
    h = _splitmix64(np.asarray(customer_ids, dtype=np.int64).astype(_U64) ^ key)
    return DISCOUNT_PCTS[(h % _U64(len(DISCOUNT_PCTS))).astype(np.intp)]


class _RegistrationLedger:
    """Cumulative registration counts per day since history_start, grown on demand.

    Day k's count is the initial base (k == 0 only) plus a Poisson draw from the day's own
    (seed, date, STREAM_REGISTRATIONS) Generator, so it never depends on other days.
    """

    def __init__(self, seed: int, history_start: date, initial: int, rate: float) -> None:
        self.seed, self.history_start, self.initial, self.rate = seed, history_start, initial, rate
        self._cumulative = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def count(self, k: int) -> int:
        """Number of customers registering on day k (0 = history_start)."""
        day = self.history_start + timedelta(days=k)
        drawn = int(rng_for(self.seed, day, STREAM_REGISTRATIONS).poisson(self.rate))
        n = drawn + (self.initial if k == 0 else 0)
        if n > ids.CUSTOMER_CAPACITY:
            raise ValueError(f"{n} registrations on {day} exceed {ids.CUSTOMER_CAPACITY}")
        return n

    def cumulative(self, n_days: int) -> np.ndarray:
        """Cumulative counts for days 0..n_days-1 (a read-only view)."""
        with self._lock:
            have = len(self._cumulative)
            if have < n_days:
                target = max(n_days, 2 * have)
                counts = np.fromiter((self.count(k) for k in range(have, target)), np.int64)
                last = self._cumulative[-1] if have else 0
                grown = np.concatenate([self._cumulative, last + np.cumsum(counts)])
                grown.flags.writeable = False
                self._cumulative = grown
            return self._cumulative[:n_days]


@lru_cache(maxsize=64)
def _ledger(seed: int, history_start: date, initial: int, rate: float) -> _RegistrationLedger:
    return _RegistrationLedger(seed, history_start, initial, rate)


def _ledger_for(config: GeneratorConfig) -> _RegistrationLedger:
    p = config.profile
    return _ledger(config.seed, config.history_start, p.initial_customers, p.registrations_per_day)


def _customer_ids_at(
    config: GeneratorConfig, cumulative: np.ndarray, idx: np.ndarray
) -> np.ndarray:
    """Map 0-based indexes into the pool of registered customers to CustomerIds."""
    k = np.searchsorted(cumulative, idx, side="right")  # registration day index
    first = np.concatenate([[0], cumulative])[k]  # pool index of that day's first customer
    reg_days = np.datetime64(config.history_start, "D") + k
    return ids.yyyymmdd_array(reg_days) * ids.CUSTOMER_FACTOR + (idx - first + 1)


def _customers(config: GeneratorConfig, day: date, count: int, date_col: pa.Array) -> pa.Table:
    """The `count` customers registering on `day`."""
    customer_ids = ids.sequential_ids(day, count, ids.CUSTOMER_FACTOR)
    rates = discount_pcts(config.seed, customer_ids) / 100.0
    return pa.Table.from_arrays(
        [pa.array(customer_ids), pa.array(rates), date_col.slice(0, count)],
        schema=_SCHEMAS[contract.CUSTOMERS.table],
    )


# --- orders --------------------------------------------------------------------------------


def _date_array(day: date, length: int) -> pa.Array:
    values = np.full(length, ids.epoch_days(day), dtype=np.int32)
    return pa.Array.from_buffers(pa.date32(), length, [None, pa.py_buffer(values)])


def generate_day(config: GeneratorConfig, day: date) -> DayData:
    """The rows of `day`: its new customers, its orders and its order lines."""
    day = as_date(day)
    if day < config.history_start:
        raise ValueError(f"{day} is before the history's start ({config.history_start})")
    k = (day - config.history_start).days
    cumulative = _ledger_for(config).cumulative(k + 1)
    pool = int(cumulative[k])  # customers registered on or before `day`
    new_customers = pool - (int(cumulative[k - 1]) if k else 0)

    plan = (
        events.plan_day(config.seed, config.history_start, day) if config.profile.events else None
    )
    rng = rng_for(config.seed, day, STREAM_ORDERS)
    mean = config.profile.mean_for(day)
    if plan is not None:  # a holiday's volume; an opening store adds its own
        mean *= plan.volume * float(plan.store_volume.sum())
    n = int(rng.poisson(mean))

    # Per-order draws, as small uniform integers mapped through lookup tables.
    type_idx = rng.integers(0, 2, n, dtype=np.int8)
    if plan is None or plan.plain:
        store = STORE_LUT[rng.integers(0, len(STORE_LUT), n, dtype=np.int16)]
    else:
        weights = plan.store_volume / plan.store_volume.sum()
        store = plan.store_ids[rng.choice(len(plan.store_ids), n, p=weights)]
    registered = (rng.random(n) < REGISTERED_SHARE) & (pool > 0)
    items = ITEMS_LUT[rng.integers(0, len(ITEMS_LUT), n, dtype=np.int16)]
    customer_idx = rng.integers(0, max(pool, 1), int(registered.sum()), dtype=np.int64)

    # Per-line draws.
    n_lines = int(items.sum())
    if plan is None or plan.product_weights is None:
        product = rng.integers(1, N_PRODUCTS + 1, n_lines, dtype=np.int64)
    else:  # a promotion: the promoted products sell more often
        weights = plan.product_weights / plan.product_weights.sum()
        product = rng.choice(len(weights), n_lines, p=weights).astype(np.int64)
    quantity = QUANTITY_LUT[rng.integers(0, len(QUANTITY_LUT), n_lines, dtype=np.int16)]

    if plan is not None and plan.kept:
        # A POS outage: the store's orders that were never recorded (all, or a share).
        recorded = np.ones(n, dtype=bool)
        for store_id, kept in plan.kept.items():
            at = store == store_id
            recorded[at] = rng.random(int(at.sum())) < kept
        lines_recorded = np.repeat(recorded, items)
        n, n_lines = int(recorded.sum()), int(lines_recorded.sum())
        customer_idx = customer_idx[recorded[registered]]
        type_idx, store, registered, items = (
            type_idx[recorded],
            store[recorded],
            registered[recorded],
            items[recorded],
        )
        product, quantity = product[lines_recorded], quantity[lines_recorded]
    order_ids = ids.sequential_ids(day, n, ids.ORDER_FACTOR)
    line_ids = ids.sequential_ids(day, n_lines, ids.LINE_FACTOR)
    line_order_ids = np.repeat(order_ids, items)

    # Money in integer cents, at the day's prices.
    prices = PRICE_CENTS if plan is None else plan.price_cents
    starts = np.cumsum(items) - items
    sub_cents = np.add.reduceat(prices[product] * quantity, starts) if n else np.zeros(0, np.int64)
    customer_ids = np.zeros(n, dtype=np.int64)
    customer_ids[registered] = _customer_ids_at(config, cumulative, customer_idx)
    pct = np.zeros(n, dtype=np.int64)
    pct[registered] = discount_pcts(config.seed, customer_ids[registered])
    discount_cents = (sub_cents * pct + 50) // 100  # round half up (all values >= 0)
    total_cents = sub_cents - discount_cents

    date_col = _date_array(day, max(n, n_lines, new_customers))
    orders = pa.Table.from_arrays(
        [
            pa.array(order_ids),
            date_col.slice(0, n),
            ORDER_TYPES.take(pa.array(type_idx)),
            pa.array(customer_ids, mask=~registered),
            pa.array(store),
            pa.array(sub_cents / 100.0),
            pa.array(total_cents / 100.0),
            pa.array(pct > 0),
            pa.array(discount_cents / 100.0),
        ],
        schema=_SCHEMAS[contract.ORDERS.table],
    )
    order_details = pa.Table.from_arrays(
        [
            pa.array(line_ids),
            pa.array(line_order_ids),
            pa.array(product),
            pa.array(quantity),
            date_col.slice(0, n_lines),
        ],
        schema=_SCHEMAS[contract.ORDER_DETAILS.table],
    )
    customers = _customers(config, day, new_customers, date_col)
    return DayData(day, customers, orders, order_details)


def generate_range(config: GeneratorConfig, start: date, end: date) -> Iterator[DayData]:
    """Yield DayData for every day from `start` to `end` inclusive."""
    start, end = as_date(start, "start"), as_date(end, "end")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    for day in days_between(start, end):
        yield generate_day(config, day)


def reference_tables_for(config: GeneratorConfig, until: date | None = None) -> dict[str, pa.Table]:
    """The reference files of the config's history, as known on `until` (events.py)."""
    return events.reference_tables(
        config.seed, config.history_start, until, with_events=config.profile.events
    )
