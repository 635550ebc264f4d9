"""Which days the cumulative marts hold, and which they are built without (and why).

flat_customer_metrics and the reports are built as of one day from every day the rollups hold.
A day the lineage has not built (quarantined by a broken daily rule, its run failed, not run
yet) is not in them; a day accepted as it is, is. Both are said wherever these marts are shown
(their metadata, their check's, the reports' header): "as of 2025-04-09, without 2025-04-03
(daily_rules on coffee_shop/orders, quarantined since ...)".

The days come from Dagster's partition statuses of flat_order_details (the lineage's last daily
asset: a day is in the marts once it is materialized), the reasons from the daily rules'
evaluations (defs/raw/quarantine.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core.dates import days_between
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
    accepted: list[str] = field(default_factory=list)  # "2025-04-03 (accepted as it is: ...)"

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


def coverage(
    instance: dg.DagsterInstance,
    last_daily_asset: dg.AssetKey,
    first: date,
    as_of: date,
    *,
    built_now: Iterable[date] = (),
    states: DayStates | None = None,
) -> Coverage:
    """The coverage of marts built as of `as_of` from the days first...as_of: each day not
    materialized (but for `built_now`, the days the current run has just built) is named, with
    its quarantine when it has one."""
    days = days_between(first, as_of)
    if not days:
        return Coverage(first, as_of)
    keys = [day.isoformat() for day in days]
    statuses = instance.get_status_by_partition(last_daily_asset, keys, daily_partitions(first))
    built = set(built_now)
    lacking = [
        (day, (statuses or {}).get(day.isoformat()))
        for day in days
        if day not in built
        and (statuses or {}).get(day.isoformat()) != dg.AssetPartitionStatus.MATERIALIZED
    ]
    states = states or day_states(instance)
    without = []
    for day, status in lacking:
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
    return Coverage(first, as_of, without, accepted)
