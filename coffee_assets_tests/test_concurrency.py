"""Runs take turns on the warehouse whatever launches them, and the schedule asks for a range once.

Every step that uses the warehouse is in its target's pool ("duckdb", "bigquery"), and the
production instance (deploy/dagster.yaml) applies the pools per run. The schedule's guard itself
(coffee_assets/defs/schedules/in_flight.py) is evaluated here directly with
build_schedule_context against an instance holding runs and backfills.

Against the real PostgreSQL, code server, webserver and daemon: test_production.py's first test
(the local target, the schedule ticking in the daemon while its run is queued) and
test_gcp_deployment.py (the gcp target).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemotePartitionSetOrigin,
    RemoteRepositoryOrigin,
)

from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import DAILY_REFRESH, SCHEDULE, partition_range_tags
from coffee_assets.platform.target import BIGQUERY_POOL, DUCKDB_POOL, GCP, LOCAL
from coffee_assets.settings import Settings

# In the local deployment's group (test_production.py): its guard tests are short, and fill the
# deployment's waits.
pytestmark = pytest.mark.xdist_group("deployment")

KYIV = ZoneInfo("Europe/Kyiv")
FLAT_ORDER_DETAILS = dg.AssetKey(["dbt_models", "flat_order_details"])


def test_every_target_puts_its_warehouse_steps_in_a_pool():
    assert (LOCAL.pool, GCP.pool) == (DUCKDB_POOL, BIGQUERY_POOL)


# ------------------------------------------------------------------ the schedule's guard
START = date(2025, 1, 1)
AT = datetime(2025, 1, 4, 4, 30, tzinfo=KYIV)  # days to catch up: 2025-01-01...2025-01-03
DAYS = (START, date(2025, 1, 3))
REPOSITORY = RemoteRepositoryOrigin(
    code_location_origin=RegisteredCodeLocationOrigin("coffee_assets"),
    repository_name="__repository__",
)


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path_factory.mktemp("data"), start_date=START))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:  # SQLite in a temporary folder
        yield instance


def tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[dg.RunRequest] | str:
    """The schedule's run requests at AT, or its skip message."""
    schedule = defs.resolve_schedule_def(SCHEDULE)
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=AT,
        resources={"storage": defs.resources["storage"]},
    ) as context:
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []) or str(data.skip_message)


def requested_range(result: list[dg.RunRequest] | str) -> tuple[date, date]:
    assert not isinstance(result, str), result
    [request] = result
    days = (
        request.tags["dagster/asset_partition_range_start"],
        request.tags["dagster/asset_partition_range_end"],
    )
    return date.fromisoformat(days[0]), date.fromisoformat(days[1])


def add_run(
    instance: dg.DagsterInstance,
    status: dg.DagsterRunStatus,
    tags: dict[str, str],
    job_name: str = DAILY_REFRESH,
    asset_selection: frozenset[dg.AssetKey] | None = None,
) -> str:
    run = dg.DagsterRun(
        job_name=job_name,
        run_id=str(uuid.uuid4()),
        status=status,
        tags=tags,
        asset_selection=asset_selection,
        remote_job_origin=RemoteJobOrigin(repository_origin=REPOSITORY, job_name=job_name),
    )
    instance.add_run(run)
    return run.run_id


def test_the_schedule_requests_the_whole_range_when_nothing_is_on_its_way(defs, instance):
    add_run(instance, dg.DagsterRunStatus.SUCCESS, partition_range_tags(*DAYS))  # ended
    add_run(instance, dg.DagsterRunStatus.FAILURE, partition_range_tags(*DAYS))
    assert requested_range(tick(defs, instance)) == DAYS


@pytest.mark.parametrize(
    "status",
    [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ],
)
def test_the_schedule_skips_a_range_a_queued_or_running_daily_refresh_covers(
    defs, instance, status
):
    run_id = add_run(instance, status, partition_range_tags(START, date(2025, 1, 5)))
    skipped = tick(defs, instance)
    assert isinstance(skipped, str) and run_id in skipped and status.value in skipped


def test_asset_runs_count_only_when_they_build_the_last_daily_asset(defs, instance):
    """An asset backfill's run or a UI materialization of the marts covers its days; a run of
    the raw tables alone does not complete a day."""
    raw_only = frozenset({dg.AssetKey(["coffee_shop", "orders"])})
    add_run(
        instance,
        dg.DagsterRunStatus.STARTED,
        partition_range_tags(*DAYS),
        job_name="__ASSET_JOB",
        asset_selection=raw_only,
    )
    assert requested_range(tick(defs, instance)) == DAYS
    marts = frozenset({dg.AssetKey(["coffee_shop", "orders"]), FLAT_ORDER_DETAILS})
    run_id = add_run(
        instance,
        dg.DagsterRunStatus.QUEUED,
        {"dagster/partition": "2025-01-03"},
        job_name="__ASSET_JOB",
        asset_selection=marts,
    )
    # The last day is on its way: the rest is requested.
    assert requested_range(tick(defs, instance)) == (START, date(2025, 1, 2))
    add_run(
        instance,
        dg.DagsterRunStatus.STARTED,
        partition_range_tags(START, date(2025, 1, 2)),
        job_name="__ASSET_JOB",
        asset_selection=marts,
    )
    skipped = tick(defs, instance)
    assert isinstance(skipped, str) and run_id in skipped


def test_a_requested_asset_backfill_covers_its_days_until_it_ends(defs, instance):
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="assetsbackfill",
        asset_graph=defs.resolve_asset_graph(),
        partition_names=["2025-01-01", "2025-01-02", "2025-01-03"],
        asset_selection=[dg.AssetKey(["coffee_shop", "orders"]), FLAT_ORDER_DETAILS],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    skipped = tick(defs, instance)
    assert isinstance(skipped, str) and "backfill assetsbackfill" in skipped
    instance.update_backfill(backfill.with_status(BulkActionStatus.COMPLETED_FAILED))
    assert requested_range(tick(defs, instance)) == DAYS


def test_a_requested_job_backfill_of_daily_refresh_covers_its_days(defs, instance):
    origin = RemotePartitionSetOrigin(
        repository_origin=REPOSITORY, partition_set_name=f"{DAILY_REFRESH}_partition_set"
    )
    backfill = PartitionBackfill(
        backfill_id="jobbackfill",
        status=BulkActionStatus.REQUESTED,
        from_failure=False,
        tags={},
        backfill_timestamp=time.time(),
        partition_set_origin=origin,
        partition_names=["2025-01-02", "2025-01-03"],
    )
    assert backfill.job_name == DAILY_REFRESH
    instance.add_backfill(backfill)
    assert requested_range(tick(defs, instance)) == (START, START)
