"""`coffee-generate`: write the coffee chain's CSV files for a date range, without Dagster.

coffee-generate --start 2025-01-01 --end 2025-03-31 --out data/csv_sources
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from tqdm import tqdm

from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.core import DayData
from coffee_assets.core.generator.profiles import PROFILES, get_profile
from coffee_assets.core.generator.writer import write_range
from coffee_assets.settings import Settings, SettingsError


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0: {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be within 0..2**63-1: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coffee-generate",
        description="Write the coffee chain's daily CSV files (Customers, Orders, OrderDetails) "
        "and the reference files (Products, Stores) in the bucket's Hive layout.",
    )
    parser.add_argument("--start", type=_iso_date, help="first day (default: --history-start)")
    parser.add_argument("--end", type=_iso_date, help="last day, inclusive (default: --start)")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder playing the bucket's CSV prefix"
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        help="volume profile (default: $COFFEE_VOLUME_PROFILE or realistic)",
    )
    parser.add_argument(
        "--orders-per-day",
        type=_positive_float,
        help="rescale the profile to this many orders a day on average "
        "(default: $COFFEE_ORDERS_PER_DAY or the profile's own)",
    )
    parser.add_argument("--seed", type=_seed, help="random seed (default: $COFFEE_SEED or 42)")
    parser.add_argument(
        "--history-start",
        type=_iso_date,
        default=None,
        help="first day of the history (default: $COFFEE_START_DATE or 2025-01-01)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `coffee-generate`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # The same environment variables as the Dagster assets, so both write the same files.
        env = Settings.from_env()
    except SettingsError as exc:
        parser.error(str(exc))
    history_start = args.history_start or env.start_date
    start = args.start or history_start
    end = args.end or start
    if start < history_start:
        parser.error(f"--start {start} is before the history's start {history_start}")
    if end < start:
        parser.error(f"--end {end} is before --start {start}")
    try:
        profile = get_profile(
            args.profile or env.volume_profile, args.orders_per_day or env.orders_per_day
        )
    except ValueError as exc:
        parser.error(str(exc))
    seed = env.seed if args.seed is None else args.seed
    config = GeneratorConfig(seed=seed, history_start=history_start, profile=profile)

    total = (end - start).days + 1
    with tqdm(total=total, unit="day", disable=args.quiet, file=sys.stderr) as bar:

        def advance(data: DayData) -> None:
            bar.set_postfix_str(data.day.isoformat(), refresh=False)
            bar.update()

        summary = write_range(args.out, config, start, end, on_day=advance)
    print(
        f"Wrote {summary.days} day(s) {summary.start}..{summary.end}: "
        f"{summary.customers:,} customers, {summary.orders:,} orders, "
        f"{summary.order_lines:,} order lines to {summary.out_dir} "
        f"in {summary.seconds:.2f}s (profile {profile.name}, seed {config.seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
