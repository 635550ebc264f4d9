"""The production shape, as scripts/prod-local.sh runs it: a real PostgreSQL (Debian's, started
here on 127.0.0.1), the code server, the webserver and the daemon as separate processes, runs
through the queue (deploy/dagster.yaml, deploy/workspace.yaml).

One deployment for the module; the tests run in order and share it, the way a deployment lives:
the schedule's first tick builds the history, a user's runs go through the queue, a corrupt
delivery alerts once across a daemon restart, a webserver restart loses nothing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from coffee_assets.core import contract as c
from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.defs.dbt.project import dbt_project
from coffee_assets.defs.schedules.jobs import (
    DAILY_REFRESH,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SCHEDULE,
)
from coffee_assets.settings import yesterday

from .alert_servers import RecordingHttpServer
from .gcp_fixtures import Emulators
from .processes import free_port, stop_group
from .test_dagster_dev import graphql, wait_for_run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod-local.sh"
LAST = yesterday()
START = LAST - timedelta(days=2)
PARTS = ("postgres", "code-server", "webserver", "daemon")
SENSOR_TICKS = """
query($name: String!) {
  sensorOrError(sensorSelector: {repositoryLocationName: "coffee_assets",
                                 repositoryName: "__repository__", sensorName: $name}) {
    ... on Sensor { sensorState { ticks(limit: 10) { timestamp status } } }
  }
}"""
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
PARTITIONS = """
{ assetNodes(assetKeys: [{path: ["dbt_models", "flat_order_details"]}]) {
    assetPartitionStatuses { ... on TimePartitionStatuses {
      ranges { startKey endKey status } } } } }"""


@dataclass
class Deployment:
    """The four parts of scripts/prod-local.sh, each its own process (group)."""

    env: dict[str, str]
    base: Path
    web_port: int
    home: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, part: str) -> None:
        log = open(self.base / f"{part}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.procs[part] = subprocess.Popen(
            ["bash", str(SCRIPT), part],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
        check = {
            "postgres": ["pg_isready", "-h", "127.0.0.1", "-p", self.env["COFFEE_PG_PORT"]],
            "code-server": [
                str(ROOT / ".venv/bin/dagster"), "api", "grpc-health-check",
                "-h", "127.0.0.1", "-p", self.env["COFFEE_CODE_SERVER_PORT"],
            ],
        }.get(part)  # fmt: skip
        if check:
            return subprocess.run(check, capture_output=True, check=False).returncode == 0
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


@pytest.fixture(scope="module")
def webhook() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.stop()


@contextmanager
def deployed(settings: dict[str, str]) -> Iterator[Deployment]:
    """The four parts started with these settings (COFFEE_*, on top of fresh folders and free
    ports), stopped afterwards; no process may be left behind."""
    # Not under pytest's tmp_path: as root, PostgreSQL runs as the postgres user, which must
    # reach its folder (pytest's base folder is closed to other users).
    base = Path(tempfile.mkdtemp(prefix="coffee-prod-"))
    base.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFFEE_", "DAGSTER_HOME"))}
    env |= {
        "COFFEE_DATA_DIR": str(base / "data"),
        "COFFEE_PG_DIR": str(base / "pg"),
        "COFFEE_PG_PORT": str(free_port()),
        "COFFEE_CODE_SERVER_PORT": str(free_port()),
        "COFFEE_WEB_PORT": str(web_port := free_port()),
        "COFFEE_DAGSTER_URL": f"http://127.0.0.1:{web_port}",
        **settings,
    }
    deployment = Deployment(env, base, web_port, base / "data" / "dagster_home_prod")
    with pytest.MonkeyPatch.context() as mp:
        # This process opens the same instance to read runs and events.
        for name, value in {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": env["COFFEE_PG_PORT"],
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": "local",
            "DAGSTER_PG_DB": "dagster",
        }.items():
            mp.setenv(name, value)
        try:
            for part in PARTS:
                deployment.start(part)
            yield deployment
        finally:
            for part in reversed(PARTS):
                if part in deployment.procs:
                    deployment.stop(part)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(base)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture(scope="module")
def deployment(webhook) -> Iterator[Deployment]:
    """The local target, its history three days long, the schedule every minute (its tick comes
    within a minute, evaluated by the daemon), alerts to a webhook."""
    with deployed(
        {
            "COFFEE_START_DATE": START.isoformat(),
            "COFFEE_ORDERS_PER_DAY": "60",
            "COFFEE_SCHEDULE_CRON": "* * * * *",
            "COFFEE_ALERT_WEBHOOK_URL": webhook.url,
        }
    ) as deployment:
        yield deployment


def runs_with_tag(instance: dg.DagsterInstance, key: str, value: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={key: value})))


def event_types(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.dagster_event.event_type_value for e in instance.all_logs(run_id) if e.dagster_event]


def test_the_schedule_ticks_in_the_daemon_and_builds_the_history_through_the_queue(deployment):
    with deployment.instance() as instance:
        deadline = time.monotonic() + 150
        while not (runs := runs_with_tag(instance, "dagster/schedule_name", SCHEDULE)):
            assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
            time.sleep(2)
        [run] = runs
        assert run.job_name == DAILY_REFRESH
        assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == (str(START), str(LAST))
        status = wait_for_run(deployment.client, run.run_id)
        assert status == dg.DagsterRunStatus.SUCCESS, deployment.log("code-server")[-3000:]
        assert "PIPELINE_ENQUEUED" in event_types(instance, run.run_id)  # through the queue


def test_runs_launched_through_graphql_queue_and_take_turns_on_the_warehouse(deployment):
    """A daily_refresh and a raw-table materialization at once: both queued, both succeed, and
    no step of one overlaps a step of the other (one DuckDB writer: the pool, the run lock)."""
    client = deployment.client
    day = str(LAST)
    run_ids = [
        client.submit_job_execution(DAILY_REFRESH, tags={"dagster/partition": day}),
        client.submit_job_execution(
            "__ASSET_JOB",
            tags={"dagster/partition": day},
            asset_selection=[["coffee_shop", "orders"], ["coffee_shop", "order_details"]],
        ),
    ]
    statuses = [wait_for_run(client, run_id) for run_id in run_ids]
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2, deployment.log("code-server")[-3000:]
    with deployment.instance() as instance:
        spans = []
        for run_id in run_ids:
            assert "PIPELINE_ENQUEUED" in event_types(instance, run_id)
            started = {}
            for record in instance.all_logs(run_id):
                event = record.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = record.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                    spans.append((started[event.step_key], record.timestamp, run_id))
    spans.sort()
    for (_, end, run_a), (begin, _, run_b) in zip(spans, spans[1:], strict=False):
        assert run_a == run_b or begin >= end, "steps of two runs overlapped on the warehouse"


def test_a_corrupt_delivery_alerts_once_also_across_a_daemon_restart(deployment, webhook):
    """An order's TotalAmount raised by 1.00 in the delivered file: the raw load takes it, the
    blocking daily_rules check fails, the sensor in the daemon sends exactly one alert, and a
    restarted daemon (its cursor in PostgreSQL) does not send it again."""
    path = Path(deployment.env["COFFEE_DATA_DIR"]) / "bucket" / CSV_PREFIX
    path = path / c.ORDERS.object_key(str(LAST))
    good = path.read_text()
    header, first, *rest = good.splitlines()
    fields = first.split(",")
    total = c.ORDERS.column_names.index("TotalAmount")
    fields[total] = f"{float(fields[total]) + 1:.2f}"
    path.write_text("\n".join([header, ",".join(fields), *rest]) + "\n")
    webhook.requests.clear()
    client = deployment.client
    run_id = client.submit_job_execution(
        "__ASSET_JOB",
        tags={"dagster/partition": str(LAST)},
        asset_selection=[["coffee_shop", "orders"]],
    )
    assert wait_for_run(client, run_id) == dg.DagsterRunStatus.FAILURE

    deadline = time.monotonic() + 150
    while not webhook.requests:
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(2)
    time.sleep(5)  # nothing else on its way
    [alert] = [r.json() for r in webhook.requests]
    assert (alert["kind"], alert["check"], alert["partition"]) == (
        "check_failed", "daily_rules", str(LAST)
    )  # fmt: skip

    restarted = time.time()
    deployment.restart("daemon")
    deadline = time.monotonic() + 150
    while True:  # until the restarted daemon has evaluated the alert sensors
        ticks = [
            graphql(deployment.web_port, SENSOR_TICKS, {"name": name})["sensorOrError"]
            for name in ("asset_check_alerts", "run_failure_alerts")
        ]
        newest = [
            max((t["timestamp"] for t in s["sensorState"]["ticks"]), default=0) for s in ticks
        ]
        if min(newest) > restarted:
            break
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(2)
    assert len(webhook.requests) == 1
    path.write_text(good)


def test_a_restarted_webserver_shows_the_same_runs_and_asset_statuses(deployment):
    before = graphql(deployment.web_port, RUNS, {}), graphql(deployment.web_port, PARTITIONS, {})
    deployment.restart("webserver")
    after = graphql(deployment.web_port, RUNS, {}), graphql(deployment.web_port, PARTITIONS, {})
    assert after == before
    runs = after[0]["runsOrError"]["results"]
    assert len(runs) >= 4
    [node] = after[1]["assetNodes"]
    ranges = node["assetPartitionStatuses"]["ranges"]
    assert [(r["startKey"], r["endKey"], r["status"]) for r in ranges] == [
        (str(START), str(LAST), "MATERIALIZED")
    ]


# ------------------------------------------------------------------------ the gcp target
GCP_BUCKET = "coffee-prod"


@pytest.fixture(scope="module")
def gcp_deployment(gcp_emulators: Emulators) -> Iterator[Deployment]:
    """The same shape on the gcp target against the GCS and BigQuery emulators, compute logs in
    the bucket (deploy/compute-logs-gcs.yaml). The schedule waits for New Year: runs here are
    the test's."""
    settings = {
        **gcp_emulators.env(),
        "COFFEE_TARGET": "gcp",
        "COFFEE_GCP_PROJECT": gcp_emulators.project,
        "COFFEE_GCS_BUCKET": GCP_BUCKET,
        "COFFEE_BQ_LOCATION": "US",
        "COFFEE_BQ_RAW_DATASET": "prod_raw",
        "COFFEE_BQ_DBT_DATASET": "prod_marts",
        "COFFEE_START_DATE": LAST.isoformat(),
        "COFFEE_ORDERS_PER_DAY": "60",
        "COFFEE_SCHEDULE_CRON": "0 0 1 1 *",
    }
    gcs_client(gcp_emulators).create_bucket(GCP_BUCKET)
    with pytest.MonkeyPatch.context() as mp:  # the gcp manifest, as the image build prepares it
        for name, value in settings.items():
            mp.setenv(name, value)
        project = dbt_project("gcp")
        project.preparer.prepare(project)
    with deployed(settings) as deployment:
        yield deployment


def gcs_client(emulators: Emulators) -> storage.Client:
    return storage.Client(
        project=emulators.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulators.storage_host},
    )


def test_on_the_gcp_target_a_queued_run_loads_bigquery_and_logs_to_gcs(
    gcp_deployment, gcp_emulators
):
    client = gcp_deployment.client
    run_id = client.submit_job_execution(DAILY_REFRESH, tags={"dagster/partition": str(LAST)})
    status = wait_for_run(client, run_id, timeout=600)
    assert status == dg.DagsterRunStatus.SUCCESS, gcp_deployment.log("code-server")[-3000:]
    with gcp_deployment.instance() as instance:
        assert "PIPELINE_ENQUEUED" in event_types(instance, run_id)
        materialized = {
            e.dagster_event.asset_key.to_user_string()
            for e in instance.all_logs(run_id)
            if e.dagster_event and e.dagster_event.is_step_materialization
        }
    assert "dbt_models/flat_order_details" in materialized
    # Each step's stdout/stderr in the bucket, below the prefix, named by the run.
    logs = [
        b.name
        for b in gcs_client(gcp_emulators).list_blobs(GCP_BUCKET, prefix="dagster-compute-logs/")
    ]
    assert any(run_id in name for name in logs), logs[:20]
    assert any(name.endswith(".err") for name in logs) and any(
        name.endswith(".out") for name in logs
    )
