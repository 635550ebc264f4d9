"""The run books: what every run does around its steps, so that a crash never blocks the
pipeline and a failed range shows as failed. Explicit: the `run_books` resource, which every step
that uses the warehouse names, and the `run_health` sensor (health.py).

- **Range guard.** A run whose partition range holds no day (a reversed `--partition-range`) is
  refused as its resources are set up, before any step.
- **Dead runs.** A run whose process was killed (`kill -9`, the OOM killer, a laptop that went to
  sleep and was rebooted) stays STARTED for ever and keeps the pool slots it held. Every run
  records its worker process (host, pid, start time) in a run tag; `recover_dead_runs` marks a
  run whose worker is gone as failed and frees its slots: the `run_health` sensor every minute
  while the daemon runs and, on the local target (no daemon under run-local.sh), every run
  before it takes the warehouse.
- **The warehouse's lock** (local target only: DuckDB has one writer). A run holds the DuckDB
  file's run lock from its start to its end (operations/locks.py), so runs never interleave;
  the lock dies with the run's process. A run that finds it taken waits, saying for whom.
- **Failed ranges.** With `DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS` (one planned event
  per asset and run instead of one per asset and partition, see docs/running.md), Dagster no
  longer knows which partitions a failed run left undone, and shows them as they were before.
  `mark_failed_partitions` records them one by one, for failed runs only, so the UI shows them
  failed again: when the run's steps end, and from the sensor.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import dagster as dg
import psutil
from pydantic import PrivateAttr

from coffee_assets.operations import dagster_internals as internals
from coffee_assets.operations import locks
from coffee_assets.platform.duckdb_warehouse import kept_open
from coffee_assets.platform.partitions import check_run_range
from coffee_assets.platform.target import LOCAL
from coffee_assets.settings import Settings

WORKER_TAG = "coffee/worker"  # {"host", "pid", "started"} of the process that runs the run
MARKED_TAG = "coffee/failed_partitions_marked"
UNFINISHED = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


@dataclass(frozen=True)
class Worker:
    """The process that executes a run."""

    host: str
    pid: int
    started: float  # the process's start time: a pid reused by another process does not match

    @classmethod
    def current(cls) -> Worker:
        return cls(socket.gethostname(), os.getpid(), psutil.Process().create_time())

    def to_tag(self) -> str:
        return json.dumps({"host": self.host, "pid": self.pid, "started": self.started})

    @classmethod
    def from_tag(cls, value: str) -> Worker | None:
        try:
            data = json.loads(value)
            return cls(str(data["host"]), int(data["pid"]), float(data["started"]))
        except (ValueError, KeyError, TypeError):
            return None

    def is_local(self) -> bool:
        return self.host == socket.gethostname()

    def is_alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            return abs(process.create_time() - self.started) < 1 and process.is_running()
        except psutil.Error:
            return False

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def has_ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is not None and run.status in FINISHED


def record_worker(instance: dg.DagsterInstance, run_id: str) -> None:
    """Tag the run with this process, so that its death can be noticed later."""
    internals.add_run_tags(instance, run_id, {WORKER_TAG: Worker.current().to_tag()})


def _unfinished_runs(instance: dg.DagsterInstance) -> Iterator[dg.DagsterRun]:
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        yield record.dagster_run


def recover_dead_runs(
    instance: dg.DagsterInstance, log: logging.Logger | dg.DagsterLogManager
) -> list[str]:
    """Fail every unfinished run whose worker process on this host has died, free the pool slots
    it held, and mark its undone partitions failed. Returns the ids of the runs recovered.

    Finished runs that still hold pool slots (their process died after Dagster recorded the end)
    get their slots freed too. Runs of other hosts are left to their own host (or to Dagster's
    run monitoring, on a launcher that can check run workers)."""
    recovered = []
    for run in _unfinished_runs(instance):
        worker = Worker.from_tag(run.tags.get(WORKER_TAG, ""))
        if worker is None or not worker.is_local() or worker.is_alive():
            continue
        message = (
            f"The process of this run ({worker.describe()}) died without finishing it (killed, "
            f"out of memory, or the machine stopped); marked failed so that later runs can go "
            f"on."
        )
        internals.report_run_failed(instance, run, message)
        freed = internals.free_pool_slots(instance, run.run_id)
        log.warning(
            f"run {run.run_id} ({run.job_name}): its process ({worker.describe()}) is gone; "
            f"marked failed, {freed} pool slot(s) freed"
        )
        mark_failed_partitions(instance, run.run_id)
        recovered.append(run.run_id)
    holding = sorted(internals.runs_holding_pool_slots(instance))
    if holding:
        ended = instance.get_run_records(
            filters=dg.RunsFilter(run_ids=holding, statuses=list(FINISHED))
        )
        for record in ended:
            freed = internals.free_pool_slots(instance, record.dagster_run.run_id)
            if freed:
                log.warning(
                    f"run {record.dagster_run.run_id} has ended but held {freed} pool slot(s): "
                    f"freed"
                )
    return recovered


def mark_failed_partitions(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetKey, int]:
    """For a run that failed (or is failing): record each partition it planned but did not
    materialize, per asset, so Dagster shows them failed once the run has ended. Idempotent (the
    run is tagged once done). Returns the number of partitions marked per asset."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.tags.get(MARKED_TAG):
        return {}
    planned = internals.planned_partitions(instance, run_id)
    done = internals.materialized_partitions(instance, run_id)
    marked = {}
    for asset_key, partitions in planned.items():
        undone = partitions - done.get(asset_key, set())
        if undone:
            internals.report_partitions_planned(instance, run, asset_key, undone)
            marked[asset_key] = len(undone)
    internals.add_run_tags(instance, run_id, {MARKED_TAG: "true"})
    return marked


def mark_if_failing(
    instance: dg.DagsterInstance, run_id: str, log: logging.Logger | dg.DagsterLogManager
) -> None:
    """At the end of a run's execution: when a step failed, mark its undone partitions."""
    if not internals.has_step_failures(instance, run_id):
        return
    marked = mark_failed_partitions(instance, run_id)
    if marked:
        log.info(
            "partitions this run leaves undone, recorded so they show as failed: "
            + ", ".join(f"{key.to_user_string()} ({n})" for key, n in marked.items())
        )


class RunBooks(dg.ConfigurableResource):
    """The run books as a resource: set up before the run's first step that names it, torn down
    after its last. On the local target it also holds the DuckDB file's run lock (`warehouse`,
    the file's path) for the whole run, and the file open meanwhile (each of the run's
    connections then joins it instead of opening the file again: platform/duckdb_warehouse.py's
    `kept_open`); and it first fails dead runs (no daemon may be running)."""

    warehouse: str | None = None  # local: the DuckDB file whose lock the run holds
    lock_timeout_seconds: int = 3600  # COFFEE_WAREHOUSE_WAIT_SECONDS
    # What the run holds, let go in reverse: the file closed, then its lock released.
    _held: ExitStack = PrivateAttr(default_factory=ExitStack)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        check_run_range(context)
        run, instance = context.dagster_run, context.instance
        if run is None or instance is None:  # used outside a run (tests, notebooks)
            return
        if has_ended(instance, run.run_id):
            # `dagster job execute` builds the resources once more after the run has ended, to
            # hand its result back: the run's books are closed.
            return
        record_worker(instance, run.run_id)
        log = context.log or logging.getLogger(__name__)
        if self.warehouse:
            self._take_warehouse(f"run {run.run_id} ({run.job_name})", log)
            recover_dead_runs(instance, log)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            if context.dagster_run is not None and context.instance is not None:
                log = context.log or logging.getLogger(__name__)
                mark_if_failing(context.instance, context.dagster_run.run_id, log)
        finally:
            self._held.close()

    def _take_warehouse(self, holder: str, log: Any) -> None:
        assert self.warehouse
        resource = f"the warehouse {self.warehouse}"
        lock = locks.acquire(
            locks.lock_path(self.warehouse, locks.RUN_LOCK),
            holder,
            resource=resource,
            timeout=self.lock_timeout_seconds,
            log=log.info,
        )
        self._held.callback(lock.release)
        try:
            self._held.enter_context(kept_open(self.warehouse))
        except BaseException:
            self._held.close()  # a setup that fails is not torn down: let the lock go now
            raise


def run_books(settings: Settings) -> RunBooks:
    """The run books of the settings' target."""
    if settings.target == LOCAL.name:
        return RunBooks(
            warehouse=str(settings.duckdb_path),
            lock_timeout_seconds=settings.warehouse_wait_seconds,
        )
    return RunBooks()
