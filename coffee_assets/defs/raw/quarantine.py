"""Quarantined days: days whose files broke a blocking daily rule, and days accepted as they are.

`daily_rules` on coffee_shop/orders and coffee_shop/order_details fails a day with ERROR: that
day's run stops before dbt, and the day stays out of the marts. From then on the day is
*quarantined*, one incident:

- the schedule leaves it alone and builds the days around it (defs/schedules);
- what is cumulative (flat_customer_metrics, the reports) is built without it and says so;
- the alert sensor announces it once, and once more when it is lifted (defs/alerts).

It is lifted when a later evaluation of the same day passes (the files repaired, the day run
again) or accepts it: a run tagged `coffee/accept` with a reason records the day's broken rules
as WARN (not blocking), and the day is built as it is; the marts then name it as accepted.

The quarantine is read from Dagster's own record of the check's evaluations per day (nothing
else to keep in step): a day is quarantined while its newest evaluation failed with ERROR.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.operations import dagster_internals as internals

DAILY_RULES = "daily_rules"
# A run tag accepting the run's days as they are: `coffee/accept: the till's data is lost`.
ACCEPT_TAG = "coffee/accept"
ACCEPTED = "accepted"  # the evaluation metadata that carries the reason
# Failed evaluations read per check (newest first) when looking for quarantined days: far more
# than a chain has bad days open at once.
FAILURES_READ = 1000


def day_rule_checks() -> list[dg.AssetCheckKey]:
    """The checks whose failure quarantines a day."""
    return [dg.AssetCheckKey(raw_asset_key(t), DAILY_RULES) for t in (c.ORDERS, c.ORDER_DETAILS)]


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DayVerdict:
    """A day's standing on one check: quarantined (failed, ERROR) or accepted (failed, WARN,
    with a reason)."""

    day: date
    check: str  # "daily_rules on coffee_shop/orders"
    since: float  # the first failed evaluation since the day last passed
    run_id: str  # the newest failed evaluation's run
    summary: str  # what the newest failed evaluation said
    accepted: str | None = None  # the reason, when accepted

    def days_open(self, now: float) -> int:
        return max(0, int((now - self.since) // 86400))

    def reason(self) -> str:
        """'daily_rules on coffee_shop/orders, quarantined since 2025-04-04 04:31 UTC', or
        'accepted as it is: the till's data is lost; daily_rules on coffee_shop/orders'."""
        if self.accepted is not None:
            return f"accepted as it is: {self.accepted}; {self.check}"
        return f"{self.check}, quarantined since {_when(self.since)}"

    def describe(self) -> str:
        return f"{self.day} ({self.reason()})"


@dataclass(frozen=True)
class DayStates:
    """Every quarantined and accepted day, by day (a day can break rules of both tables)."""

    quarantined: dict[date, list[DayVerdict]]
    accepted: dict[date, list[DayVerdict]]

    def quarantined_days(self) -> list[date]:
        return sorted(self.quarantined)

    def quarantined_lines(self, now: float | None = None) -> list[str]:
        """One line per quarantined day: its checks, since when, how long open."""
        now = time_now() if now is None else now
        out = []
        for day in sorted(self.quarantined):
            verdicts = self.quarantined[day]
            checks = ", ".join(v.check for v in verdicts)
            since = min(v.since for v in verdicts)
            days = max(v.days_open(now) for v in verdicts)
            out.append(f"{day} ({checks}; quarantined since {_when(since)}, {days} day(s) open)")
        return out


def time_now() -> float:
    return datetime.now(tz=UTC).timestamp()


def day_states(instance: dg.DagsterInstance, days: Iterable[date] | None = None) -> DayStates:
    """The quarantined and accepted days (among `days`, when given), from the daily rules'
    evaluations: the failed ones read newest first, then, for each day they name, its newest
    evaluation and, when that failed, its newest pass (to date the quarantine)."""
    wanted = None if days is None else {d.isoformat() for d in days}
    quarantined: dict[date, list[DayVerdict]] = {}
    accepted: dict[date, list[DayVerdict]] = {}
    for key in day_rule_checks():
        failures = internals.failed_check_executions(instance, key, FAILURES_READ)
        partitions = {f.partition for f in failures if f.partition is not None}
        if wanted is not None:
            partitions &= wanted
        for partition in sorted(partitions):
            latest = internals.latest_check_executions(instance, key, partition)
            if not latest or latest[0].passed:
                continue
            newest = latest[0]
            passed = internals.latest_check_executions(instance, key, partition, passed_only=True)
            after = passed[0].id if passed else 0
            streak = [f for f in failures if f.partition == partition and f.id > after]
            evaluation = newest.evaluation
            reason = evaluation.metadata.get(ACCEPTED)
            verdict = DayVerdict(
                day=date.fromisoformat(partition),
                check=f"{DAILY_RULES} on {key.asset_key.to_user_string()}",
                since=min((f.timestamp for f in streak), default=newest.timestamp),
                run_id=newest.run_id,
                summary=evaluation.description or f"{DAILY_RULES} failed",
                accepted=str(getattr(reason, "value", reason)) if reason is not None else None,
            )
            if verdict.accepted is not None:
                accepted.setdefault(verdict.day, []).append(verdict)
            elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
                quarantined.setdefault(verdict.day, []).append(verdict)
    return DayStates(quarantined, accepted)
