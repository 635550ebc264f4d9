"""The production shape as scripts/prod-local.sh runs it, one part per process, started and
stopped for a test, and what tests read of its runs (pools, schedule ticks, backfills): shared by
test_production.py, test_concurrency.py and test_gcp_deployment.py (the same shape on the gcp
target, against the emulators).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from coffee_assets.defs.schedules.jobs import SCHEDULE
from coffee_assets.settings import yesterday

from .gcp_fixtures import Emulators
from .processes import code_server_serving, free_port, processes_mentioning, stop_group
from .test_dagster_dev import LAUNCH_BACKFILL, graphql

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod-local.sh"
LAST = yesterday()
PARTS = ("postgres", "code-server", "webserver", "daemon", "watchdog")
APP_ROLE = "dagster_app"
LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on RepositoryLocation { serverId } } } } } }"""
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"


@dataclass
class Deployment:
    """The four parts of scripts/prod-local.sh, each its own process (group)."""

    env: dict[str, str]
    base: Path
    web_port: int
    home: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, part: str, *, signals_ignored: bool = False) -> None:
        """Start a part of prod-local.sh; `signals_ignored`: with SIGINT and SIGTERM ignored, as
        under nohup or from another script's background job."""
        log = open(self.base / f"{part}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.procs[part] = subprocess.Popen(
            ["bash", str(SCRIPT), part],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_ignore_stop_signals if signals_ignored else None,
        )
        self.wait_ready(part)

    def stop(self, part: str) -> None:
        stop_group(self.procs.pop(part))

    def restart(self, part: str) -> None:
        self.stop(part)
        self.start(part)

    def wait_ready(self, part: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[part].poll() is not None:
                raise RuntimeError(f"{part} exited: {self.log(part)[-3000:]}")
            if self.is_ready(part):
                return
            time.sleep(1)
        raise TimeoutError(f"{part} not ready after {timeout} s: {self.log(part)[-3000:]}")

    def is_ready(self, part: str) -> bool:
        if part == "code-server":
            return code_server_serving(int(self.env["COFFEE_CODE_SERVER_PORT"]))
        if part == "postgres":  # the server answers before its roles and password files exist
            check = ["pg_isready", "-h", "127.0.0.1", "-p", self.env["COFFEE_PG_PORT"]]
            if subprocess.run(check, capture_output=True, check=False).returncode != 0:
                return False
            return "Ctrl-C stops PostgreSQL" in self.log(part)
        if part == "watchdog":
            return "watching the code server" in self.log(part)
        try:
            statuses = graphql(self.web_port, DAEMONS, {})["instance"]["daemonHealth"]
        except OSError:
            return False
        if part == "webserver":
            return True
        healthy = {d["daemonType"]: d["healthy"] for d in statuses["allDaemonStatuses"]}
        needed = ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR")
        return all(healthy.get(daemon) for daemon in needed)

    def log(self, part: str) -> str:
        return (self.base / f"{part}.log").read_text(errors="replace")

    @property
    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.web_port)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    @property
    def pg_dir(self) -> Path:
        return Path(self.env["COFFEE_PG_DIR"])

    def pg_password(self) -> str:
        """The application role's password, which scripts/local-postgres.sh generated."""
        return (self.pg_dir / "dagster.pw").read_text().strip()

    def server_id(self) -> str | None:
        """The id of the code server process whose definitions the webserver has, None while it
        has none (or an error instead)."""
        try:
            data = graphql(self.web_port, LOCATIONS, {})
        except (OSError, AssertionError):
            return None
        [entry] = data["workspaceOrError"]["locationEntries"]
        return entry["locationOrLoadError"].get("serverId")


def new_deployment(settings: dict[str, str]) -> Deployment:
    """A deployment's settings (COFFEE_*, on top of a fresh folder and free ports), not started."""
    # Not under pytest's tmp_path: as root, PostgreSQL runs as the postgres user, which must
    # reach its folder (pytest's base folder is closed to other users).
    base = Path(tempfile.mkdtemp(prefix="coffee-prod-"))
    base.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COFFEE_", "DAGSTER_HOME", "DAGSTER_PG_", "PG"))
    }
    env |= {
        "COFFEE_DATA_DIR": str(base / "data"),
        "COFFEE_PG_DIR": str(base / "pg"),
        "COFFEE_PG_PORT": str(free_port()),
        "COFFEE_CODE_SERVER_PORT": str(free_port()),
        "COFFEE_WEB_PORT": str(web_port := free_port()),
        "COFFEE_DAGSTER_URL": f"http://127.0.0.1:{web_port}",
        **settings,
    }
    return Deployment(env, base, web_port, base / "data" / "dagster_home_prod")


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def assert_nothing_left(base: Path, timeout: float = 120) -> None:
    """No process runs with the deployment's folder on its command line or in its environment
    (PostgreSQL, the servers, the watchdog, runs, a `sleep`), within `timeout` seconds: a part's
    process has exited, but what it stopped (PostgreSQL's shutdown checkpoint, a run's process)
    may still be finishing on a busy machine."""
    deadline = time.monotonic() + timeout
    while (leftovers := processes_mentioning(str(base))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers, "processes left running:\n" + "\n".join(leftovers)


@contextmanager
def deployed(
    settings: dict[str, str], pool_limits: dict[str, int] | None = None
) -> Iterator[Deployment]:
    """The five parts started with these settings (COFFEE_*, on top of fresh folders and free
    ports), stopped afterwards; no process may be left behind. `pool_limits` are set before the
    daemon starts (nothing is launched from the queue, nor a schedule ticked, before them)."""
    deployment = new_deployment(settings)
    with pytest.MonkeyPatch.context() as mp:
        # This process opens the same instance to read runs and events, as the application's
        # role, with the password the cluster's folder keeps (once PostgreSQL has started).
        for name, value in {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": deployment.env["COFFEE_PG_PORT"],
            "DAGSTER_PG_USER": APP_ROLE,
            "DAGSTER_PG_DB": "dagster",
        }.items():
            mp.setenv(name, value)
        try:
            for part in PARTS:
                if part == "daemon":
                    for pool, limit in (pool_limits or {}).items():
                        set_pool_limit(deployment, pool, limit)
                deployment.start(part)
                if part == "postgres":
                    mp.setenv("DAGSTER_PG_PASSWORD", deployment.pg_password())
            yield deployment
        finally:
            for part in reversed(PARTS):
                if part in deployment.procs:
                    deployment.stop(part)
    assert_nothing_left(deployment.base)


# ------------------------------------------------- runs in a deployment: pools, turns, ticks
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
            if backfill.status.value != "REQUESTED" and all(run.status in ENDED for run in runs):
                assert backfill.status.value == "COMPLETED_SUCCESS", (
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


# ------------------------------------------------------------------------ the gcp target
GCP_BUCKET = "coffee-prod"


def gcs_client(emulators: Emulators) -> storage.Client:
    return storage.Client(
        project=emulators.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulators.storage_host},
    )
