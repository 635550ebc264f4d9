"""What the morning schedule asks for: every day of the history that is not built yet, but for
what is already on its way, what is quarantined and what keeps failing.

A day is built once the lineage's last daily asset (flat_order_details) is materialized for it.
Each tick looks at the whole history, not only forward from the newest built day, so a day
left behind (its run killed, PostgreSQL gone for a minute) is built again on the next tick, even
after later days succeeded. Left out:

- days a queued or running run or a requested backfill builds (in_flight.py), read first: a run
  that ends between the two reads has its days materialized by the second;
- quarantined days (a daily rule broken: defs/raw/quarantine.py), until they are repaired or
  accepted: running them again would fail the same way and block the days around them;
- days whose runs failed MAX_ATTEMPTS times (a cause that does not pass by itself): a person
  looks, then runs them by hand.

The rest goes as one run per stretch of consecutive days (the range tags of a single-run
backfill), so a quarantined day in the middle of a catch-up never blocks the days around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import dagster as dg

from coffee_assets.defs.raw.quarantine import DayStates, day_states
from coffee_assets.defs.schedules.in_flight import InFlight, builds, in_flight, tagged_days

# A day whose runs failed this many times is not requested again by the schedule.
MAX_ATTEMPTS = 3
# Failed runs read per tick to count the attempts (newest first).
FAILED_RUNS_READ = 500
# Runs requested per tick at most (one per stretch of consecutive days); the rest next tick.
MAX_RUNS_PER_TICK = 10


@dataclass(frozen=True)
class CatchUp:
    """What a tick asks for, and what it leaves alone, and why."""

    ranges: list[tuple[date, date]]
    quarantine: DayStates
    given_up: dict[date, int] = field(default_factory=dict)  # day -> failed runs
    on_their_way: list[InFlight] = field(default_factory=list)
    waiting: list[date] = field(default_factory=list)  # in flight, not requested again

    def notes(self) -> list[str]:
        """What the tick leaves alone, one line each (the tick's log and skip reason)."""
        lines = [
            f"quarantined, left until repaired or accepted (docs/running.md, 'When a day is "
            f"blocked'): {line}"
            for line in self.quarantine.quarantined_lines()
        ]
        if self.given_up:
            days = ", ".join(f"{day} ({n} failed runs)" for day, n in sorted(self.given_up.items()))
            lines.append(
                f"failed {MAX_ATTEMPTS} times, left for a person to look at (then run it by "
                f"hand): {days}"
            )
        if self.waiting:
            names = sorted({i.what for i in self.on_their_way if i.days & set(self.waiting)})
            lines.append(
                f"{len(self.waiting)} day(s) already on their way: {', '.join(names)} (queued "
                "or running, or a requested backfill); nothing is requested twice"
            )
        return lines


def stretches(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, (first, last) each."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def failed_attempts(
    instance: dg.DagsterInstance, asset: dg.AssetKey, job_name: str, days: set[date]
) -> Counter[date]:
    """How many failed runs built each of `days` (the newest failed runs, read once)."""
    counts: Counter[date] = Counter()
    failed = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=FAILED_RUNS_READ
    )
    for run in failed:
        if builds(run, asset, job_name):
            counts.update(tagged_days(run.tags) & days)
    return counts


def plan_catch_up(
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    complete_asset: dg.AssetKey,
    job_name: str,
    now: datetime,
    last_day: date | None = None,
) -> CatchUp:
    """The stretches of days to request at `now` (up to `last_day` when given: an import's
    last day), and what is left out."""
    keys = partitions_def.get_partition_keys(current_time=now)
    if last_day is not None:
        keys = [key for key in keys if date.fromisoformat(key) <= last_day]
    if not keys:
        return CatchUp([], DayStates({}, {}))
    # What is on its way first, then what is built: a run ending between the two reads has its
    # days materialized by the second.
    on_their_way = in_flight(instance, complete_asset, job_name)
    statuses = instance.get_status_by_partition(complete_asset, keys, partitions_def) or {}
    todo = {
        date.fromisoformat(key)
        for key in keys
        if statuses.get(key) != dg.AssetPartitionStatus.MATERIALIZED
    }
    flying = set().union(*(item.days for item in on_their_way)) if on_their_way else set()
    waiting = sorted(todo & flying)
    todo -= flying
    quarantine = day_states(instance, todo) if todo else DayStates({}, {})
    todo -= set(quarantine.quarantined)
    attempts = failed_attempts(instance, complete_asset, job_name, todo) if todo else Counter()
    given_up = {day: n for day, n in attempts.items() if n >= MAX_ATTEMPTS}
    todo -= set(given_up)
    return CatchUp(
        stretches(sorted(todo))[:MAX_RUNS_PER_TICK], quarantine, given_up, on_their_way, waiting
    )
