"""A crash never stops the pipeline: real run processes (`dagster job execute`, as
scripts/run-local.sh runs them) killed with SIGKILL at the raw load and during dbt, two runs at
once, and a run that finds the warehouse taken. The next run goes on without any manual step and
leaves every table as an uninterrupted run does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy.exc

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import SCHEDULE, execute_daily_refresh
from coffee_assets.operations import dagster_internals as internals
from coffee_assets.operations import locks
from coffee_assets.operations.books import RunBooks, run_books
from coffee_assets.operations.health import HEALTH_SENSOR
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.platform.partitions import RANGE_END_TAG, RANGE_START_TAG
from coffee_assets.settings import Settings

from .conftest import LAST, START
from .processes import file_holders, in_dbt_writing, pause

DAY = timedelta(days=1)
KYIV = ZoneInfo("Europe/Kyiv")
FLAT_ORDER_DETAILS = dg.AssetKey(["dbt_models", "flat_order_details"])

pytestmark = pytest.mark.slow

DAGSTER = str(Path(sys.executable).with_name("dagster"))
RANGE_TAGS = (
    '{"dagster/asset_partition_range_start": "%s", "dagster/asset_partition_range_end": "%s"}'
)


class Home:
    """A Dagster instance on disk (the project's dagster.yaml) and a data folder, shared by the
    run processes a test starts, as run-local.sh and `dagster dev` share them."""

    def __init__(self, root: Path):
        self.home = root / "dagster_home"
        self.home.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", self.home)
        self.data = root / "data"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("COFFEE_")}
        self.env = {
            **clean,
            "DAGSTER_HOME": str(self.home),
            "COFFEE_DATA_DIR": str(self.data),
            "COFFEE_START_DATE": START.isoformat(),
            "COFFEE_SEED": "11",  # as the session's pipeline fixture
        }
        # The instance's SQLite schema exists before the runs start, as in a project's instance:
        # two processes creating it at once race (`table secondary_indexes already exists`).
        self.instance().dispose()

    def start_run(self, first=START, last=LAST, log: str = "run") -> subprocess.Popen:
        out = open(self.home.parent / f"{log}.log", "wb")
        return subprocess.Popen(
            [DAGSTER, "job", "execute", "-m", "coffee_assets.definitions", "-j", "daily_refresh",
             "--tags", RANGE_TAGS % (first, last)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def settings(self) -> Settings:
        return Settings(data_dir=self.data, start_date=START, seed=11)


def wait_for(condition, what: str, timeout: float = 240.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"no {what} within {timeout:.0f} s")


def started_step(instance: dg.DagsterInstance, step: str) -> dg.DagsterRun | None:
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START):
            if entry.step_key == step:
                return run
    return None


def table_snapshot(settings: Settings) -> dict[str, list]:
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        tables = con.sql(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('coffee_shop', 'dbt_models') and table_type = 'BASE TABLE'"
        ).fetchall()
        return {t: sorted(con.sql(f"select * from {t}").fetchall(), key=repr) for (t,) in tables}


def kill_while_holding_a_slot(
    process: subprocess.Popen, instance: dg.DagsterInstance, run_id: str
) -> None:
    """SIGKILL the run's process at a moment it holds a duckdb pool slot. It is stopped
    (SIGSTOP, every thread seen stopped) before the look, so a step cannot end and free its slot
    between the look and the kill; if it holds none at that moment, it goes on and the next slot
    is awaited."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        wait_for(lambda: internals.pool_slots_held(instance, run_id), "a held slot", every=0.01)
        pause(process.pid)
        if held_while_paused(instance, run_id):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        os.kill(process.pid, signal.SIGCONT)
    raise TimeoutError("the run never held a slot at the moment it was stopped")


def held_while_paused(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the paused run holds a pool slot. A process stopped in the middle of a commit
    holds SQLite's write lock: the look then fails ("database is locked"), and counts as no."""
    try:
        return bool(internals.pool_slots_held(instance, run_id))
    except sqlalchemy.exc.OperationalError:
        return False


def finish(process: subprocess.Popen, timeout: float = 600) -> int:
    return process.wait(timeout=timeout)


def test_a_run_killed_in_its_raw_load_is_failed_by_the_daemon_and_the_next_run_succeeds(
    tmp_path, pipeline
):
    home = Home(tmp_path)
    first = home.start_run(log="killed")
    instance = home.instance()
    run = wait_for(lambda: started_step(instance, "coffee_shop__order_details"), "raw load")
    # Kill it while it holds a duckdb pool slot (a step that opens the warehouse is running).
    kill_while_holding_a_slot(first, instance, run.run_id)
    stuck = instance.get_run_by_id(run.run_id)
    assert stuck.status == dg.DagsterRunStatus.STARTED  # what the killed process left behind
    assert internals.pool_slots_held(instance, run.run_id)  # ... and the duckdb slot it held

    # The daemon's run_health sensor (what `dagster dev` ticks every minute).
    sensor = build_definitions(home.settings()).resolve_sensor_def(HEALTH_SENSOR)
    with dg.build_sensor_context(instance=instance) as context:
        result = sensor.evaluate_tick(context)
    assert "1 dead run(s) recovered" in result.skip_message
    failed = instance.get_run_by_id(run.run_id)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    assert internals.pool_slots_held(instance, run.run_id) == []
    [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert f"pid {first.pid}" in failure.dagster_event.message

    assert finish(home.start_run(log="next")) == 0
    assert table_snapshot(home.settings()) == pipeline.snapshot()


def test_a_run_killed_during_dbt_leaves_nothing_writing_and_the_next_run_succeeds(
    tmp_path, pipeline
):
    """dbt runs on a thread of the run's process (operations/dbt_in_process.py): killed in the
    middle of dbt's build (the process stopped, then seen inside the dbt step with the warehouse
    open), the run leaves no process behind that holds the warehouse."""
    home = Home(tmp_path)
    first = home.start_run(log="killed")
    instance = home.instance()
    run = wait_for(lambda: started_step(instance, "coffee_dbt_models"), "dbt step")
    deadline = time.monotonic() + 240
    while True:
        assert time.monotonic() < deadline, "the run was never seen in dbt with the warehouse open"
        pause(first.pid)
        if in_dbt_writing(first.pid, instance, run.run_id, home.data / "warehouse.duckdb"):
            break
        os.kill(first.pid, signal.SIGCONT)
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert file_holders(home.data / "warehouse.duckdb") == []
    [killed] = instance.get_runs()
    assert killed.status == dg.DagsterRunStatus.STARTED

    # No daemon: the next run, started by hand, finds the dead one and goes on.
    assert finish(home.start_run(log="next")) == 0
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert table_snapshot(home.settings()) == pipeline.snapshot()


def test_two_runs_at_once_take_turns_and_both_succeed(tmp_path, pipeline):
    """A backfill and a shorter run over the same days at the same time: the second waits for
    the warehouse (saying for whom), then runs; the as-of mart ends as of the newest day, in
    whichever order they ran."""
    home = Home(tmp_path)
    runs = [home.start_run(log="wide"), home.start_run(START, LAST - DAY, log="narrow")]
    assert [finish(run) for run in runs] == [0, 0]
    logs = "".join((tmp_path / f"{name}.log").read_text() for name in ("wide", "narrow"))
    assert "waiting for the warehouse" in logs and "daily_refresh" in logs
    assert table_snapshot(home.settings()) == pipeline.snapshot()


def test_a_run_that_finds_the_warehouse_taken_says_by_whom_and_gives_up(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", start_date=START, warehouse_wait_seconds=2)
    held = locks.acquire(
        locks.lock_path(settings.duckdb_path, locks.RUN_LOCK),
        "run 0000 (daily_refresh)",
        resource="the warehouse",
        timeout=5,
        log=print,
    )
    try:
        result = execute_daily_refresh(
            build_definitions(settings),
            START,
            START,
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    finally:
        held.release()
    assert not result.success
    [failure] = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE
    ]
    message = failure.engine_event_data.error.message
    assert "is still in use by run 0000 (daily_refresh), pid" in message
    assert "after 2 s of waiting" in message


def test_a_run_keeps_the_warehouse_open_while_it_holds_its_lock_and_closes_it_at_its_end(
    tmp_path,
):
    """While a run holds the warehouse's run lock, its process keeps the DuckDB file open, and
    its connections join it instead of opening the file each time (kept_open,
    platform/duckdb_warehouse.py); at the run's end the file is closed, and another process
    opens it at once."""
    settings = Settings(data_dir=tmp_path / "data", start_date=START)
    path = settings.duckdb_path
    seen: dict[str, object] = {}

    @dg.asset
    def looks(warehouse: DuckDBWarehouse, run_books: RunBooks) -> None:  # noqa: ARG001 (held)
        seen["holders"] = file_holders(path)
        warehouse.query("create table t as select 42 as answer")
        seen["after_a_connection"] = file_holders(path)

    result = dg.materialize(
        [looks],
        resources={"warehouse": DuckDBWarehouse(path=str(path)), "run_books": run_books(settings)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert seen == {"holders": [os.getpid()], "after_a_connection": [os.getpid()]}
    assert file_holders(path) == []
    read = "import duckdb, sys; print(duckdb.connect(sys.argv[1]).sql('from t').fetchall()[0][0])"
    opened = subprocess.run(
        [sys.executable, "-c", read, str(path)], capture_output=True, text=True, timeout=120
    )
    assert (opened.returncode, opened.stdout.strip()) == (0, "42"), opened.stderr


def test_a_day_whose_run_was_killed_is_built_on_the_next_tick_after_a_later_day_succeeded(
    tmp_path,
):
    """A day's run killed mid-run (its process gone, as when a code server dies), the next day
    run and succeeded meanwhile: the next schedule tick asks for the killed day, not only for
    the days after the newest built one, and its run builds it."""
    home = Home(tmp_path)
    assert finish(home.start_run(START, START, log="first")) == 0
    instance = home.instance()
    [first] = instance.get_runs()
    killed_day, later = START + DAY, START + 2 * DAY
    doomed = home.start_run(killed_day, killed_day, log="killed")
    run = wait_for(
        lambda: next(
            (
                r
                for r in instance.get_runs()
                if r.run_id != first.run_id
                and any(
                    e.step_key == "coffee_shop__orders"
                    for e in instance.all_logs(r.run_id, of_type=dg.DagsterEventType.STEP_START)
                )
            ),
            None,
        ),
        "the raw load of the doomed run",
    )
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    # The next day's run finds the dead one (its run books), fails it, and succeeds.
    assert finish(home.start_run(later, later, log="later")) == 0
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE

    defs = build_definitions(home.settings())
    next_day = later + DAY
    morning = datetime(next_day.year, next_day.month, next_day.day, 4, 30, tzinfo=KYIV)
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=morning,
        resources={"storage": defs.resources["storage"]},
    ) as context:
        [request] = defs.resolve_schedule_def(SCHEDULE).evaluate_tick(context).run_requests
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        str(killed_day), str(killed_day)
    )  # fmt: skip
    assert finish(home.start_run(killed_day, killed_day, log="retried")) == 0
    statuses = instance.get_status_by_partition(
        FLAT_ORDER_DETAILS,
        [str(START), str(killed_day), str(later)],
        defs.resolve_job_def("daily_refresh").partitions_def,
    )
    assert set(statuses.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
