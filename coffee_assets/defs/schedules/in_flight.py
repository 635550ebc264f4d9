"""The days some queued or running work already builds, so the schedule does not ask for them again.

The schedule requests the days not built yet (catch_up.py). While the run it requested is queued
or running, those days are not built yet: with a short cron (every minute, say) each
tick would ask for the same range again, and the queue would rebuild it once per tick. So before
it requests a range, the schedule looks at what is already on its way:

* runs that are queued or running (one runs query) and build the lineage's last daily asset: runs
  of the whole job (daily_refresh) and runs whose asset selection holds that asset (an asset
  backfill's runs, a materialization from the UI), with the days of their partition tags;
* backfills still requested (one backfills query) that target that asset's days: a job backfill
  of daily_refresh (its partition names), an asset backfill (its target partitions). An asset
  backfill launches its runs in waves, so between two waves no run shows its later days.

Dagster has no public API for reading backfills: operations/dagster_internals.py wraps its
internals (coffee_assets_tests/test_concurrency.py reads real backfills through them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import dagster as dg

from coffee_assets.core.dates import days_between
from coffee_assets.operations.dagster_internals import requested_backfill_partitions
from coffee_assets.platform.partitions import RANGE_END_TAG, RANGE_START_TAG

PARTITION_TAG = "dagster/partition"
# A run in one of these states is still going to do its work.
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class InFlight:
    """A queued or running run, or a requested backfill, and the days it builds."""

    what: str  # "run <id> (QUEUED)", "backfill <id>": what a skip reason names
    days: frozenset[date]


def tagged_days(tags: Mapping[str, str]) -> frozenset[date]:
    """The days of a run's partition tags: a range, or one partition; none without them."""
    try:
        if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
            first = date.fromisoformat(tags[RANGE_START_TAG])
            return frozenset(days_between(first, date.fromisoformat(tags[RANGE_END_TAG])))
        if tags.get(PARTITION_TAG):
            return frozenset({date.fromisoformat(tags[PARTITION_TAG])})
    except ValueError:  # not a day: another partitioning, not this lineage's days
        pass
    return frozenset()


def _keys_as_days(keys: Iterable[str]) -> frozenset[date]:
    days = set()
    for key in keys:
        try:
            days.add(date.fromisoformat(key))
        except ValueError:
            continue
    return frozenset(days)


def builds(run: dg.DagsterRun, asset: dg.AssetKey, job_name: str) -> bool:
    """Whether the run materializes `asset`: its asset selection holds it, or, without a
    selection, it is a run of the whole job."""
    if run.asset_selection is not None:
        return asset in run.asset_selection
    return run.job_name == job_name


def in_flight(instance: dg.DagsterInstance, asset: dg.AssetKey, job_name: str) -> list[InFlight]:
    """Every queued or running run and every requested backfill that builds days of `asset`."""
    found = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT)):
        days = tagged_days(run.tags) if builds(run, asset, job_name) else frozenset()
        if days:
            found.append(InFlight(f"run {run.run_id} ({run.status.value})", days))
    for backfill_id, keys in requested_backfill_partitions(instance, asset, job_name).items():
        days = _keys_as_days(keys)
        if days:
            found.append(InFlight(f"backfill {backfill_id}", days))
    return found
