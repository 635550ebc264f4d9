"""The Dagster internals this project relies on (coffee_assets/operations/dagster_internals.py),
each against a real instance: an upgrade of Dagster that changes one of them fails here, by
name."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from coffee_assets.defs.schedules.jobs import RANGE_END_TAG, RANGE_START_TAG
from coffee_assets.operations import dagster_internals as internals
from coffee_assets.platform.checks import Verdict, emit

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2025-01-01")
DAYS = ["2025-01-01", "2025-01-02", "2025-01-03"]


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def upstream(context: dg.AssetExecutionContext) -> None:
    context.log.info(f"days {context.partition_key_range}")


@dg.asset(
    partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream]
)
def failing() -> None:
    raise RuntimeError("boom")


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[failing])
def downstream(context: dg.AssetExecutionContext) -> None: ...


JOB = dg.Definitions(
    assets=[upstream, failing, downstream],
    jobs=[dg.define_asset_job("range", selection=dg.AssetSelection.all())],
).resolve_job_def("range")


@pytest.fixture
def failed_range(monkeypatch):
    """A range run on a persistent instance that fails in its second step."""
    monkeypatch.setenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    with dg.instance_for_test() as instance:
        result = JOB.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: DAYS[0], RANGE_END_TAG: DAYS[-1]},
            raise_on_error=False,
        )
        assert not result.success
        yield instance, instance.get_run_by_id(result.run_id)


def test_planned_and_materialized_partitions_of_a_run(failed_range):
    instance, run = failed_range
    planned = internals.planned_partitions(instance, run.run_id)
    assert planned == {key: set(DAYS) for key in (upstream.key, failing.key, downstream.key)}
    assert internals.materialized_partitions(instance, run.run_id) == {upstream.key: set(DAYS)}
    assert internals.has_step_failures(instance, run.run_id)


def test_with_one_planned_event_per_asset_a_failed_range_looks_done_until_its_days_are_marked(
    failed_range,
):
    instance, run = failed_range
    statuses = instance.get_status_by_partition(failing.key, DAYS, PARTITIONS)
    assert set(statuses.values()) == {None}  # nothing shows the failure
    internals.report_partitions_planned(instance, run, failing.key, DAYS)
    statuses = instance.get_status_by_partition(failing.key, DAYS, PARTITIONS)
    assert set(statuses.values()) == {dg.AssetPartitionStatus.FAILED}


def test_report_run_failed_and_add_run_tags(failed_range):
    instance, _ = failed_range
    run = instance.create_run_for_job(JOB, status=dg.DagsterRunStatus.STARTED)
    internals.add_run_tags(instance, run.run_id, {"coffee/test": "yes"})
    internals.report_run_failed(instance, instance.get_run_by_id(run.run_id), "its process died")
    after = instance.get_run_by_id(run.run_id)
    assert after.status == dg.DagsterRunStatus.FAILURE
    assert after.tags["coffee/test"] == "yes"


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def judged() -> None: ...


@dg.asset_check(asset=judged, partitions_def=PARTITIONS)
def judged_as_usual(context: dg.AssetCheckExecutionContext):
    verdicts = {
        day: Verdict(day != DAYS[1], f"judged {day}", {"rows": dg.MetadataValue.json([day])})
        for day in PARTITIONS.get_partition_keys_in_range(context.partition_key_range)
    }
    yield from emit(context, verdicts)


@dg.asset(deps=[judged], backfill_policy=dg.BackfillPolicy.single_run())
def recorded(context: dg.AssetExecutionContext) -> None:
    found = internals.run_check_evaluations(
        context.instance, context.run.run_id, judged_as_usual.check_key
    )
    context.log.info(f"evaluations of {sorted(found)}")


def test_a_runs_check_evaluations_are_read_by_partition_with_their_metadata():
    """What the store_day_verdicts asset reads: a partitioned check's evaluations in its run."""
    job = dg.Definitions(
        assets=[judged, recorded],
        asset_checks=[judged_as_usual],
        jobs=[dg.define_asset_job("judging", selection=dg.AssetSelection.all())],
    ).resolve_job_def("judging")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START_TAG: DAYS[0], RANGE_END_TAG: DAYS[-1]}
        )
        found = internals.run_check_evaluations(instance, result.run_id, judged_as_usual.check_key)
        assert sorted(found) == DAYS
        assert [found[day].passed for day in DAYS] == [True, False, True]
        assert found[DAYS[1]].metadata["rows"].value == [DAYS[1]]
        other = dg.AssetCheckKey(judged.key, "another_check")
        assert internals.run_check_evaluations(instance, result.run_id, other) == {}
        # Read inside the run by a downstream asset, after the check.
        logged = [e.message for e in instance.all_logs(result.run_id) if e.message]
        assert f"evaluations of {DAYS}" in logged


def test_pool_slots_held_by_a_run_are_found_and_freed():
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        assert storage.supports_global_concurrency_limits
        storage.set_concurrency_slots("duckdb", 1)
        assert storage.claim_concurrency_slot("duckdb", "run-1", "step").is_claimed
        assert internals.runs_holding_pool_slots(instance) == {"run-1"}
        assert internals.pool_slots_held(instance, "run-1") == [("duckdb", "step")]
        assert internals.free_pool_slots(instance, "run-1") == 1
        assert internals.runs_holding_pool_slots(instance) == set()
        assert internals.free_pool_slots(instance, "run-1") == 0


def test_a_pools_limit_is_set_once_and_a_limit_set_by_hand_stays():
    with dg.instance_for_test() as instance:
        assert internals.set_pool_limit_if_new(instance, "bigquery", 1)
        assert not internals.set_pool_limit_if_new(instance, "bigquery", 1)
        instance.event_log_storage.set_concurrency_slots("bigquery", 0)  # an operator holds it
        assert not internals.set_pool_limit_if_new(instance, "bigquery", 1)
        assert instance.event_log_storage.get_concurrency_info("bigquery").slot_count == 0


def test_the_dbt_resource_runs_dbt_in_this_process_through_dagster_dbts_invocation(
    tmp_path, monkeypatch
):
    """The three private parts InProcessDbtCliResource uses: dagster-dbt's cli() starts dbt
    through the class its resource module names (put back afterwards), `_cli_version` is the
    installed dbt-core's, and the adapter hook is never called. dbt runs in this process (no
    child), its structured log read by dagster-dbt as from a process; a dbt that fails gives
    dagster-dbt's error with its exit code and dbt's own message."""
    import json
    from importlib import metadata

    import dagster_dbt.core.resource as resource_module
    import psutil
    from dagster_dbt import DbtCliInvocation, DbtCliResource

    from coffee_assets.defs.dbt.resources import dbt_cli_resource

    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    calls = []
    monkeypatch.setattr(
        DbtCliResource, "_initialize_dbt_core_adapter", lambda _self, args: calls.append(args)
    )
    dbt = dbt_cli_resource("local")
    assert str(dbt._cli_version) == metadata.version("dbt-core")
    vars_ = json.dumps({"duckdb_path": str(tmp_path / "w.duckdb")})
    children = {child.pid for child in psutil.Process().children(recursive=True)}

    listed = dbt.cli(["ls", "--vars", vars_], target_path=tmp_path / "ls")
    assert isinstance(listed, internals.InProcessDbtCliInvocation)
    assert listed.termination_timeout_seconds == 0  # the field dagster-dbt waits on, interrupted
    assert resource_module.DbtCliInvocation is DbtCliInvocation
    events = list(listed.stream_raw_events())
    assert {child.pid for child in psutil.Process().children(recursive=True)} <= children
    assert listed.process.pid == os.getpid() and listed.is_successful()
    info = [event.raw_event["info"] for event in events]
    assert info[0]["name"] == "MainReportVersion"
    printed = [line["msg"] for line in info if line["name"] == "PrintEvent"]
    assert "coffee_dbt.marts.core.fact_order_details" in printed
    assert not any(line["level"] == "debug" for line in info)
    assert calls == [] and listed.adapter is None

    # dbt opens the DuckDB file; once it is done another process can (DuckDB allows one
    # writing process per file: dbt-duckdb would keep it open, dbt_in_process.release_duckdb).
    shown = dbt.cli(["show", "--inline", "select 42 as answer", "--vars", vars_],
                    target_path=tmp_path / "show")  # fmt: skip
    assert shown.is_successful() and (tmp_path / "w.duckdb").exists()
    opener = f"import duckdb; duckdb.connect({str(tmp_path / 'w.duckdb')!r}).close()"
    assert subprocess.run([sys.executable, "-c", opener], check=False).returncode == 0

    broken = dbt.cli(["ls", "--vars", "{not json"], target_path=tmp_path / "broken",
                     raise_on_error=False)  # fmt: skip
    error = broken.get_error()
    assert error is not None and broken.process.returncode == 2
    assert "failed with exit code `2`" in str(error) and "vars" in str(error).lower()


def test_a_dead_pooled_connection_is_replaced_when_it_is_taken(tmp_path):
    """operations/pg_storage.py's check when a pooled connection is taken (SQLAlchemy's public
    pool events), on a real pooled engine: the pool's connection dies under it (as when
    PostgreSQL restarts), and the next request still succeeds, on a new connection. Without the
    check the same request fails: the check is what makes the difference."""
    import sqlalchemy as sa

    from coffee_assets.operations.pg_storage import ping_on_checkout

    def request_after_the_pooled_connection_died(checked: bool) -> None:
        engine = sa.create_engine(
            f"sqlite:///{tmp_path}/checked-{checked}.sqlite", poolclass=sa.pool.QueuePool
        )
        if checked:
            sa.event.listen(engine, "checkout", ping_on_checkout)
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
            pooled = connection.connection.dbapi_connection
        assert pooled is not None
        pooled.close()  # back in the pool, and dead
        with engine.connect() as connection:
            assert connection.execute(sa.text("select 1")).scalar() == 1
        engine.dispose()

    request_after_the_pooled_connection_died(checked=True)
    with pytest.raises(sa.exc.ProgrammingError, match="closed database"):
        request_after_the_pooled_connection_died(checked=False)


def test_the_storage_engine_of_an_object_without_one_says_what_changed():
    from coffee_assets.operations.dagster_internals import storage_engine

    with pytest.raises(TypeError, match="holds no SQLAlchemy engine in _engine"):
        storage_engine(object())
