"""How well `store_days_as_usual` (core/anomalies.py) tells incidents from business as usual.

On a generated history with the realistic profile's events (default: 700 days from 2025-01-01,
seed 42), every store-day is judged as the check judges it, from the same store-day figures the
raw orders give. Reported:

- recall of the generator's POS outages (all day and part of a day): the outage's store-day
  fails the check;
- recall of drops injected into otherwise normal store-days, by size: each chosen store-day
  (at most one a store in nine weeks) loses that share of its orders and their revenue, as a
  till that stops for part of the day;
- false alerts per 100 store-days: failed store-days that are no outage (a promotion, a
  holiday, an opening's first weeks are explained by the calendar: they count as false alerts
  if they fail);
- what judging costs: seconds per judged day (the check's work without Dagster or SQL).

    python bench/bench_anomalies.py [--days 700] [--seed 42] [--orders-per-day 440]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coffee_assets.core import anomalies as a  # noqa: E402
from coffee_assets.core.dates import days_between  # noqa: E402
from coffee_assets.core.generator import GeneratorConfig, generate_day, get_profile  # noqa: E402
from coffee_assets.core.generator import events as ev  # noqa: E402

DROPS = (0.3, 0.5, 0.7, 0.9)  # shares of a store-day's orders an injected incident loses


def store_days(config: GeneratorConfig, days: list[date]) -> dict[int, dict[date, a.StoreDay]]:
    history: dict[int, dict[date, a.StoreDay]] = defaultdict(dict)
    for day in days:
        orders = generate_day(config, day).orders
        stores = orders.column("StoreId").to_pylist()
        totals = orders.column("TotalAmount").to_pylist()
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for store, total in zip(stores, totals):
            counts[store][0] += 1
            counts[store][1] += round(total * 100)
        for store, (n, cents) in counts.items():
            history[store][day] = a.StoreDay(n, cents)
    return history


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=700)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--orders-per-day", type=float, default=None)
    args = parser.parse_args()
    profile = get_profile("realistic", args.orders_per_day)
    config = GeneratorConfig(seed=args.seed, history_start=args.start, profile=profile)
    days = days_between(args.start, args.start + timedelta(days=args.days - 1))
    began = time.perf_counter()
    history = store_days(config, days)
    generated = time.perf_counter() - began

    known: dict[tuple[int | None, date], list[tuple[str, str]]] = defaultdict(list)
    for event in ev.known_events(args.seed, args.start, days[-1]):
        for day in days_between(event.start, min(event.end, days[-1])):
            known[(event.store_id, day)].append((event.type, event.name))
    opened = {ev.NEW_STORE_ID: ev.opening_day(args.seed, args.start)}
    outages = {
        (e.store_id, e.start): e for e in ev.outage_days(args.seed, args.start, days[0], days[-1])
    }

    began = time.perf_counter()
    judged = days[a.WEEKS * 7 :]
    verdicts = a.judge(history, judged, opened=opened, known=known)
    judging = time.perf_counter() - began
    failed = {(j.store_id, v.day) for v in verdicts for j in v.failed}
    chain_empty = [v.day for v in verdicts if v.chain_empty]
    judged_store_days = sum(1 for v in verdicts for j in v.judgements if j.metric == "orders")
    in_range = {k: e for k, e in outages.items() if k[1] >= judged[0]}
    caught = {k for k in in_range if k in failed}
    false = failed - set(in_range)

    # Injected drops, one size at a time, into store-days that are neither an outage nor
    # touched by the calendar, at least nine weeks apart for a store: one incident never sits in
    # another's baseline, as real incidents are rare.
    draw = random.Random(args.seed)
    candidates = [
        (store, day)
        for store, series in sorted(history.items())
        for day in judged
        if day in series
        and (store, day) not in outages
        and not known.get((None, day))
        and not known.get((store, day))
    ]
    recall = {}
    missed: dict[float, list[tuple[int, date, a.StoreDay]]] = {}
    for drop in DROPS:
        draw.shuffle(candidates)
        chosen: list[tuple[int, date]] = []
        for store, day in candidates:
            if all(s != store or abs((d - day).days) > 63 for s, d in chosen):
                chosen.append((store, day))
        changed = {store: dict(series) for store, series in history.items()}
        for store, day in chosen:
            figures = changed[store][day]
            kept = round(figures.orders * (1 - drop))
            share = kept / figures.orders if figures.orders else 0
            changed[store][day] = a.StoreDay(kept, round(figures.revenue_cents * share))
        found = a.judge(changed, sorted({d for _, d in chosen}), opened=opened, known=known)
        hit = {(j.store_id, v.day) for v in found for j in v.failed}
        recall[drop] = (sum(1 for k in chosen if k in hit), len(chosen))
        missed[drop] = [
            (store, day, history[store][day]) for store, day in chosen if (store, day) not in hit
        ]

    print(
        f"history: {len(days)} days from {args.start}, seed {args.seed}, {profile.name} "
        f"(~{profile.average_orders_per_day:.0f} orders/day), generated in {generated:.1f} s"
    )
    print(
        f"judged: {len(verdicts)} days after the first {a.WEEKS} weeks, {judged_store_days} "
        f"store-days, in {judging:.2f} s ({judging / len(verdicts) * 1000:.2f} ms a day)"
    )
    print(f"outages: {len(caught)}/{len(in_range)} caught")
    severe = {k for k, e in in_range.items() if e.volume < 0.5}
    print(f"  of which keeping under half the day: {len(caught & severe)}/{len(severe)} caught")
    for key, event in sorted(in_range.items(), key=lambda kv: kv[0][1]):
        print(
            f"  {event.start} store {event.store_id} kept {event.volume:.0%}: "
            f"{'caught' if key in caught else 'MISSED'}"
        )
    for drop, (hits, total) in recall.items():
        print(f"injected drop of {drop:.0%}: {hits}/{total} caught ({hits / total:.0%})")
        if drop >= 0.7:
            for store, day, figures in missed[drop]:
                age = (day - opened[store]).days if store in opened else None
                print(
                    f"  missed {day} store {store} ({figures.orders} orders"
                    + (f", open {age} days" if age is not None else "")
                    + ")"
                )
    print(
        f"false alerts: {len(false)} store-days, "
        f"{100 * len(false) / judged_store_days:.2f} per 100 store-days"
    )
    for store, day in sorted(false, key=lambda k: k[1])[:20]:
        print(f"  {day} store {store}")
    print(f"chain-empty days (ERROR): {len(chain_empty)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
