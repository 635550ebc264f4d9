"""The production shape, as scripts/prod-local.sh runs it: a real PostgreSQL (Debian's, started
here on 127.0.0.1, password authentication), the code server, the webserver, the daemon and the
code server's watchdog as separate processes, runs through the queue (deploy/dagster.yaml,
deploy/workspace.yaml).

One deployment for the module; the tests run in order and share it, the way a deployment lives:
the schedule's first tick asks for the history once while its run waits in the queue, an asset
backfill launched beside it waits its turn on the warehouse, a corrupt delivery alerts once
across a daemon restart, a webserver restart loses nothing, other users of the machine are kept
out of PostgreSQL, PostgreSQL restarts under the running services, and the code server dies
under a running run, first its inner process, then all of it. Then
`prod-local.sh` on its own: a cluster of the earlier trust-authenticated kind is converted,
Ctrl-C on the postgres part and on the whole leaves nothing behind, and the whole starts a dead
code server again.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psutil
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.defs.schedules.jobs import (
    DAILY_REFRESH,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SCHEDULE,
)
from coffee_assets.operations import dagster_internals as internals
from coffee_assets.operations.books import FINISHED, WORKER_TAG, Worker
from coffee_assets.platform.target import DUCKDB_POOL

from .alert_servers import RecordingHttpServer
from .deployments import (
    APP_ROLE,
    LAST,
    SCRIPT,
    Deployment,
    assert_nothing_left,
    assert_runs_took_turns,
    deployed,
    launch_asset_backfill,
    new_deployment,
    run_times,
    schedule_ticks,
    set_pool_limit,
    wait_for_backfill,
)
from .processes import free_port, stop_group
from .test_dagster_dev import graphql, wait_for_run

# One worker runs the tests on this module's deployment; the tests of prod-local.sh on its own,
# which start their own PostgreSQL and processes, are a group of their own (run beside the
# others). The gcp target's deployment is test_gcp_deployment.py's.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deployment")]
SCRIPT_GROUP = "script"

ROOT = Path(__file__).resolve().parent.parent
LOCAL_POSTGRES = ROOT / "scripts" / "local-postgres.sh"
START = LAST - timedelta(days=2)
SENSOR_TICKS = """
query($name: String!) {
  sensorOrError(sensorSelector: {repositoryLocationName: "coffee_assets",
                                 repositoryName: "__repository__", sensorName: $name}) {
    ... on Sensor { sensorState { ticks(limit: 10) { timestamp status } } }
  }
}"""
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
PARTITIONS = """
{ assetNodes(assetKeys: [{path: ["dbt_models", "flat_order_details"]}]) {
    assetPartitionStatuses { ... on TimePartitionStatuses {
      ranges { startKey endKey status } } } } }"""
STORAGES = """
query($schedule: String!) {
  runsOrError(limit: 1) { ... on Runs { results { runId } } }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } }
  assetNodes(assetKeys: [{path: ["dbt_models", "flat_order_details"]}]) {
    assetMaterializations(limit: 1) { runId } }
  scheduleOrError(scheduleSelector: {repositoryLocationName: "coffee_assets",
                                     repositoryName: "__repository__", scheduleName: $schedule}) {
    ... on Schedule { scheduleState { status } } }
}"""

ALERT_INTERVAL = 10


@pytest.fixture(scope="module")
def webhook() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(webhook) -> Iterator[Deployment]:
    """The local target, its history three days long, the schedule every minute (its tick comes
    within a minute, evaluated by the daemon), alerts to a webhook, the alert sensors every 10 s
    (what COFFEE_ALERT_INTERVAL_SECONDS is for); the duckdb pool at 0 until the first test lets
    the runs go."""
    with deployed(
        {
            "COFFEE_START_DATE": START.isoformat(),
            "COFFEE_ORDERS_PER_DAY": "60",
            "COFFEE_SCHEDULE_CRON": "* * * * *",
            "COFFEE_ALERT_WEBHOOK_URL": webhook.url,
            "COFFEE_ALERT_INTERVAL_SECONDS": str(ALERT_INTERVAL),
        },
        pool_limits={DUCKDB_POOL: 0},
    ) as deployment:
        yield deployment


def runs_with_tag(instance: dg.DagsterInstance, key: str, value: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={key: value})))


def event_types(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.dagster_event.event_type_value for e in instance.all_logs(run_id) if e.dagster_event]


def test_the_schedule_asks_once_through_the_queue_and_an_asset_backfill_waits_its_turn(
    deployment,
):
    """The schedule ticks every minute in the daemon. The duckdb pool starts at 0, so its first
    run (daily_refresh for the whole history) stays queued: an asset backfill of the last day is
    launched beside it, the way the UI does, and the next tick skips, naming the queued run. Once
    the pool is back at 1, both succeed one run at a time: their warehouse steps never overlap,
    and the schedule requested one run whatever its ticks since."""
    client = deployment.client
    try:
        with deployment.instance() as instance:
            deadline = time.monotonic() + 150
            while not (runs := runs_with_tag(instance, "dagster/schedule_name", SCHEDULE)):
                assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
                time.sleep(2)
        [scheduled] = runs
        assert scheduled.job_name == DAILY_REFRESH
        assert (scheduled.tags[RANGE_START_TAG], scheduled.tags[RANGE_END_TAG]) == (
            str(START), str(LAST)
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while (
            status := client.get_run_status(scheduled.run_id)
        ) == dg.DagsterRunStatus.NOT_STARTED:
            assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
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
    finally:  # the later tests' runs go, whatever happened here
        set_pool_limit(deployment, DUCKDB_POOL, 1)
    status = wait_for_run(client, scheduled.run_id)
    assert status == dg.DagsterRunStatus.SUCCESS, deployment.log("code-server")[-3000:]
    backfill_runs = wait_for_backfill(deployment, backfill_id, timeout=420)
    assert len(backfill_runs) >= 2, backfill_runs  # as the UI does it: several __ASSET_JOB runs
    with deployment.instance() as instance:
        assert runs_with_tag(instance, "dagster/schedule_name", SCHEDULE) == [
            instance.get_run_by_id(scheduled.run_id)
        ]  # one run requested, whatever the ticks since
        for run_id in (scheduled.run_id, *backfill_runs):
            assert "PIPELINE_ENQUEUED" in event_types(instance, run_id)  # through the queue
    # The backfill's first runs were queued while the scheduled run was still on its way.
    assert (
        min(run_times(deployment, r)[0] for r in backfill_runs)
        < run_times(deployment, scheduled.run_id)[1]
    )
    assert_runs_took_turns(deployment, [scheduled.run_id, *backfill_runs], DUCKDB_POOL)


def wait_for_alert_sensor_ticks(deployment: Deployment, after: float) -> None:
    """Until both alert sensors have completed a tick that started after `after` (the daemon
    evaluates them every ALERT_INTERVAL seconds, as soon as it has started)."""
    deadline = time.monotonic() + 150
    while True:
        ticks = [
            graphql(deployment.web_port, SENSOR_TICKS, {"name": name})["sensorOrError"]
            for name in ("asset_check_alerts", "run_failure_alerts")
        ]
        newest = [
            max(
                (t["timestamp"] for t in s["sensorState"]["ticks"] if t["status"] != "STARTED"),
                default=0,
            )
            for s in ticks
        ]
        if min(newest) > after:
            return
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(2)


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
    # Nothing else on its way: both alert sensors have ticked again since the alert arrived.
    wait_for_alert_sensor_ticks(deployment, after=time.time())
    [alert] = [r.json() for r in webhook.requests]
    assert (alert["kind"], alert["check"], alert["partition"]) == (
        "check_failed", "daily_rules", str(LAST)
    )  # fmt: skip

    restarted = time.time()
    deployment.restart("daemon")
    wait_for_alert_sensor_ticks(deployment, after=restarted)
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


# ------------------------------------------------- PostgreSQL's door, restarts, dead code servers
def psql_args(port: str, user: str, sql: str = "select 1", host: str = "127.0.0.1") -> list[str]:
    # -w: never ask for a password (there is no terminal); -X: no ~/.psqlrc.
    return ["psql", "-wXqAt", "-h", host, "-p", port, "-U", user, "-d", "dagster", "-c", sql]


def run_as_nobody(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_postgresql_lets_in_only_the_holders_of_the_password(deployment):
    """Another user of the machine, with no password or a wrong one, gets no connection as any
    role, on TCP or on the Unix socket, and cannot read the password files; the password is on
    no command line. Its holder owns the database `dagster` and is no superuser."""
    if os.geteuid() != 0:
        pytest.skip("acting as another user of the machine (runuser -u nobody) needs root")
    port, pg_dir = deployment.env["COFFEE_PG_PORT"], deployment.pg_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    rules = [
        line.split()
        for line in (pg_dir / "data" / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
    for user in (APP_ROLE, "pgadmin", "dagster", "postgres"):
        for password in (None, "local", "wrong"):
            tried = run_as_nobody(
                *psql_args(port, user),
                env=env if password is None else env | {"PGPASSWORD": password},
            )
            assert tried.returncode != 0, (user, password, tried.stdout)
            assert (
                "no password supplied" in tried.stderr
                or "password authentication failed" in tried.stderr
            ), tried.stderr
    on_the_socket = run_as_nobody(*psql_args(port, APP_ROLE, host=str(pg_dir)), env=env)
    assert on_the_socket.returncode != 0, on_the_socket.stdout
    password = deployment.pg_password()
    for name in ("dagster.pw", "admin.pw"):
        assert (pg_dir / name).stat().st_mode & 0o077 == 0
        assert run_as_nobody("cat", str(pg_dir / name), env=env).returncode != 0
    for process in psutil.process_iter(["cmdline"]):
        assert password not in " ".join(process.info["cmdline"] or []), process
    owner = subprocess.run(
        psql_args(
            port,
            APP_ROLE,
            "select r.rolsuper, r.rolcreatedb, r.rolcreaterole, pg_get_userbyid(d.datdba), "
            "(select count(*) from pg_tables where schemaname = 'public' "
            "and tableowner <> current_user) "
            "from pg_roles r, pg_database d "
            "where r.rolname = current_user and d.datname = current_database()",
        ),
        env=env | {"PGPASSWORD": password},
        capture_output=True,
        text=True,
        check=True,
    )
    assert owner.stdout.strip() == f"f|f|f|{APP_ROLE}|0"


def post_graphql(port: int, query: str, variables: dict) -> tuple[int, dict]:
    """HTTP status and body of a GraphQL request, an HTTP error included."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode(errors="replace")[:3000]}


def lines_through_the_root_logger(text: str) -> list[str]:
    """Lines of Dagster's loggers printed a second time by a root logger's handler (Python's
    default format, `INFO:dagster.daemon.SensorDaemon:...`)."""
    return [
        line
        for line in text.splitlines()
        if re.match(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL):dagster", line)
    ]


def test_after_postgresql_restarts_the_first_request_succeeds_and_log_lines_print_once(
    deployment,
):
    """PostgreSQL stopped under the running services (the daemon retries meanwhile) and started
    again: the webserver's first request, which reads every storage, succeeds (its pooled
    connections were dead: HTTP 500 before), and the daemon goes on printing each line once
    (twice before, after its connection retries)."""
    variables = {"schedule": SCHEDULE}
    status, body = post_graphql(deployment.web_port, STORAGES, variables)
    assert (status, body.get("errors")) == (200, None), body  # each storage's pool holds one
    marks = {part: len(deployment.log(part)) for part in ("daemon", "webserver")}
    pg = ["bash", str(LOCAL_POSTGRES)]
    subprocess.run([*pg, "stop", str(deployment.pg_dir)], check=True)
    deadline = time.monotonic() + 90
    while "Retrying failed database connection" not in deployment.log("daemon")[marks["daemon"] :]:
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(1)
    port = deployment.env["COFFEE_PG_PORT"]
    subprocess.run([*pg, "start", str(deployment.pg_dir), port], check=True, capture_output=True)
    restarted = len(deployment.log("daemon"))

    status, body = post_graphql(deployment.web_port, STORAGES, variables)
    assert (status, body.get("errors")) == (200, None), body

    deadline = time.monotonic() + 150
    while "Checking for new runs for sensor" not in deployment.log("daemon")[restarted:]:
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(2)
    deployment.wait_ready("daemon")
    for part, mark in marks.items():
        assert not lines_through_the_root_logger(deployment.log(part)[mark:]), part


def launch_until_it_takes_the_warehouse(deployment: Deployment, instance) -> tuple[str, Worker]:
    """A daily_refresh of the last day, launched through GraphQL; returned once it runs a step
    that uses the warehouse (its run books have recorded the run's process)."""
    run_id = deployment.client.submit_job_execution(
        DAILY_REFRESH, tags={"dagster/partition": str(LAST)}
    )
    deadline = time.monotonic() + 240
    while WORKER_TAG not in (run := instance.get_run_by_id(run_id)).tags:
        assert run.status not in FINISHED, (run.status, deployment.log("code-server")[-3000:])
        assert time.monotonic() < deadline, deployment.log("daemon")[-3000:]
        time.sleep(0.5)
    worker = Worker.from_tag(run.tags[WORKER_TAG])
    assert worker is not None
    return run_id, worker


def wait_until_failed(deployment: Deployment, instance, run_id: str, timeout: float) -> float:
    """Seconds until the run is marked failed (it must not end any other way)."""
    start = time.monotonic()
    while (run := instance.get_run_by_id(run_id)).status != dg.DagsterRunStatus.FAILURE:
        assert run.status not in FINISHED, run.status
        assert time.monotonic() - start < timeout, deployment.log("watchdog")[-3000:]
        time.sleep(1)
    return time.monotonic() - start


def wait_for_new_server(deployment: Deployment, old: str | None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while (current := deployment.server_id()) in (None, old):
        assert time.monotonic() < deadline, (current, deployment.log("watchdog")[-3000:])
        time.sleep(1)


def a_raw_load_succeeds(deployment: Deployment) -> None:
    """A run in the warehouse's pool, launched through GraphQL, succeeds: the location serves
    launches again and the pool is free."""
    client = deployment.client
    run_id = client.submit_job_execution(
        "__ASSET_JOB",
        tags={"dagster/partition": str(LAST)},
        asset_selection=[["coffee_shop", "orders"]],
    )
    status = wait_for_run(client, run_id, timeout=300)
    assert status == dg.DagsterRunStatus.SUCCESS, deployment.log("code-server")[-3000:]


def test_the_inner_code_server_killed_mid_run_fails_the_run_at_once_and_the_location_recovers(
    deployment,
):
    """The `dagster api grpc` that `dagster code-server start` runs dies with its run (as under
    the OOM killer); the outer process stays up and green. The watchdog fails the run and frees
    its pool within seconds, without a restart of the code server (the run_health sensor needs
    the code server), and the outer process starts a new inner one: the webserver gets the new
    server, the next run goes through, and the code server was never restarted."""
    outer = psutil.Process(deployment.procs["code-server"].pid)
    before = deployment.server_id()
    with deployment.instance() as instance:
        run_id, worker = launch_until_it_takes_the_warehouse(deployment, instance)
        [inner] = [p for p in outer.children() if {"api", "grpc"} <= set(p.cmdline())]
        doomed = [inner, *inner.children(recursive=True)]
        assert worker.pid in [p.pid for p in doomed]  # the run's process is the inner's child
        for process in doomed:
            process.kill()
        took = wait_until_failed(deployment, instance, run_id, timeout=60)
        assert internals.pool_slots_held(instance, run_id) == []
    assert outer.is_running() and deployment.procs["code-server"].poll() is None
    wait_for_new_server(deployment, before)
    a_raw_load_succeeds(deployment)
    watchdog = deployment.log("watchdog")
    assert f"run {run_id} (daily_refresh): its process" in watchdog
    assert "started a new inner process" in watchdog
    assert outer.is_running(), "the code server was restarted"
    assert took < 45, took


def test_the_whole_code_server_killed_mid_run_fails_the_run_before_it_is_started_again(
    deployment,
):
    """The code server's whole process group killed (outer, inner and the run): while it is
    down, the watchdog fails the run and frees its pool; started again by hand (a separate
    part), the code server serves the next run."""
    before = deployment.server_id()
    with deployment.instance() as instance:
        run_id, _ = launch_until_it_takes_the_warehouse(deployment, instance)
        code_server = deployment.procs.pop("code-server")
        os.killpg(code_server.pid, signal.SIGKILL)
        code_server.wait()
        took = wait_until_failed(deployment, instance, run_id, timeout=60)
        assert not deployment.is_ready("code-server")  # failed while nothing restarted it
        assert internals.pool_slots_held(instance, run_id) == []
    deployment.start("code-server")
    wait_for_new_server(deployment, before)
    a_raw_load_succeeds(deployment)
    watchdog = deployment.log("watchdog")
    assert (
        f"the code server on port {deployment.env['COFFEE_CODE_SERVER_PORT']} does not" in watchdog
    )
    assert f"run {run_id} (daily_refresh): its process" in watchdog
    assert took < 45, took


# ------------------------------------------------------------- prod-local.sh and its PostgreSQL
def newest_postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    assert found, "PostgreSQL is missing: bash scripts/install-postgres.sh"
    return found[-1].parent


@pytest.mark.xdist_group(SCRIPT_GROUP)
def test_a_trust_cluster_made_by_the_earlier_script_is_converted_keeping_its_tables():
    """What scripts/local-postgres.sh made before (trust authentication, the superuser
    `dagster`, Dagster's tables owned by it) is converted on its next start: no trust left, the
    old superuser cannot log in, the tables and their rows belong to dagster_app."""
    base = Path(tempfile.mkdtemp(prefix="coffee-pg-"))
    base.chmod(0o755)
    pg_dir, port, bin_dir = base / "pg", str(free_port()), newest_postgres_bin()
    pg_dir.mkdir()
    as_owner = []
    if os.geteuid() == 0:
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(pg_dir, "postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    try:
        run = functools.partial(subprocess.run, env=env, capture_output=True, text=True, check=True)
        run([*as_owner, bin_dir / "initdb", "-D", pg_dir / "data", "-A", "trust", "-U", "dagster"])
        options = f"-p {port} -k {pg_dir} -c listen_addresses=127.0.0.1"
        run([*as_owner, bin_dir / "pg_ctl", "-D", pg_dir / "data", "-l", pg_dir / "server.log"]
            + ["-w", "-o", options, "start"])  # fmt: skip
        run([bin_dir / "psql", "-h", "127.0.0.1", "-p", port, "-U", "dagster", "-d", "postgres",
             "-c", "create database dagster"])  # fmt: skip
        run(psql_args(port, "dagster", "create table runs (id serial primary key, name text); "
                      "insert into runs (name) values ('kept')"))  # fmt: skip

        converted = run(["bash", LOCAL_POSTGRES, "start", pg_dir, port])
        assert "converting it to password authentication" in converted.stdout
        hba = (pg_dir / "data" / "pg_hba.conf").read_text()
        assert not re.search(r"^[^#]*\btrust\b", hba, re.M), hba
        for user in ("dagster", APP_ROLE):
            refused = subprocess.run(psql_args(port, user), env=env, capture_output=True)
            assert refused.returncode != 0
        app = env | {"PGPASSWORD": (pg_dir / "dagster.pw").read_text().strip()}
        rows = run(
            psql_args(port, APP_ROLE, "insert into runs (name) values ('new'); "
                      "select string_agg(name || ':' || tableowner, ',' order by id) "
                      "from runs, pg_tables where tablename = 'runs'"),
            env=app,
        )  # fmt: skip
        assert rows.stdout.split() == [f"kept:{APP_ROLE},new:{APP_ROLE}"]
        admin = env | {"PGPASSWORD": (pg_dir / "admin.pw").read_text().strip()}
        login = run(psql_args(port, "pgadmin", "select rolcanlogin from pg_roles "
                              "where rolname = 'dagster'"), env=admin)  # fmt: skip
        assert login.stdout.strip() == "f"
        again = run(["bash", LOCAL_POSTGRES, "start", pg_dir, port])
        assert "converting" not in again.stdout
    finally:
        subprocess.run(["bash", LOCAL_POSTGRES, "stop", pg_dir], check=False)
        shutil.rmtree(base, ignore_errors=True)
    assert_nothing_left(base)


@pytest.mark.xdist_group(SCRIPT_GROUP)
def test_ctrl_c_on_the_postgres_part_leaves_nothing_behind():
    """Started with Ctrl-C and kill ignored (as under nohup: a shell cannot trap those), the
    part starts itself again with their default handling, so Ctrl-C still stops PostgreSQL."""
    deployment = new_deployment({})
    deployment.start("postgres", signals_ignored=True)
    proc = deployment.procs.pop("postgres")
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in its terminal: its foreground process group
    # Deadlines, not expectations: PostgreSQL's shutdown on a busy machine takes its time.
    assert proc.wait(timeout=360) == 130, deployment.log("postgres")
    assert_nothing_left(deployment.base)


@pytest.mark.xdist_group(SCRIPT_GROUP)
def test_the_whole_starts_a_dead_code_server_again_and_ctrl_c_stops_everything():
    """`prod-local.sh` with no part: its code server's process group killed, it starts the
    code server again and the webserver gets it; Ctrl-C then stops every part and PostgreSQL."""
    deployment = new_deployment(
        {"COFFEE_START_DATE": LAST.isoformat(), "COFFEE_SCHEDULE_CRON": "0 0 1 1 *"}
    )
    log = open(deployment.base / "all.log", "ab")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=deployment.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def code_server_parts() -> list[psutil.Process]:
        return [p for p in psutil.Process(proc.pid).children() if "code-server" in p.cmdline()]

    try:
        wait_for_new_server(deployment, None, timeout=300)
        before = deployment.server_id()
        [part] = code_server_parts()
        os.killpg(part.pid, signal.SIGKILL)
        wait_for_new_server(deployment, before)
        assert "the code server exited (status 137); starting it again" in deployment.log("all")
        assert [p.pid for p in code_server_parts()] != [part.pid]
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
        assert proc.wait(timeout=360) == 130, deployment.log("all")[-3000:]
    finally:
        stop_group(proc)
    assert_nothing_left(deployment.base)
