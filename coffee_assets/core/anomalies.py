"""Is a store's day a normal business day? Each store-day judged by the store's own history.

Pure Python and numpy. The `store_days_as_usual` check (defs/business) judges the days of a run
from the raw orders; the reports mark the incidents it finds on their charts; the benchmark
(bench/bench_anomalies.py) measures how many real incidents it catches and how often it cries
wolf. Imported data is judged by its own history, never by the generator's parameters.

For each store, day and metric (orders, revenue):

- **expected**: the median of the same weekday in the trailing eight weeks (robust to an
  outlier or two among them: an earlier outage, a holiday); days that were not business days
  for the store (before it opened) are left out. Revenue is the expected orders times the
  store's median order value of the trailing 28 days, so a price change moves it within days.
- **band**: expected +- 3 spreads for orders (4 for revenue, a noisier figure), the spread
  being the larger of the median absolute deviation of those same weekdays (scaled to a
  standard deviation), the Poisson spread of the count (sqrt of the expected orders; times the
  average order value, and 1.3 for the spread of order values, for revenue) and 8 % of the
  expected value; for orders never wider than +-50 % of the expected day (beyond its Poisson
  spread: a season turning inside the eight weeks widens their deviation, and a store that
  lost half its day must not be inside it). A count outside the band is unusual when it is
  also unlikely for a Poisson day of that size (p < 0.0001 for a drop; for a rise p < 0.000001
  against the expected or the last week's level, whichever is higher: a season turning is not
  an incident). Revenue is
  judged where at least 20 orders are expected; below, it is the count's noise.
- **lenient**: with fewer than three same weekdays of history (a new store, the first weeks of
  the data) the baseline is the median of the store's last two weeks, whatever the weekday
  (its ordinary days, or all of them when fewer than seven are: a store just out of its
  opening weeks), the band is twice as wide and a day above it is growth, not an incident;
  the verdict says so.
- **the whole chain** is judged the same way when no store fails on its own: a delivery that
  lost part of every store's orders (a truncated file) shows there. A day without any order
  where no store is busy enough to say so alone (the original's one or two orders a store) is
  judged on the chain: `no_orders` when no order at all has a probability under 0.001 for the
  chain's usual day (about 7 orders or more).
- **known events** (the chain's calendar) explain a deviation in the direction they cause, and
  are left out of the baselines: a public holiday explains any volume, a promotion more orders
  (and any revenue), a price change any revenue, a store's opening weeks anything at that store.
  Such a day is judged and reported, and not failed. Nothing explains a store without orders.
  A chain-wide event explains a store's deviation only as far as the chain shares it: on such
  a day, with at least three settled stores, the day's level is the median store's actual /
  expected, and a store judged unusual against its expectation scaled to that level is an
  incident (a POS down on a holiday), its verdict saying so.

- **lasting incidents**: a store that fails is judged, while it keeps failing on the days that
  follow, without its incident's days (neither in its baseline, nor its recent level, nor its
  order value): a shift that lasts, up or down, stays one incident from its first day until the
  store is back inside its band (the verdict's `ended`; a day of an incident needs no Poisson
  improbability on top, its first day gave that), and its days say what they were judged by;
  their baseline reaches back past the incident. After five weeks a shift is the store's new
  usual: its days join the baseline again and the incident ends. A season turning, gradual,
  starts none.

Verdicts: `ok`; `unusual` (WARN: lower or higher than the band, an unexplained incident or a
real odd day); `no_orders` (WARN: a store that should have been busy recorded nothing, a POS
down all day). ERROR is kept for what cannot be a business day at all: no store of the chain
recorded anything while they were expected to (an empty or lost delivery): `chain_empty`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

WEEKS = 8  # same-weekday samples of the baseline
MIN_SAMPLES = 3  # fewer: judged leniently
AOV_DAYS = 28
SPREADS = {"orders": 3.0, "revenue": 4.0}
# A day's revenue spreads more than its count: each order's value varies too (sd ~ n x E[X^2]).
REVENUE_SPREAD = 1.3
LENIENCY = 2.0
LENIENT_DAYS = 14  # a young store's baseline: its last days, whatever the weekday
RELATIVE_FLOOR = 0.08
ORDERS_SPREAD_CAP = 0.5  # the orders band never wider than +-50 % (beyond the Poisson spread)
POISSON_P = 1e-4
# A rise is less likely an incident than a drop (a lost delivery, a POS down) and more likely a
# season turning: it fails only when far less likely still, and against the recent level too.
POISSON_P_HIGH = 1e-6
RECENT_DAYS = 7
# Below this many expected orders a day's revenue is the count's noise: only the count is judged.
REVENUE_MIN_ORDERS = 20
# A store expected to be at least this busy has practically never a day without any order.
NO_ORDERS_MIN_EXPECTED = -math.log(POISSON_P)
METRICS = ("orders", "revenue")


@dataclass(frozen=True)
class StoreDay:
    orders: int
    revenue_cents: int


@dataclass(frozen=True)
class Judgement:
    """One store, one day, one metric."""

    store_id: int
    day: date
    metric: str  # orders or revenue (revenue in cents)
    actual: float
    expected: float | None  # None: nothing to compare with (the store's first day)
    low: float | None
    high: float | None
    verdict: str  # ok, unusual, no_orders
    lenient: bool = False
    known: tuple[str, ...] = ()  # the calendar's events that explain the deviation
    samples: int = 0
    context: str = ""  # what the expected value was adjusted for (the chain on a holiday)

    @property
    def failed(self) -> bool:
        return self.verdict in ("unusual", "no_orders") and not self.known

    def text(self, store_name: str) -> str:
        """`Ethiopia Coffee, 2025-03-01, orders: 0, expected 91 (band 55..127)`."""
        if self.store_id == CHAIN:
            store_name = "The whole chain"
        if self.expected is None:
            return f"{store_name}, {self.day}, {self.metric}: {_shown(self.metric, self.actual)}"
        band = f"band {_shown(self.metric, self.low)}..{_shown(self.metric, self.high)}"
        words = (
            f"{store_name}, {self.day}, {self.metric}: {_shown(self.metric, self.actual)}, "
            f"expected {_shown(self.metric, self.expected)} ({band})"
        )
        if self.verdict == "no_orders":
            words += ": no orders recorded"
        if self.lenient:
            words += f" [judged leniently: {self.samples} comparable day(s) of history]"
        if self.context:
            words += f" [{self.context}]"
        if self.known:
            words += f" [explained by {', '.join(self.known)}]"
        return words


def _shown(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric == "revenue":
        return f"{value / 100:,.2f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class DayVerdict:
    """A day of the chain: every store's judgements, and whether the day could be one."""

    day: date
    judgements: list[Judgement] = field(default_factory=list)
    chain_empty: bool = False  # no store recorded anything while stores were expected busy
    # Incidents that ended this day, (store, first day): the store judged as usual again, after
    # failing every day since its first (or after INCIDENT_DAYS_MAX days: its new usual).
    ended: tuple[tuple[int, date], ...] = ()
    # The incident each failing store is in, (store, its first day): one name for all its days.
    incidents: tuple[tuple[int, date], ...] = ()

    @property
    def failed(self) -> list[Judgement]:
        return [j for j in self.judgements if j.failed]


def _log_pmfs(first: int, last: int, mean: float) -> np.ndarray:
    """log P(X = i) for i in first...last, X ~ Poisson(mean) (mean > 0): the first from lgamma,
    the others by the ratio of neighbours, log(mean / i), summed; never exp(-mean) alone, which
    is 0 in floating point from about 745 expected orders on."""
    head = first * math.log(mean) - mean - math.lgamma(first + 1)
    steps = math.log(mean) - np.log(np.arange(first + 1, last + 1, dtype=float))
    return head + np.concatenate(([0.0], np.cumsum(steps)))


def _log_sum(logs: np.ndarray) -> float:
    top = float(np.max(logs))
    return top + math.log(float(np.sum(np.exp(logs - top))))


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), right at any size of mean (computed in log space)."""
    if mean <= 0 or k >= mean + 40 * math.sqrt(mean) + 50:
        return 1.0 if k >= 0 else 0.0
    if k < 0:
        return 0.0
    # The terms more than 40 sd (and 50) below the mean, or below k, add nothing a float holds.
    first = max(0, int(min(k, mean) - 40 * math.sqrt(max(mean, 1.0)) - 50))
    return min(1.0, math.exp(_log_sum(_log_pmfs(first, k, mean))))


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), right at any size of mean (computed in log space)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if k <= mean:
        return 1.0 - poisson_cdf(k - 1, mean)
    last = int(k + 40 * math.sqrt(max(mean, 1.0)) + 50)
    return min(1.0, math.exp(_log_sum(_log_pmfs(k, last, mean))))


def _band(
    metric: str, values: np.ndarray, expected: float, floor: float, width: float
) -> tuple[float, float]:
    mad = float(np.median(np.abs(values - np.median(values)))) * 1.4826 if len(values) else 0.0
    spread = max(mad, floor, RELATIVE_FLOOR * expected) * width * SPREADS[metric]
    if metric == "orders":  # a season turning inside the weeks widens the deviation: cap it
        spread = min(spread, max(floor * width * SPREADS[metric], ORDERS_SPREAD_CAP * expected))
    return max(0.0, expected - spread), expected + spread


# What each kind of known event explains: (metric, direction) pairs; "any" for both ways.
EXPLAINS: dict[str, set[tuple[str, str]]] = {
    "public_holiday": {("orders", "any"), ("revenue", "any")},
    "promotion": {("orders", "high"), ("revenue", "any")},
    "price_change": {("revenue", "any")},
    "store_opening": {("orders", "any"), ("revenue", "any")},
}
Known = Mapping[tuple[int | None, date], Sequence[tuple[str, str]]]  # (type, name) of events


def judge(
    history: Mapping[int, Mapping[date, StoreDay]],
    days: Sequence[date],
    *,
    opened: Mapping[int, date | None] | None = None,
    known: Known | None = None,
) -> list[DayVerdict]:
    """Judge `days` for every store in `history` ({store: {day: StoreDay}}, holding at least
    the eight weeks before the first day; a store-day without orders may be missing).

    `opened`: a store's opening day (None or absent: open before the history); it is not judged
    before. `known`: the calendar's events as (type, name) by (store, or None for every store,
    day), for the days judged and the eight weeks before them."""
    opened = opened or {}
    known = known or {}
    verdicts = []
    # Each store's ongoing incident: its failed days so far, consecutive up to the day before.
    ongoing: dict[int, list[date]] = {}
    for day in days:
        lasting = {
            store: incident
            for store, incident in ongoing.items()
            if incident[-1] == day - timedelta(days=1)
            and (day - incident[0]).days < INCIDENT_DAYS_MAX
        }
        stores = {}
        for store_id, series in sorted(history.items()):
            start = opened.get(store_id)
            if start is not None and day < start:
                continue
            first_seen = min(series) if series else day
            since = max(d for d in (start, first_seen) if d is not None)
            unusual = {d for (s, d), found in known.items() if found and s in (None, store_id)}
            stores[store_id] = _Store(series, since, unusual, frozenset(lasting.get(store_id, ())))
        judgements = _judge_stores(day, stores, known)
        expected_orders = sum(j.expected or 0 for j in judgements if j.metric == "orders")
        if not any(j.failed for j in judgements) and history:
            # The chain as a whole: a delivery that lost part of every store's orders (a
            # truncated file) shows there, when no store does on its own. Any event explains.
            chain = _chain(history)
            everything = [e for (_, d), found in known.items() if d == day for e in found]
            unusual_days = {d for (_, d), found in known.items() if found}
            since = min(chain, default=day)
            judgements += _judge_store_day(
                CHAIN, day, chain, since, everything, unusual_days,
                frozenset(lasting.get(CHAIN, ())),
            )  # fmt: skip
        nothing = bool(judgements) and all(
            j.actual == 0 for j in judgements if j.metric == "orders"
        )
        chain_empty = nothing and expected_orders >= NO_ORDERS_MIN_EXPECTED
        if nothing and not chain_empty:
            judgements = [_empty_chain(j) for j in judgements]
        judgements = [_in_incident(j, lasting.get(j.store_id)) for j in judgements]
        failing = {j.store_id for j in judgements if j.failed}
        ended = tuple(
            (store, incident[0]) for store, incident in sorted(ongoing.items())
            if incident[-1] == day - timedelta(days=1) and store not in failing
        )  # fmt: skip
        ongoing = {store: [*(lasting.get(store) or []), day] for store in sorted(failing)}
        incidents = tuple((store, days_of[0]) for store, days_of in ongoing.items())
        verdicts.append(DayVerdict(day, judgements, chain_empty, ended, incidents))
    return verdicts


# A shift that lasts longer than this is the store's new usual: its days join the baseline again
# (after five weeks, five of the eight same weekdays), and the incident ends.
INCIDENT_DAYS_MAX = 35


@dataclass(frozen=True)
class _Store:
    series: Mapping[date, StoreDay]
    since: date  # its first business day in the history
    unusual: set[date]  # days the calendar explains: left out of its baseline
    incident: frozenset[date]  # its ongoing incident's days: left out of baseline and level


def _in_incident(judgement: Judgement, incident: list[date] | None) -> Judgement:
    """A judgement that fails again inside an ongoing incident says what it was judged by."""
    if not incident or not judgement.failed:
        return judgement
    words = f"against its days before the incident since {incident[0]}"
    context = f"{judgement.context}; {words}" if judgement.context else words
    return replace(judgement, context=context)


CHAIN = 0  # the store id under which the whole chain is judged
# A day no store recorded anything on is what a lost delivery looks like. Where the stores are
# too small to say so one by one (the original's one or two orders a store), the chain's day
# is: no order at all, against the chain's usual day, warns below this probability (at its 7
# expected orders on a Wednesday, 0.0009: about one false warning in three years).
EMPTY_CHAIN_P = 1e-3


def _empty_chain(judgement: Judgement) -> Judgement:
    """The chain's orders on a day without any order: `no_orders` when that is unlikely enough
    for the chain's usual day (no calendar event explains a chain without orders)."""
    if (
        judgement.store_id != CHAIN
        or judgement.metric != "orders"
        or judgement.expected is None
        or judgement.lenient
        or poisson_cdf(0, judgement.expected) >= EMPTY_CHAIN_P
    ):
        return judgement
    return replace(judgement, verdict="no_orders", known=())


PEERS_MIN = 3  # stores with a settled baseline needed to measure a chain-wide event's effect


def _judge_stores(
    day: date,
    stores: Mapping[int, _Store],
    known: Known,
) -> list[Judgement]:
    """Every store's judgements of the day. A chain-wide event (a holiday) explains a store's
    deviation only as far as the other stores share it: the day's level is measured on the
    chain (the median store's actual/expected), and a store far below that level is still an
    incident (a POS down on a holiday)."""
    chain_wide = tuple(known.get((None, day), ()))
    judged = {
        store_id: _judge_store_day(
            store_id,
            day,
            store.series,
            store.since,
            [*chain_wide, *known.get((store_id, day), ())],
            store.unusual,
            store.incident,
        )
        for store_id, store in stores.items()
    }
    if chain_wide:
        ratios = [
            j.actual / j.expected
            for js in judged.values()
            for j in js
            if j.metric == "orders"
            and not j.lenient
            and j.expected
            and j.expected >= REVENUE_MIN_ORDERS
        ]
        if len(ratios) >= PEERS_MIN:
            level = float(np.median(ratios))
            names = ", ".join(f"{kind}: {name}" for kind, name in chain_wide)
            context = f"the chain at {level:.0%} of its usual on {names}"
            for store_id, js in judged.items():
                if any(j.known for j in js):
                    store = stores[store_id]
                    again = _judge_store_day(
                        store_id, day, store.series, store.since, known.get((store_id, day), ()),
                        store.unusual, store.incident, scale=level, context=context,
                    )  # fmt: skip
                    if any(j.failed for j in again):
                        judged[store_id] = again
    return [j for js in judged.values() for j in js]


def _chain(history: Mapping[int, Mapping[date, StoreDay]]) -> dict[date, StoreDay]:
    totals: dict[date, list[int]] = {}
    for series in history.values():
        for day, figures in series.items():
            total = totals.setdefault(day, [0, 0])
            total[0] += figures.orders
            total[1] += figures.revenue_cents
    return {day: StoreDay(orders, revenue) for day, (orders, revenue) in totals.items()}


def _explained(
    events: Sequence[tuple[str, str]], metric: str, actual: float, expected: float
) -> tuple[str, ...]:
    direction = "high" if actual > expected else "low"
    return tuple(
        f"{kind}: {name}"
        for kind, name in events
        if (metric, "any") in EXPLAINS.get(kind, set())
        or (metric, direction) in EXPLAINS.get(kind, set())
    )


def _judge_store_day(
    store_id: int,
    day: date,
    series: Mapping[date, StoreDay],
    since: date,
    events: Sequence[tuple[str, str]],
    unusual: set[date],
    incident: frozenset[date] = frozenset(),
    *,
    scale: float = 1.0,
    context: str = "",
) -> list[Judgement]:
    """One store's day, both metrics; `scale` adjusts the expectation (and its band) for what
    the whole chain did that day, `context` says so in the verdict. `incident`: the days of
    the store's ongoing incident, judged by neither its baseline nor its recent level (a shift
    that lasts stays an incident until the store is back to its usual)."""
    today = series.get(day, StoreDay(0, 0))
    # Inside an incident, the baseline reaches back past it: its eight weeks of ordinary days.
    extra_weeks = -(-len(incident) // 7)
    weekdays = [day - timedelta(weeks=w) for w in range(1, WEEKS + 1 + extra_weeks)]
    # The baseline: ordinary days only (no holiday, promotion, opening week among them).
    same = [d for d in weekdays if d >= since and d not in unusual and d not in incident]
    lenient = len(same) < MIN_SAMPLES
    if lenient:
        recent = [since + timedelta(days=i) for i in range((day - since).days)]
        ordinary = [d for d in recent if d not in unusual and d not in incident]
        same = (ordinary if len(ordinary) >= LENIENT_DAYS // 2 else recent)[-LENIENT_DAYS:]
    if not same:  # the store's first day: nothing to compare with
        return [
            Judgement(store_id, day, metric, value, None, None, None, "ok", True)
            for metric, value in (
                ("orders", today.orders),
                ("revenue", today.revenue_cents),
            )
        ]
    counts = np.array([series.get(d, StoreDay(0, 0)).orders for d in same], dtype=float) * scale
    expected = float(np.median(counts))
    width = LENIENCY if lenient else 1.0
    low, high = _band("orders", counts, expected, math.sqrt(max(expected, 1.0)), width)
    lately = [
        series[d]
        for d in (day - timedelta(days=i) for i in range(1, AOV_DAYS + 1 + len(incident)))
        if d in series and series[d].orders and d not in incident
    ]
    aov = float(np.median([s.revenue_cents / s.orders for s in lately])) if lately else 0.0
    revenues = scale * np.array(
        [series.get(d, StoreDay(0, 0)).revenue_cents for d in same], dtype=float
    )
    expected_revenue = expected * aov
    revenue_low, revenue_high = _band(
        "revenue",
        revenues,
        expected_revenue,
        math.sqrt(max(expected, 1.0)) * aov * REVENUE_SPREAD,
        width,
    )

    recent_days = [
        d for d in (day - timedelta(days=i) for i in range(1, RECENT_DAYS + 1)) if d not in incident
    ]
    recent_level = float(
        np.median([series.get(d, StoreDay(0, 0)).orders for d in recent_days if d >= since] or [0])
    )

    def verdict_of(actual: float, lo: float, hi: float, count_check: bool) -> str:
        if lo <= actual <= hi:
            return "ok"
        # Inside an incident, the store is back when it is back inside its band: its first day
        # proved the shift unlikely, the days after only tell whether it lasts.
        if count_check and not incident:
            # Outside the band, and unlikely even for a Poisson day of the expected size (for a
            # rise: of the expected or the recent level, whichever is higher).
            unlikely = (
                poisson_cdf(int(actual), expected) < POISSON_P
                if actual < lo
                else poisson_sf(int(actual), max(expected, recent_level, 1.0)) < POISSON_P_HIGH
            )
            if not unlikely:
                return "ok"
        return "unusual"

    orders_verdict = verdict_of(today.orders, low, high, count_check=True)
    if today.orders == 0 and expected >= NO_ORDERS_MIN_EXPECTED and not lenient:
        orders_verdict = "no_orders"
    revenue_verdict = (
        verdict_of(today.revenue_cents, revenue_low, revenue_high, False)
        if expected >= REVENUE_MIN_ORDERS
        else "ok"
    )
    if orders_verdict == "no_orders":
        revenue_verdict = "ok"  # one incident, said once: the orders say it
    if lenient and orders_verdict == "unusual" and today.orders > expected:
        orders_verdict = "ok"  # a young store grows
    if lenient and revenue_verdict == "unusual" and today.revenue_cents > expected_revenue:
        revenue_verdict = "ok"
    samples = len(same)
    orders_known = (
        () if orders_verdict != "unusual" else _explained(events, "orders", today.orders, expected)
    )
    revenue_known = (
        ()
        if revenue_verdict != "unusual"
        else _explained(events, "revenue", today.revenue_cents, expected_revenue)
    )
    return [
        Judgement(store_id, day, "orders", today.orders, expected, low, high, orders_verdict,
                  lenient, orders_known, samples, context),
        Judgement(store_id, day, "revenue", today.revenue_cents, expected_revenue, revenue_low,
                  revenue_high, revenue_verdict, lenient, revenue_known, samples, context),
    ]  # fmt: skip
