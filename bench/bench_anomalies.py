"""How well `store_days_as_usual` (core/anomalies.py) tells incidents from business as usual.

On generated histories with the realistic profile's events (default: 700 days from 2025-01-01,
five seeds), every store-day is judged as the check judges it, from the same store-day figures
the raw orders give, under two calendars:

- **business**: the chain's own calendar (what Events.csv holds: openings, holidays, promotions,
  price changes), completed with the holidays library and the price list, as the check does;
- **library**: no events file, only the holidays library (Ukraine), the price list's changes
  and promotions and the new store's opening day from the store list
  (core/business_calendar.py): what a real business has without keeping a calendar.

Reported for each, per incident type, the share caught **on its first day** (the store, or for
a chain-wide incident any store or the chain, fails that day):

- the generator's POS outages (all day, or 30-60 % of the day kept);
- injected into otherwise ordinary store-days (no event, no outage, at most one a store in nine
  weeks, so that one never sits in another's baseline): drops of 30, 50, 70 and 90 % of a
  store's orders (and their revenue); rises of 50 and 100 %; a store closed for a week (no
  orders for seven days); a chain-wide partial loss (every store loses 40 % of its day: a
  truncated delivery); a product's price entered wrong (the best seller at ten times its
  price for a day: every store's revenue up by its share of it, the price list's entry moving
  more than half, which explains nothing); an outage on a public holiday (a store without
  orders on a holiday the calendar explains for the others);

and false alarms per 100 store-days (failed store-days of the history as generated that are no
outage), and what judging costs (ms per store-day, the check's work without Dagster or SQL).

    python bench/bench_anomalies.py [--days 700] [--seeds 42 7 123 5 99] [--orders-per-day 44000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coffee_assets.core import anomalies as a  # noqa: E402
from coffee_assets.core import price_list as pl  # noqa: E402
from coffee_assets.core.business_calendar import (  # noqa: E402
    CalendarEvent,
    completed,
    known_days,
)
from coffee_assets.core.dates import days_between  # noqa: E402
from coffee_assets.core.generator import events as ev  # noqa: E402
from coffee_assets.core.generator.config import GeneratorConfig  # noqa: E402
from coffee_assets.core.generator.core import generate_day  # noqa: E402
from coffee_assets.core.generator.profiles import get_profile  # noqa: E402
from coffee_assets.core.generator.reference import PRODUCTS  # noqa: E402
from coffee_assets.core.public_holidays import HolidayCalendar  # noqa: E402

History = dict[int, dict[date, a.StoreDay]]
DROPS = (0.3, 0.5, 0.7, 0.9)  # shares of a store-day's orders an injected drop loses
RISES = (0.5, 1.0)
CHAIN_LOSS = 0.4
WRONG_PRICE = 10  # the best seller at ten times its price
APART = 63  # days between two injected incidents of one store


def store_days(config: GeneratorConfig, days: list[date]) -> tuple[History, float]:
    """{store: {day: orders and revenue}}, and the best seller's share of the revenue."""
    history: History = defaultdict(dict)
    best, revenue = 0.0, 0.0
    for day in days:
        data = generate_day(config, day)
        by_store = (
            pa.table(
                {"s": data.orders["StoreId"], "t": pc.multiply(data.orders["TotalAmount"], 100)}
            )
            .group_by("s")
            .aggregate([("t", "count"), ("t", "sum")])
        )
        for store, n, cents in zip(*(by_store[k].to_pylist() for k in ("s", "t_count", "t_sum"))):
            history[store][day] = a.StoreDay(n, round(cents))
        if day.day == 1:  # a day a month is plenty to size the best seller's share
            lines = data.order_details.group_by("ProductId").aggregate([("Quantity", "sum")])
            quantities = dict(zip(*(lines[k].to_pylist() for k in ("ProductId", "Quantity_sum"))))
            prices = {p[0]: p[3] for p in PRODUCTS}
            money = {p: q * prices[p] for p, q in quantities.items()}
            best += max(money.values())
            revenue += sum(money.values())
    return history, best / revenue if revenue else 0.0


def calendars(seed: int, start: date, last: date) -> dict[str, a.Known]:
    """The two calendars the check can have (see the module docstring)."""
    names = {p[0]: p[1] for p in PRODUCTS}
    entries = [
        pl.PriceEntry(i, product, names[product], cents, valid_from, valid_to)
        for i, (product, cents, valid_from, valid_to) in enumerate(
            ev.price_timeline(seed, start, last), start=1
        )
    ]
    moves = pl.moves(entries)
    holidays = HolidayCalendar("UA")
    opening = ev.opening_day(seed, start)  # the store list's OpeningDate
    business = [
        CalendarEvent(e.type, e.name, e.start, min(e.end, last), e.store_id)
        for e in ev.known_events(seed, start, last)
    ]
    return {
        "business": known_days(completed(business, holidays, moves, start, last), start, last),
        "library": known_days(
            completed([], holidays, moves, start, last, {ev.NEW_STORE_ID: ("new", opening)}),
            start,
            last,
        ),
    }


Incident = tuple[int, date]  # (store, or a.CHAIN for the whole chain, first day)
Injector = Callable[[History, Incident], None]


def _scale_day(history: History, store: int, day: date, orders: float, revenue: float) -> None:
    figures = history[store].get(day, a.StoreDay(0, 0))
    history[store][day] = a.StoreDay(
        round(figures.orders * orders), round(figures.revenue_cents * revenue)
    )


def injectors(best_share: float) -> dict[str, tuple[Injector, bool]]:
    """Incident type -> (how it changes a history at (store, day), whether it is chain-wide)."""

    def drop(share: float) -> Injector:
        return lambda h, i: _scale_day(h, i[0], i[1], 1 - share, 1 - share)

    def rise(share: float) -> Injector:
        return lambda h, i: _scale_day(h, i[0], i[1], 1 + share, 1 + share)

    def closed_week(h: History, i: Incident) -> None:
        for k in range(7):
            _scale_day(h, i[0], i[1] + timedelta(days=k), 0, 0)

    def chain_loss(h: History, i: Incident) -> None:
        for store in h:
            if i[1] in h[store]:
                _scale_day(h, store, i[1], 1 - CHAIN_LOSS, 1 - CHAIN_LOSS)

    def wrong_price(h: History, i: Incident) -> None:
        for store in h:
            if i[1] in h[store]:
                _scale_day(h, store, i[1], 1, 1 + (WRONG_PRICE - 1) * best_share)

    found: dict[str, tuple[Injector, bool]] = {
        **{f"drop {d:.0%}": (drop(d), False) for d in DROPS},
        **{f"rise {r:.0%}": (rise(r), False) for r in RISES},
        "closed a week": (closed_week, False),
        f"chain loses {CHAIN_LOSS:.0%}": (chain_loss, True),
        "price entered wrong": (wrong_price, True),
    }
    return found


def choose(
    candidates: list[Incident], draw: random.Random, chain_wide: bool, span: int = 1
) -> list[Incident]:
    """Incident places at least APART days apart for a store (for the whole chain, apart at all)."""
    pool = list(candidates)
    draw.shuffle(pool)
    chosen: list[Incident] = []
    for store, day in pool:
        if chain_wide:
            store = a.CHAIN
        if all(s != store or abs((d - day).days) > APART + span for s, d in chosen):
            chosen.append((store, day))
    return chosen


def caught_on_first_day(verdicts: list[a.DayVerdict], incidents: list[Incident]) -> int:
    failed = {(j.store_id, v.day) for v in verdicts for j in v.failed}
    failed_days = {v.day for v in verdicts if v.failed or v.chain_empty}
    return sum(
        1
        for store, day in incidents
        if (day in failed_days if store == a.CHAIN else (store, day) in failed)
    )


def bench_seed(args: argparse.Namespace, seed: int) -> dict[str, dict[str, tuple[int, int]]]:
    profile = get_profile("realistic", args.orders_per_day)
    config = GeneratorConfig(seed=seed, history_start=args.start, profile=profile)
    days = days_between(args.start, args.start + timedelta(days=args.days - 1))
    began = time.perf_counter()
    history, best_share = store_days(config, days)
    generated = time.perf_counter() - began
    opened = {ev.NEW_STORE_ID: ev.opening_day(seed, args.start)}
    judged = days[a.WEEKS * 7 :]
    outages = {(e.store_id, e.start) for e in ev.outage_days(seed, args.start, judged[0], days[-1])}
    holidays = set(HolidayCalendar("UA").between(judged[0], days[-1]))
    results: dict[str, dict[str, tuple[int, int]]] = {}
    for name, known in calendars(seed, args.start, days[-1]).items():
        began = time.perf_counter()
        verdicts = a.judge(history, judged, opened=opened, known=known)
        cost = time.perf_counter() - began
        store_days_judged = sum(1 for v in verdicts for j in v.judgements if j.metric == "orders")
        failed = {(j.store_id, v.day) for v in verdicts for j in v.failed}
        row: dict[str, tuple[int, int]] = {
            "outages": (len(outages & failed), len(outages)),
            "false": (len(failed - outages), store_days_judged),
        }
        ordinary = [
            (store, day)
            for store, series in sorted(history.items())
            for day in judged[:-7]
            if day in series
            and (store, day) not in outages
            and not known.get((None, day))
            and not known.get((store, day))
            and store != ev.NEW_STORE_ID
        ]
        draw = random.Random(seed)
        for kind, (inject, chain_wide) in injectors(best_share).items():
            span = 7 if kind == "closed a week" else 1
            chosen = choose(ordinary, draw, chain_wide, span)
            changed: History = {s: dict(series) for s, series in history.items()}
            for incident in chosen:
                inject(changed, incident)
            found = a.judge(changed, sorted({d for _, d in chosen}), opened=opened, known=known)
            row[kind] = (caught_on_first_day(found, chosen), len(chosen))
        # A store down all day on a public holiday (the calendar explains the others' level).
        on_holidays = choose(
            [(s, d) for s in range(1, 6) for d in sorted(holidays) if d in history[s]], draw, False
        )
        changed = {s: dict(series) for s, series in history.items()}
        for store, day in on_holidays:
            _scale_day(changed, store, day, 0, 0)
        found = a.judge(changed, sorted({d for _, d in on_holidays}), opened=opened, known=known)
        row["outage on a holiday"] = (caught_on_first_day(found, on_holidays), len(on_holidays))
        row["ms"] = (round(1000 * cost), store_days_judged)
        results[name] = row
    print(
        f"seed {seed}: {len(days)} days, ~{profile.average_orders_per_day:,.0f} orders/day, "
        f"generated in {generated:.0f} s, best seller {best_share:.1%} of the revenue",
        flush=True,
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=700)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 123, 5, 99])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--orders-per-day", type=float, default=None)
    args = parser.parse_args()
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    per_seed = {}
    for seed in args.seeds:
        per_seed[seed] = bench_seed(args, seed)
        for calendar, row in per_seed[seed].items():
            for kind, (hit, total) in row.items():
                totals[calendar][kind][0] += hit
                totals[calendar][kind][1] += total
    kinds = [k for k in next(iter(totals.values())) if k not in ("false", "ms")]
    print()
    print(
        "| calendar | " + " | ".join(kinds) + " | false alarms / 100 store-days | ms / store-day |"
    )
    print("|---|" + "---:|" * (len(kinds) + 2))
    for calendar, row in totals.items():
        cells = [f"{row[k][0]}/{row[k][1]} ({row[k][0] / max(row[k][1], 1):.0%})" for k in kinds]
        false, judged = row["false"]
        cells.append(f"{100 * false / judged:.2f} ({false} of {judged:,})")
        cells.append(f"{row['ms'][0] / row['ms'][1]:.2f}")
        print(f"| {calendar} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
