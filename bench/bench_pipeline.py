"""Pipeline benchmark: wall time of daily_refresh on the local target at the default volume.

    .venv/bin/python bench/bench_pipeline.py [--history 30 365] [--repeat 3]

For each history length H it builds H days as ONE run (a single-run backfill, timed), then times
daily_refresh for the next day (H+1) `--repeat` times (re-running a day replaces it, so every
repeat does the same work) and reports the median. Targets (README): one day under 20 s whatever
the history, the 365-day figure within 1.2x of the 30-day one, a 365-day backfill under 2 min.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from coffee_assets.definitions import build_definitions
from coffee_assets.jobs import execute_daily_refresh
from coffee_assets.settings import Settings

START = date(2025, 1, 1)


def timed_run(defs: dg.Definitions, instance: dg.DagsterInstance, first: date, last: date) -> float:
    began = time.perf_counter()
    execute_daily_refresh(defs, first, last, instance=instance)
    return time.perf_counter() - began


def bench_history(days: int, repeat: int, workdir: Path) -> dict[str, float]:
    settings = Settings(data_dir=workdir / f"history-{days}", start_date=START)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        backfill = timed_run(defs, instance, START, START + timedelta(days=days - 1))
        day = START + timedelta(days=days)
        one_day = [timed_run(defs, instance, day, day) for _ in range(repeat)]
    return {"backfill": backfill, "day_median": statistics.median(one_day), "day_min": min(one_day)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="bench-dagster-home-"))

    with tempfile.TemporaryDirectory(prefix="coffee-bench-") as tmp:
        results = {h: bench_history(h, args.repeat, Path(tmp)) for h in args.history}

    base = results[args.history[0]]["day_median"]
    print()
    print(
        f"{'history (days)':>15} {'backfill as one run (s)':>24} {'one day, median (s)':>20} "
        f"{'one day, min (s)':>17} {'ratio to ' + str(args.history[0]) + ' days':>17}"
    )
    for history, r in results.items():
        print(
            f"{history:>15} {r['backfill']:>24.1f} {r['day_median']:>20.1f} "
            f"{r['day_min']:>17.1f} {r['day_median'] / base:>17.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
