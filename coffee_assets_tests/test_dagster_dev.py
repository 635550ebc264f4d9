"""End to end as a user would: `dagster dev` on 127.0.0.1, a run launched through GraphQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
from dagster_graphql import DagsterGraphQLClient
from dagster_graphql.client.utils import DagsterGraphQLClientError

from dagster import DagsterRunStatus

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = Path(sys.executable).with_name("dagster")
PARTITION = "2025-01-01"  # the history's first day: the initial customers register on it

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def dagster_dev(tmp_path):
    """A `dagster dev` server with its own instance and data folder; stopped afterwards."""
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
    }
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "wb")
    proc = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
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
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        print((tmp_path / "dagster-dev.log").read_text(errors="replace")[-3000:])


def test_daily_refresh_launched_through_graphql(dagster_dev):
    port, data_dir = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("daily_refresh", tags={"dagster/partition": PARTITION})

    deadline = time.monotonic() + 420
    status = None
    while time.monotonic() < deadline:
        try:
            status = client.get_run_status(run_id)
        except DagsterGraphQLClientError:
            status = None
        if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            break
        time.sleep(2)
    assert status == DagsterRunStatus.SUCCESS, f"run {run_id} ended as {status}"

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute("select distinct OrderDate from coffee_shop.orders").fetchall()
        marts = con.execute(
            "select count(*), min(order_date), max(order_date) from dbt_models.flat_order_details"
        ).fetchone()
    assert [str(d) for (d,) in days] == [PARTITION]
    assert marts[0] > 0 and str(marts[1]) == str(marts[2]) == PARTITION
