"""End to end as a user would: `dg dev` on 127.0.0.1, a run launched through GraphQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import psutil
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient
from dagster_graphql.client.utils import DagsterGraphQLClientError

from coffee_assets.operations.books import WORKER_TAG, Worker

from .processes import file_holders, free_port, in_dbt_writing, pause, stop_group

ROOT = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).with_name("dg")
PARTITION = "2025-01-01"  # the history's first day: the initial customers register on it

pytestmark = pytest.mark.slow


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dg dev exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    """A `dg dev` server with its own instance and data folder; stopped afterwards."""
    tmp_path = tmp_path_factory.mktemp("dagster-dev")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COFFEE_DATA_DIR": str(data_dir),
        "COFFEE_START_DATE": "2025-01-01",
        "COFFEE_ORDERS_PER_DAY": "60",
        "VIRTUAL_ENV": str(DG.parent.parent),
    }
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "wb")
    proc = subprocess.Popen(
        [str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the webserver, daemon and code server
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/server_info", proc, timeout=180)
        yield port, data_dir
    finally:
        stop_group(proc)
        log.close()
        print((tmp_path / "dagster-dev.log").read_text(errors="replace")[-3000:])


def wait_for_run(
    client: DagsterGraphQLClient, run_id: str, timeout: float = 420
) -> DagsterRunStatus | None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = client.get_run_status(run_id)
        except DagsterGraphQLClientError:
            status = None
        if status in (
            DagsterRunStatus.SUCCESS,
            DagsterRunStatus.FAILURE,
            DagsterRunStatus.CANCELED,
        ):
            break
        time.sleep(2)
    return status


def failed_checks(data_dir: Path) -> list[str]:
    """The failed check evaluations in dg dev's log (beside the data folder), to say why a run
    failed."""
    log = (data_dir.parent / "dagster-dev.log").read_text(errors="replace")
    return [
        line[:600]
        for line in log.splitlines()
        if "ASSET_CHECK_EVALUATION" in line and "failed" in line
    ]


def graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


def test_daily_refresh_launched_through_graphql(dagster_dev):
    port, data_dir = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("daily_refresh", tags={"dagster/partition": PARTITION})
    status = wait_for_run(client, run_id)
    assert status == DagsterRunStatus.SUCCESS, (
        f"run {run_id} ended as {status}",
        failed_checks(data_dir),
    )

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute("select distinct OrderDate from coffee_shop.orders").fetchall()
        marts = con.execute(
            "select count(*), min(order_date), max(order_date) from dbt_models.flat_order_details"
        ).fetchone()
    assert [str(d) for (d,) in days] == [PARTITION]
    assert marts[0] > 0 and str(marts[1]) == str(marts[2]) == PARTITION


LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""


def test_an_asset_backfill_of_several_days_is_one_run(dagster_dev):
    """What a user launches from the UI: every daily asset, three days -> one run, one dbt call.

    (The unpartitioned reference assets are not part of a date range; Dagster would run them,
    and the models below them, in runs of their own. daily_refresh runs include them.)
    """
    port, data_dir = dagster_dev
    nodes = graphql(
        port,
        "{ assetNodes { assetKey { path } isMaterializable partitionDefinition { type } } }",
        {},
    )["assetNodes"]
    selection = [
        {"path": n["assetKey"]["path"]}
        for n in nodes
        if n["isMaterializable"] and n["partitionDefinition"] is not None
    ]
    assert len(selection) == 3 + 3 + 6  # CSV files, raw tables, incremental dbt models
    days = ["2025-01-02", "2025-01-03", "2025-01-04"]
    launched = graphql(
        port, LAUNCH_BACKFILL, {"params": {"partitionNames": days, "assetSelection": selection}}
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        data = graphql(port, BACKFILL, {"id": backfill_id})
        if data["partitionBackfillOrError"]["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        time.sleep(3)
    runs = data["runsOrError"]["results"]
    assert data["partitionBackfillOrError"]["status"] == "COMPLETED_SUCCESS", data
    assert len(runs) == 1 and runs[0]["status"] == "SUCCESS", runs
    tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
    assert (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    ) == (days[0], days[-1])

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute(
            "select cast(order_date as varchar), count(*) from dbt_models.fact_order_details "
            "group by 1 order by 1"
        ).fetchall()
    assert [d for d, _ in loaded] == [PARTITION, *days]


def test_two_runs_at_once_share_the_duckdb_file(dagster_dev):
    """A scheduled run and a backfill at the same time: the `duckdb` pool (limit 1) lets one
    step at a time open the file, so neither fails on DuckDB's single-writer lock."""
    port, data_dir = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    days = ["2025-01-05", "2025-01-06"]
    run_ids = [
        client.submit_job_execution("daily_refresh", tags={"dagster/partition": day})
        for day in days
    ]
    statuses = [wait_for_run(client, run_id) for run_id in run_ids]
    assert statuses == [DagsterRunStatus.SUCCESS] * 2, failed_checks(data_dir)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute(
            "select distinct cast(order_date as varchar) from dbt_models.fact_order_details "
            "where order_date >= '2025-01-05' order by 1"
        ).fetchall()
    assert [d for (d,) in loaded] == days


def test_a_run_terminated_in_its_dbt_step_is_canceled_and_its_day_runs_again(dagster_dev):
    """Terminate from the UI (GraphQL) while dbt runs on a thread of the run's process
    (operations/dbt_in_process.py): the run ends CANCELED, its process ends and dbt's hold on
    the warehouse with it, and the same day then runs again. The run's process is stopped and
    seen inside its dbt step with the warehouse open, then resumed and terminated at once
    (Dagster's termination goes through the code server to the running process, which must be
    running to take it). Whether the interruption lands before dbt is done, none of what is
    checked depends on it."""
    port, data_dir = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    warehouse = data_dir / "warehouse.duckdb"
    day = "2025-01-09"
    run_id = client.submit_job_execution("daily_refresh", tags={"dagster/partition": day})
    instance = DagsterInstance.from_config(str(data_dir.parent / "dagster_home"))
    try:
        deadline = time.monotonic() + 240
        worker = None
        while worker is None or not step_started(instance, run_id, "coffee_dbt_models"):
            assert time.monotonic() < deadline, "the run never reached its dbt step"
            run = instance.get_run_by_id(run_id)
            worker = Worker.from_tag(run.tags.get(WORKER_TAG, "")) if run else None
            time.sleep(0.05)
        while True:
            assert time.monotonic() < deadline, "the run was never seen in dbt with the file open"
            pause(worker.pid)
            seen = in_dbt_writing(worker.pid, instance, run_id, warehouse)
            os.kill(worker.pid, signal.SIGCONT)
            if seen:
                break
            time.sleep(0.02)
        client.terminate_run(run_id)
        assert wait_for_run(client, run_id, timeout=120) == DagsterRunStatus.CANCELED
        ended = time.monotonic() + 60
        while running(worker.pid):
            assert time.monotonic() < ended, f"the canceled run's process {worker.pid} goes on"
            time.sleep(0.2)
        assert file_holders(warehouse) == []
    finally:
        instance.dispose()
    again = client.submit_job_execution("daily_refresh", tags={"dagster/partition": day})
    assert wait_for_run(client, again) == DagsterRunStatus.SUCCESS, failed_checks(data_dir)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def step_started(instance: DagsterInstance, run_id: str, step: str) -> bool:
    return any(
        e.step_key == step for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    )
