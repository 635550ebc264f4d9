"""Every Dagster API this project uses that is not part of Dagster's public API, in one place.

Dagster has no public way yet to do what these do: read a run's planned materializations, mark
a run as failed or partitions as failed from outside the run, free a run's pool slots, tag a
running run, run dbt without also loading it into the run's process, keep dagster-dbt's column
lineage from one run to the next, read what the backfills still requested will build, reach the
engine of a dagster-postgres storage. Each is a thin
wrapper, and a test exercises every one against a real instance
(coffee_assets_tests/test_dagster_internals.py; test_concurrency.py for the backfills;
test_production.py for the storages' engine, which the webserver's storages check;
test_pipeline.py for the column lineage kept), so a
Dagster upgrade that changes them fails there, loudly, rather than somewhere
in a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import dagster as dg
import sqlalchemy
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

from coffee_assets.operations.dbt_in_process import DbtInProcess

PLANNED = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
MATERIALIZED = dg.DagsterEventType.ASSET_MATERIALIZATION
STEP_FAILURE = dg.DagsterEventType.STEP_FAILURE
CHECK_EVALUATED = dg.DagsterEventType.ASSET_CHECK_EVALUATION


def planned_partitions(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetKey, set[str]]:
    """The partitions each partitioned asset of a run was planned to materialize, whether Dagster
    recorded them one event per partition or one event per asset with a partition subset."""
    planned: dict[dg.AssetKey, set[str]] = {}
    for entry in instance.all_logs(run_id, of_type=PLANNED):
        data = entry.get_dagster_event().event_specific_data
        assert isinstance(data, AssetMaterializationPlannedData)
        keys = planned.setdefault(data.asset_key, set())
        if data.partitions_subset is not None:
            keys.update(data.partitions_subset.get_partition_keys())
        elif data.partition is not None:
            keys.add(data.partition)
    return {key: partitions for key, partitions in planned.items() if partitions}


def materialized_partitions(
    instance: dg.DagsterInstance, run_id: str
) -> dict[dg.AssetKey, set[str]]:
    """The partitions each asset materialized in a run."""
    done: dict[dg.AssetKey, set[str]] = {}
    for entry in instance.all_logs(run_id, of_type=MATERIALIZED):
        materialization = entry.get_dagster_event().step_materialization_data.materialization
        if materialization.partition is not None:
            done.setdefault(materialization.asset_key, set()).add(materialization.partition)
    return done


def run_check_evaluations(
    instance: dg.DagsterInstance, run_id: str, key: dg.AssetCheckKey
) -> dict[str | None, dg.AssetCheckEvaluation]:
    """A check's evaluations in one run, by partition (None: an unpartitioned evaluation); the
    last one of a partition evaluated twice."""
    found: dict[str | None, dg.AssetCheckEvaluation] = {}
    for entry in instance.all_logs(run_id, of_type=CHECK_EVALUATED):
        evaluation = entry.get_dagster_event().event_specific_data
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        if evaluation.asset_check_key == key:
            found[evaluation.partition] = evaluation
    return found


def has_step_failures(instance: dg.DagsterInstance, run_id: str) -> bool:
    return bool(instance.all_logs(run_id, of_type=STEP_FAILURE))


def report_partitions_planned(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    asset_key: dg.AssetKey,
    partitions: Iterable[str],
) -> None:
    """Record, for the run, one planned materialization per partition: once the run has failed,
    Dagster shows every such partition without a materialization from the run as failed."""
    for partition in sorted(partitions):
        event = DagsterEvent.build_asset_materialization_planned_event(
            run.job_name,
            None,  # type: ignore[arg-type]  # no step: recorded from outside the run
            AssetMaterializationPlannedData(asset_key, partition=partition),
        )
        instance.report_dagster_event(event, run.run_id, logging.DEBUG)


def report_run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    instance.report_run_failed(run, message)


def pool_slots_held(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """The (pool, step) of every concurrency slot a run holds."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    return [
        (pool, slot.step_key)
        for pool in sorted(storage.get_concurrency_keys())
        for slot in storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    ]


def free_pool_slots(instance: dg.DagsterInstance, run_id: str) -> int:
    """Free every concurrency (pool) slot a run still holds; how many were freed."""
    held = pool_slots_held(instance, run_id)
    if held:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return len(held)


def runs_holding_pool_slots(instance: dg.DagsterInstance) -> set[str]:
    if not instance.event_log_storage.supports_global_concurrency_limits:
        return set()
    return set(instance.event_log_storage.get_concurrency_run_ids())


def add_run_tags(instance: dg.DagsterInstance, run_id: str, tags: Mapping[str, str]) -> None:
    instance.add_run_tags(run_id, dict(tags))


@dataclass(frozen=True)
class CheckFailure:
    """One completed execution of an asset check (the name is the alert sensor's: it reads the
    failed ones; `passed` tells a passed one read for a partition)."""

    id: int
    run_id: str
    timestamp: float
    partition: str | None
    evaluation: dg.AssetCheckEvaluation

    @property
    def passed(self) -> bool:
        return bool(self.evaluation.passed)


COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def _executions(records: Iterable[Any]) -> list[CheckFailure]:
    return [
        CheckFailure(r.id, r.run_id, r.event.timestamp, r.partition, r.evaluation)
        for r in records
        if r.event is not None and r.evaluation is not None
    ]


def failed_check_executions(
    instance: dg.DagsterInstance,
    key: dg.AssetCheckKey,
    limit: int,
    before_id: int | None = None,
) -> list[CheckFailure]:
    """The newest failed executions of a check, up to `limit`, newest first; with `before_id`,
    those older than that execution (the next page)."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=limit, cursor=before_id, status={AssetCheckExecutionRecordStatus.FAILED}
    )
    return _executions(records)


def latest_check_executions(
    instance: dg.DagsterInstance,
    key: dg.AssetCheckKey,
    partition: str,
    limit: int = 1,
    *,
    passed_only: bool = False,
) -> list[CheckFailure]:
    """The newest completed executions (passed or failed; passed only with `passed_only`) of a
    partitioned check for one partition, newest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        key,
        limit=limit,
        status={AssetCheckExecutionRecordStatus.SUCCEEDED} if passed_only else COMPLETED,
        partition_filter=PartitionKeyFilter(key=partition),
    )
    return _executions(records)


@dataclass(frozen=True)
class Freshness:
    """An asset's freshness state (PASS, WARN, FAIL, UNKNOWN) and since when it holds."""

    state: str
    since: float


def freshness_states(
    instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]
) -> dict[dg.AssetKey, Freshness]:
    """The current freshness states Dagster's daemon recorded for the assets (none for an asset
    it has not evaluated yet)."""
    if not keys:
        return {}
    return {
        key: Freshness(record.freshness_state.value, record.updated_at.timestamp())
        for key, record in instance.get_freshness_state_records(list(keys)).items()
    }


# What InProcessDbtCliResource.cli() adds to the environment dbt sees (dbt reads its environment
# on its own thread: this process's, changed by nobody else meanwhile).
_invocation_environment: ContextVar[Mapping[str, str] | None] = ContextVar(
    "dbt_invocation_environment", default=None
)


class InProcessDbtCliInvocation(DbtCliInvocation):
    """dagster-dbt's invocation of a dbt command, with dbt run in this process
    (operations/dbt_in_process.py) rather than as a child process. `run` is the classmethod
    dagster-dbt's `cli()` starts dbt with; everything after (reading the structured log, the
    asset events, errors) is dagster-dbt's own, reading DbtInProcess as it reads a process."""

    @classmethod
    def run(  # type: ignore[override]  # dagster-dbt's call passes these as keywords
        cls,
        args: Sequence[str],
        env: dict[str, str],
        project_dir: Path,
        dbt_project: Any = None,
        **fields: Any,
    ) -> InProcessDbtCliInvocation:
        env = {**env, **(_invocation_environment.get() or {})}
        process = cast(subprocess.Popen, DbtInProcess(args, env, project_dir))
        invocation = cls(process=process, project_dir=project_dir, project=dbt_project, **fields)
        # An interrupted run (terminated from the UI) does not wait for dbt: a thread cannot be
        # stopped from outside, and dbt ends with the run's process, which the interruption ends.
        invocation.termination_timeout_seconds = 0
        return invocation


class InProcessDbtCliResource(DbtCliResource):
    """DbtCliResource that runs dbt in the calling process (operations/dbt_in_process.py),
    through three of dagster-dbt's private parts:

    - `cli()` starts dbt through the `DbtCliInvocation` its module names: for the call, that
      name is InProcessDbtCliInvocation;
    - `_cli_version` is the installed dbt-core's, not `dbt --version`'s (a process that imports
      all of dbt and looks up PyPI for a newer release);
    - `_initialize_dbt_core_adapter` is skipped: dagster-dbt builds a second dbt adapter on
      every call (seconds of parsing) for its optional row-count and column-metadata fetching,
      which this project does not use: it reads row counts through its warehouse resource."""

    def cli(
        self, args: Sequence[str], *, environment: Mapping[str, str] | None = None, **kwargs: Any
    ) -> DbtCliInvocation:
        """dagster-dbt's cli(), dbt run in this process with `environment` added to its
        environment variables."""
        import dagster_dbt.core.resource as resource_module

        token = _invocation_environment.set(dict(environment or {}))
        resource_module.DbtCliInvocation = InProcessDbtCliInvocation  # type: ignore[misc]
        try:
            return super().cli(args, **kwargs)
        finally:
            resource_module.DbtCliInvocation = DbtCliInvocation  # type: ignore[misc]
            _invocation_environment.reset(token)

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 (dagster-dbt's private hook)
        return None


# A day literal of compiled SQL ('2025-01-04'): the run's window and the days its tests leave out
# (coffee_dbt/macros/window.sql), all that differs in a model's SQL from one day's run to the next.
_DAY_LITERAL = re.compile(r"'\d{4}-\d{2}-\d{2}'")


@contextmanager
def column_lineage_kept(cache: Path) -> Iterator[None]:
    """Meanwhile, each dbt model's column lineage is built once and then read from `cache`.

    dagster-dbt builds a model's `dagster/column_lineage` from its compiled SQL and the columns
    the post-hook logs (coffee_dbt/macros/dagster_column_lineage.sql), parsing and optimizing the
    SQL with sqlglot once per column: about 2 s of CPU in a one-day run, a third of it, though
    the lineage changes only with the model's SQL, the columns and the assets' keys. Its builder
    (`_build_column_lineage_metadata`, private) is called here through a cache keyed by those,
    with the SQL's day literals left out: the window and the skipped days differ from run to
    run, and a literal's value never changes which columns a column comes from. Entries are
    written whole (a concurrent run reads the old one or the new one); anything unreadable is
    built again."""
    import dagster_dbt.core.dbt_cli_event as events_module

    build = events_module._build_column_lineage_metadata

    def kept(**kwargs: Any) -> dict[str, Any]:
        key = _column_lineage_key(**kwargs)
        entry = cache / f"{key}.json" if key else None
        if entry is not None:
            with suppress(OSError, ValueError, dg.DagsterError):
                return cast(dict[str, Any], dg.deserialize_value(entry.read_text()))
        built = build(**kwargs)
        if entry is not None:
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=cache, delete=False) as part:
                part.write(dg.serialize_value(built))
            os.chmod(part.name, 0o644)
            os.replace(part.name, entry)
        return built

    events_module._build_column_lineage_metadata = kept  # type: ignore[assignment]
    try:
        yield
    finally:
        events_module._build_column_lineage_metadata = build


def _column_lineage_key(
    *,
    event_history_metadata: Any,
    dbt_resource_props: Mapping[str, Any],
    manifest: Mapping[str, Any],
    dagster_dbt_translator: Any,
    target_path: Path | None,
    project: Any,
) -> str | None:
    """What a model's column lineage depends on, hashed: its compiled SQL without its day
    literals, its columns and its parents', the keys of its parents' assets, and the versions
    of dagster-dbt and sqlglot. None when there is no compiled SQL to read (dagster-dbt then
    builds nothing either)."""
    if target_path is None:
        return None
    compiled = Path(
        target_path,
        "compiled",
        dbt_resource_props["package_name"],
        dbt_resource_props["original_file_path"].replace("\\", "/"),
    )
    try:
        sql = compiled.read_text()
    except OSError:
        return None
    parents = sorted(
        dagster_dbt_translator.get_asset_spec(manifest, unique_id, project).key.to_user_string()
        for unique_id in dbt_resource_props["depends_on"]["nodes"]
    )
    text = json.dumps(
        [
            metadata.version("dagster-dbt"),
            metadata.version("sqlglot"),
            dbt_resource_props["unique_id"],
            _DAY_LITERAL.sub("'-'", sql),
            event_history_metadata.columns,
            event_history_metadata.parents,
            parents,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def requested_backfill_partitions(
    instance: dg.DagsterInstance, asset: dg.AssetKey, job_name: str
) -> dict[str, list[str]]:
    """backfill id -> the partition keys each backfill still requested is to build: of `asset`
    for an asset backfill, the job's for a backfill of `job_name`; backfills of neither left
    out (the schedules' in-flight guard)."""
    found: dict[str, list[str]] = {}
    requested = BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED])
    for backfill in instance.get_backfills(filters=requested):
        keys: list[str] = []
        if backfill.is_asset_backfill:
            data = backfill.asset_backfill_data  # None only for backfills of old Dagsters
            subset = data.target_subset.partitions_subsets_by_asset_key.get(asset) if data else None
            keys = list(subset.get_partition_keys()) if subset is not None else []
        elif backfill.job_name == job_name:
            keys = list(backfill.partition_names or [])
        if keys:
            found[backfill.backfill_id] = keys
    return found


def code_server_client(host: str, port: int) -> Any:
    """A gRPC client of a code server (`dagster code-server start` or `dagster api grpc`):
    `ping` reaches the process that serves the code (a proxy forwards it), `heartbeat` is
    answered by the proxy itself, `reload_code` starts a new inner process, as the UI's Reload
    does (operations/watchdog.py)."""
    from dagster._grpc.client import DagsterGrpcClient

    return DagsterGrpcClient(host=host, port=port)


def set_pool_limit_if_new(instance: dg.DagsterInstance, pool: str, limit: int) -> bool:
    """Give a pool the instance has never seen its limit (what `dagster instance concurrency set`
    does), leaving a pool that has one as it is; True when it set it. Dagster creates a pool
    from `default_limit` only when the queue first meets a run in it, and does not hold it in
    that pass: a limit set before the first runs queue holds from the start."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or pool in storage.get_concurrency_keys():
        return False
    storage.set_concurrency_slots(pool, limit)
    return True


def storage_engine(storage: Any) -> sqlalchemy.engine.Engine:
    """The SQLAlchemy engine a dagster-postgres storage holds (`_engine`, which its
    optimize_for_webserver replaces with a pooled one): dagster-postgres offers no public way
    to reach it, and operations/pg_storage.py adds a connection check to its pool."""
    engine = getattr(storage, "_engine", None)
    if not isinstance(engine, sqlalchemy.engine.Engine):
        raise TypeError(f"{type(storage).__name__} holds no SQLAlchemy engine in _engine any more")
    return engine
