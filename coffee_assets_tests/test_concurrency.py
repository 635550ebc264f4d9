"""Runs take turns on the warehouse whatever launches them, and the schedule asks for a range once.

Every step that uses the warehouse is in its target's pool ("duckdb", "bigquery"), and the
production instance (deploy/dagster.yaml) applies the pools per run. Against the real PostgreSQL,
code server, webserver and daemon (test_production.py's deployment): an asset backfill launched
through GraphQL the way the UI does (`launchPartitionBackfill` with an asset selection: its runs
are __ASSET_JOB runs, without the coffee/job tag) beside a daily_refresh. No warehouse step of one
run overlaps one of another run, and whole runs take turns, on the local target and on the gcp
target (emulators). The schedule, ticking every minute in the daemon while its run is queued,
requests the range once and then skips, naming the run.

The schedule's guard itself (coffee_assets/defs/schedules/in_flight.py) is evaluated directly
with build_schedule_context against an instance holding runs and backfills.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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

from .deployments import GCP_GROUP, LAST, Deployment, deployed
from .test_dagster_dev import LAUNCH_BACKFILL, graphql, wait_for_run

# One worker runs this module and test_production.py (the local deployment; the gcp one is shared
# through conftest.py, in a group of its own).
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


# ------------------------------------------------------------ real runs, real processes
RUNS = """
query($ids: [String!]) {
  runsOrError(filter: {runIds: $ids}) { ... on Runs { results { runId status } } }
}"""
SCHEDULE_TICKS = """
query($name: String!) {
  scheduleOrError(scheduleSelector: {repositoryLocationName: "coffee_assets",
                                     repositoryName: "__repository__", scheduleName: $name}) {
    ... on Schedule { scheduleState { ticks(limit: 20) { timestamp status skipReason runIds } } }
  }
}"""
# What the UI sends when a user selects assets and backfills a day: the raw tables of the day,
# the products (not partitioned: a run of its own) and the marts above them (a later run, once
# their parents are done): several __ASSET_JOB runs.
BACKFILL_SELECTION = [
    ["coffee_shop", "products"],
    ["coffee_shop", "orders"],
    ["coffee_shop", "order_details"],
    ["dbt_models", "fact_order_details"],
    ["dbt_models", "flat_order_details"],
]
ENDED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def set_pool_limit(deployment: Deployment, pool: str, limit: int) -> None:
    """What `dagster instance concurrency set POOL LIMIT` does (docs/deployment.md: set once on
    a new instance)."""
    with deployment.instance() as instance:
        instance.event_log_storage.set_concurrency_slots(pool, limit)


def launch_asset_backfill(deployment: Deployment, day: date) -> str:
    launched = graphql(
        deployment.web_port,
        LAUNCH_BACKFILL,
        {
            "params": {
                "partitionNames": [str(day)],
                "assetSelection": [{"path": path} for path in BACKFILL_SELECTION],
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for_backfill(deployment: Deployment, backfill_id: str, timeout: float) -> list[str]:
    """The backfill's runs once it has ended and they have."""
    deadline = time.monotonic() + timeout
    with deployment.instance() as instance:
        while True:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            if backfill.status != BulkActionStatus.REQUESTED and all(
                run.status in ENDED for run in runs
            ):
                assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, (
                    backfill.status,
                    [(r.run_id, r.status) for r in runs],
                    deployment.log("code-server")[-3000:],
                )
                return [run.run_id for run in runs]
            assert time.monotonic() < deadline, (backfill.status, deployment.log("daemon")[-3000:])
            time.sleep(3)


@dataclass(frozen=True)
class Span:
    run_id: str
    step: str
    start: float
    end: float


def warehouse_spans(instance: dg.DagsterInstance, run_id: str, pool: str) -> list[Span]:
    """When each of the run's steps in `pool` ran (STEP_START to its success or failure)."""
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.execution_plan_snapshot_id
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    pooled = {step.key for step in plan.steps if step.pool == pool}
    started: dict[str, float] = {}
    spans = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key not in pooled:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            spans.append(Span(run_id, event.step_key, started[event.step_key], record.timestamp))
    return spans


def assert_runs_took_turns(deployment: Deployment, run_ids: list[str], pool: str) -> None:
    """No warehouse step of one run overlaps one of another run; and, the pool being per run,
    each run's warehouse steps all lie outside every other run's first-to-last such step."""
    with deployment.instance() as instance:
        spans = {run_id: warehouse_spans(instance, run_id, pool) for run_id in run_ids}
    assert all(spans.values()), {run_id: len(s) for run_id, s in spans.items()}
    every = sorted((s for run_spans in spans.values() for s in run_spans), key=lambda s: s.start)
    for a, b in zip(every, every[1:], strict=False):
        assert a.run_id == b.run_id or b.start >= a.end, f"steps overlapped: {a} and {b}"
    windows = sorted(
        (min(s.start for s in run_spans), max(s.end for s in run_spans), run_id)
        for run_id, run_spans in spans.items()
    )
    for (_, end, run_a), (begin, _, run_b) in zip(windows, windows[1:], strict=False):
        assert begin >= end, f"runs {run_a} and {run_b} interleaved on the warehouse"


def run_times(deployment: Deployment, run_id: str) -> tuple[float, float]:
    """When the run was created (queued) and when it ended."""
    with deployment.instance() as instance:
        [record] = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]))
    assert record.end_time is not None
    return record.create_timestamp.timestamp(), record.end_time


def schedule_ticks(deployment: Deployment) -> list[dict]:
    state = graphql(deployment.web_port, SCHEDULE_TICKS, {"name": SCHEDULE})["scheduleOrError"]
    return sorted(state["scheduleState"]["ticks"], key=lambda t: t["timestamp"])


@pytest.fixture(scope="module")
def local_deployment() -> Iterator[Deployment]:
    """The local target, two days of history, the schedule waiting for New Year (runs here are
    the test's until it says otherwise)."""
    with deployed(
        {
            "COFFEE_START_DATE": (LAST - timedelta(days=1)).isoformat(),
            "COFFEE_ORDERS_PER_DAY": "60",
            "COFFEE_SCHEDULE_CRON": "0 0 1 1 *",
        }
    ) as deployment:
        yield deployment


@pytest.mark.slow
def test_on_the_local_target_the_schedule_asks_once_and_an_asset_backfill_waits_its_turn(
    local_deployment,
):
    """The schedule ticks every minute; the duckdb pool is held at 0 so that its first run stays
    queued: the next tick skips, naming it. An asset backfill of a day is launched beside it;
    once the pool is back at 1, the runs go one at a time and their warehouse steps never
    overlap."""
    deployment = local_deployment
    set_pool_limit(deployment, DUCKDB_POOL, 0)
    # The schedule every minute: a new code server, and a daemon that loads it.
    deployment.env["COFFEE_SCHEDULE_CRON"] = "* * * * *"
    deployment.restart("code-server")
    deployment.restart("daemon")

    client = deployment.client
    with deployment.instance() as instance:
        deadline = time.monotonic() + 150
        while not (
            runs := instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE})
            )
        ):
            assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
            time.sleep(2)
    [scheduled] = runs
    assert scheduled.job_name == DAILY_REFRESH
    first = LAST - timedelta(days=1)
    assert dict(partition_range_tags(first, LAST)).items() <= scheduled.tags.items()
    while (status := client.get_run_status(scheduled.run_id)) == dg.DagsterRunStatus.NOT_STARTED:
        time.sleep(1)  # created, about to be submitted to the queue
    assert status == dg.DagsterRunStatus.QUEUED
    backfill_id = launch_asset_backfill(deployment, LAST)

    # The next tick, while the scheduled run waits in the queue, skips it.
    deadline = time.monotonic() + 150
    while not any(t["status"] == "SKIPPED" for t in schedule_ticks(deployment)):
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(2)
    ticks = schedule_ticks(deployment)
    assert [t["status"] for t in ticks][:2] == ["SUCCESS", "SKIPPED"], ticks
    assert scheduled.run_id in ticks[1]["skipReason"], ticks[1]
    assert client.get_run_status(scheduled.run_id) == dg.DagsterRunStatus.QUEUED

    set_pool_limit(deployment, DUCKDB_POOL, 1)
    assert wait_for_run(client, scheduled.run_id) == dg.DagsterRunStatus.SUCCESS, deployment.log(
        "code-server"
    )[-3000:]
    backfill_runs = wait_for_backfill(deployment, backfill_id, timeout=420)
    assert len(backfill_runs) >= 2, backfill_runs  # as in the issue: several __ASSET_JOB runs
    with deployment.instance() as instance:
        assert instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE})
        ) == [
            instance.get_run_by_id(scheduled.run_id)
        ]  # one run requested, whatever the ticks since
    # The backfill's first runs were queued while the scheduled run was still on its way.
    assert (
        min(run_times(deployment, r)[0] for r in backfill_runs)
        < run_times(deployment, scheduled.run_id)[1]
    )
    assert_runs_took_turns(deployment, [scheduled.run_id, *backfill_runs], DUCKDB_POOL)


@pytest.mark.slow
@pytest.mark.xdist_group(GCP_GROUP)
def test_on_the_gcp_target_an_asset_backfill_waits_for_the_running_daily_refresh(gcp_deployment):
    """On BigQuery (the emulator) too: the asset backfill launched while a daily_refresh runs
    is queued until it has ended, and no warehouse step of one run overlaps another's."""
    deployment: Deployment = gcp_deployment
    set_pool_limit(deployment, BIGQUERY_POOL, 1)  # as on a new instance (docs/deployment.md)
    client = deployment.client
    refresh = client.submit_job_execution(DAILY_REFRESH, tags={"dagster/partition": str(LAST)})
    deadline = time.monotonic() + 180
    while client.get_run_status(refresh) in (
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
    ):
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(1)
    backfill_id = launch_asset_backfill(deployment, LAST)
    assert wait_for_run(client, refresh, timeout=600) == dg.DagsterRunStatus.SUCCESS, (
        deployment.log("code-server")[-3000:]
    )
    backfill_runs = wait_for_backfill(deployment, backfill_id, timeout=600)
    assert len(backfill_runs) >= 2, backfill_runs
    assert (
        min(run_times(deployment, r)[0] for r in backfill_runs) < run_times(deployment, refresh)[1]
    )
    assert_runs_took_turns(deployment, [refresh, *backfill_runs], BIGQUERY_POOL)
