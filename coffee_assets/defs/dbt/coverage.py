"""Which days the cumulative marts hold, and which they are built without (and why).

flat_customer_metrics and the reports are built as of one day from every day the rollups hold.
What they hold is data: the days of agg_store_days (one row per day, store and order type: a
small table). Why a day is not there comes from Dagster: the day is quarantined by a broken daily
rule (defs/raw/quarantine.py), its run failed, or it was never run; a day Dagster shows built but
without a row had no order. A day accepted as it is, and a day held as built before while its
newer files are quarantined, are said too. All of it is shown wherever these marts are (their
metadata, their check's, the reports' header): "as of 2025-04-09, without 2025-04-03
(daily_rules on coffee_shop/orders, quarantined since ...)".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.sql import between
from coffee_assets.defs.raw.quarantine import DayStates, day_states
from coffee_assets.platform.metadata import markdown_table
from coffee_assets.platform.partitions import daily_partitions

FAILED_RUN = "not built: its last run failed"
NOT_RUN = "not built yet"


@dataclass(frozen=True)
class Coverage:
    """What the cumulative marts hold, as of one day."""

    first: date
    as_of: date
    without: list[tuple[date, str]] = field(default_factory=list)  # day, why
    # "2025-04-03 (accepted as it is: ...)", "2025-04-03 as built before its newer files (...)"
    accepted: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.without

    def note(self) -> str:
        """One line: 'as of 2025-04-09, every day since 2025-01-01' or 'as of 2025-04-09,
        without 2025-04-03 (daily_rules on coffee_shop/orders, quarantined since ...)'."""
        head = f"as of {self.as_of}"
        if self.without:
            shown = [f"{day} ({why})" for day, why in self.without[:10]]
            more = len(self.without) - len(shown)
            head += ", without " + "; ".join(shown) + (f"; and {more} more day(s)" if more else "")
        else:
            head += f", every day since {self.first}"
        if self.accepted:
            head += "; with " + "; ".join(self.accepted)
        return head

    def metadata(self) -> dict[str, Any]:
        return {
            "coverage": self.note(),
            "days_without": dg.MetadataValue.int(len(self.without)),
            **(
                {
                    "days_without_table": markdown_table(
                        ["day", "why"], [(str(day), why) for day, why in self.without]
                    )
                }
                if self.without
                else {}
            ),
        }


def held_days(
    query: Callable[[str], list[tuple]], store_days: str, first: date, as_of: date
) -> set[date]:
    """The days of first...as_of the store-day rollup holds (`store_days`: its name in the
    warehouse's SQL)."""
    rows = query(
        f"SELECT DISTINCT order_date FROM {store_days} WHERE {between('order_date', first, as_of)}"
    )
    return {as_date(day) for (day,) in rows}


def coverage(
    instance: dg.DagsterInstance,
    last_daily_asset: dg.AssetKey,
    first: date,
    as_of: date,
    held: set[date],
    *,
    states: DayStates | None = None,
) -> Coverage:
    """The coverage of marts built as of `as_of` from the days first...as_of, of which the
    rollups hold `held`: each day they do not hold and Dagster does not show built (a day
    without orders) is named, with its quarantine when it has one."""
    days = days_between(first, as_of)
    if not days:
        return Coverage(first, as_of)
    absent = [day for day in days if day not in held]
    statuses = (
        instance.get_status_by_partition(
            last_daily_asset, [day.isoformat() for day in absent], daily_partitions(first)
        )
        or {}
        if absent
        else {}
    )
    states = states or day_states(instance)
    without = []
    for day in absent:
        status = statuses.get(day.isoformat())
        if status == dg.AssetPartitionStatus.MATERIALIZED:
            continue  # built, and no order that day
        verdicts = states.quarantined.get(day)
        if verdicts:
            why = "; ".join(v.reason() for v in verdicts)
        elif status == dg.AssetPartitionStatus.FAILED:
            why = FAILED_RUN
        else:
            why = NOT_RUN
        without.append((day, why))
    accepted = [
        verdict.describe()
        for day in sorted(states.accepted)
        if first <= day <= as_of
        for verdict in states.accepted[day]
    ]
    # Held as built before: newer files of the day are quarantined, the marts keep the old.
    accepted += [
        f"{day} as built before its newer files ({'; '.join(v.reason() for v in verdicts)})"
        for day, verdicts in sorted(states.quarantined.items())
        if day in held
    ]
    return Coverage(first, as_of, without, accepted)
