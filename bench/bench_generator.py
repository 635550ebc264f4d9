"""Benchmark the data generator against pyarrow's own CSV writer.

    .venv/bin/python bench/bench_generator.py                      # both standard scenarios
    .venv/bin/python bench/bench_generator.py --days 30 --orders-per-day 5000

For each scenario (a profile volume over a number of days) it measures, in the same run:
- baseline: pyarrow.csv.write_csv of the already generated tables to the same files (default
  options, one file after another, creating the Hive folders as it goes);
- generate only: arrays + Arrow tables, no files;
- end to end: generate + write every CSV file atomically in the Hive layout, with the writer
  in this thread (workers=0) and with the CLI's 2 writer threads.
Throughput is in order lines (OrderDetails rows) per second; best of --repeat runs. Files go to
a fresh temp folder under --tmp-dir (default: the system's temp folder); at small volumes the
file system's cost of creating folders and files dominates, so try --tmp-dir /dev/shm too.

Other benchmarks can import `run_scenario` / `generator_lines_per_second`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coffee_assets.core.generator.config import GeneratorConfig  # noqa: E402
from coffee_assets.core.generator.core import generate_day, generate_range  # noqa: E402
from coffee_assets.core.generator.profiles import get_profile  # noqa: E402
from coffee_assets.core.generator.writer import day_paths, write_range  # noqa: E402

START = date(2025, 1, 1)


@dataclass(frozen=True)
class Row:
    scenario: str
    days: int
    order_lines: int
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return self.order_lines / self.seconds if self.seconds else float("inf")


def _best(repeat: int, run: Callable[[Path], None], tmp_dir: str | None = None) -> float:
    """Best wall time of `run(folder)` over `repeat` fresh temp folders."""
    best = float("inf")
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="coffee-bench-", dir=tmp_dir))
        try:
            began = time.perf_counter()
            run(folder)
            best = min(best, time.perf_counter() - began)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return best


def run_scenario(
    days: int,
    orders_per_day: float | None = None,
    *,
    profile: str = "realistic",
    repeat: int = 3,
    label: str = "",
    tmp_dir: str | None = None,
) -> list[Row]:
    """Measure baseline, generate-only and end-to-end rows for one scenario."""
    volume = get_profile(profile, orders_per_day)
    config = GeneratorConfig(seed=42, history_start=START, profile=volume)
    end = START + timedelta(days=days - 1)
    generate_day(config, end)  # warm the registration cache and imports, as a long run would
    data = list(generate_range(config, START, end))
    lines = sum(d.order_details.num_rows for d in data)
    prefix = f"{label}: " if label else ""

    def baseline(folder: Path) -> None:
        for d in data:
            for path, table in day_paths(folder, d):
                path.parent.mkdir(parents=True, exist_ok=True)
                pacsv.write_csv(table, str(path))

    def generate_only(_: Path) -> None:
        for _d in generate_range(config, START, end):
            pass

    rows = [
        Row(f"{prefix}pyarrow write_csv (baseline)", days, lines, _best(repeat, baseline, tmp_dir)),
        Row(f"{prefix}generate only (no files)", days, lines, _best(repeat, generate_only)),
    ]
    for workers, name in [(0, "1 thread"), (2, "2 writer threads")]:
        seconds = _best(
            repeat,
            lambda folder, w=workers: write_range(folder, config, START, end, workers=w),
            tmp_dir,
        )
        rows.append(Row(f"{prefix}end to end, {name}", days, lines, seconds))
    return rows


def generator_lines_per_second(days: int = 7, orders_per_day: float | None = 75_000) -> float:
    """End-to-end order lines/s of the CLI's path (generate + write, 2 writer threads)."""
    return run_scenario(days, orders_per_day, repeat=1)[-1].lines_per_second


def format_table(rows: list[Row], baseline: dict[str, float]) -> str:
    """A plain-text table; `baseline` maps a row's label prefix to its baseline lines/s."""
    header = (
        f"{'scenario':58} {'days':>5} {'order lines':>12} {'seconds':>8} "
        f"{'lines/s':>11} {'vs base':>7}"
    )
    out = [header, "-" * len(header)]
    for row in rows:
        base = baseline[row.scenario.split(":")[0]]
        out.append(
            f"{row.scenario:58} {row.days:>5} {row.order_lines:>12,} {row.seconds:>8.3f} "
            f"{row.lines_per_second:>11,.0f} {row.lines_per_second / base:>6.2f}x"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, help="days of a custom scenario")
    parser.add_argument("--orders-per-day", type=float, help="volume of a custom scenario")
    parser.add_argument("--profile", default="realistic", help="profile name (default: realistic)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default: 3)")
    parser.add_argument("--tmp-dir", help="where the temp folders go (default: system temp)")
    args = parser.parse_args(argv)

    if args.days is None and args.orders_per_day is None:
        scenarios = [
            (f"default ({args.profile}, 365 d)", 365, None),
            ("high volume (75k orders/d, 7 d)", 7, 75_000.0),
        ]
    else:
        volume = f"{args.orders_per_day:,.0f} orders/d" if args.orders_per_day else args.profile
        days = args.days or 365
        scenarios = [(f"custom ({volume}, {days} d)", days, args.orders_per_day)]

    rows: list[Row] = []
    baseline: dict[str, float] = {}
    for label, days, orders_per_day in scenarios:
        scenario_rows = run_scenario(
            days,
            orders_per_day,
            profile=args.profile,
            repeat=args.repeat,
            label=label,
            tmp_dir=args.tmp_dir,
        )
        baseline[label] = scenario_rows[0].lines_per_second
        rows += scenario_rows
    print(f"temp folder: {args.tmp_dir or tempfile.gettempdir()}")
    print(format_table(rows, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
