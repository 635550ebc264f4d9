"""The small pure helpers the assets are built from, tested fast and alone."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.sql import between, date_literal
from coffee_assets.defs.dbt.assets import dbt_build_args, dbt_vars, window_env
from coffee_assets.defs.dbt.resources import vars_text
from coffee_assets.defs.dbt.translator import is_daily, sources_read
from coffee_assets.defs.raw.quarantine import DayStates
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse

from . import processes


def test_dbt_vars_stay_the_same_and_the_window_goes_in_the_environment(tmp_path):
    """The vars are the same on every run (a changed var makes dbt parse the whole project); the
    window and the days left out are environment variables, every one set on every run."""
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    vars_ = dbt_vars(date(2025, 1, 1), warehouse)
    assert vars_ == {"start_date": "2025-01-01", "duckdb_path": str(tmp_path / "w.duckdb")}
    args = dbt_build_args(vars_)
    assert args[:2] == ["build", "--vars"] and json.loads(args[2]) == vars_
    # No JSON artifacts unless run_results.json is read (BigQuery's job costs).
    assert args[3:] == ["--no-write-json"]
    assert dbt_build_args(vars_, run_results=True)[3:] == []
    states = DayStates(quarantined={date(2025, 3, 3): []}, accepted={date(2025, 3, 9): []})
    assert window_env((date(2025, 3, 1), date(2025, 3, 31)), states) == {
        "COFFEE_DBT_MIN_DATE": "2025-03-01",
        "COFFEE_DBT_MAX_DATE": "2025-03-31",
        "COFFEE_DBT_SKIP_DAYS": "2025-03-03",
        "COFFEE_DBT_ACCEPTED_DAYS": "2025-03-09",
    }
    assert set(window_env(None).values()) == {""}


def test_days_between_includes_both_ends():
    assert days_between(date(2025, 2, 27), date(2025, 3, 1)) == [
        date(2025, 2, 27),
        date(2025, 2, 28),
        date(2025, 3, 1),
    ]
    assert days_between(date(2025, 1, 1), date(2025, 1, 1)) == [date(2025, 1, 1)]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (c.ORDERS.column_names, None),
        ([*c.ORDERS.column_names, "OrderTime"], None),  # extra columns are allowed
        (list(reversed(c.ORDERS.column_names)), None),  # in any order
        (
            [n for n in c.ORDERS.column_names if n != "TotalAmount"],
            "missing column(s) TotalAmount; expected " + ", ".join(c.ORDERS.column_names),
        ),
        (
            [n.replace("SubTotal", "Subtotal") for n in c.ORDERS.column_names],
            "missing column(s) SubTotal; unexpected column(s) Subtotal (renamed?)",
        ),
        ([*c.ORDERS.column_names, "OrderId"], "duplicated column(s) OrderId"),
    ],
    ids=["exact", "extra", "reordered", "missing", "renamed", "duplicated"],
)
def test_header_problem(header, problem):
    found = c.ORDERS.header_problem(header)
    assert found == problem if problem is None else found.startswith(problem)


def test_portable_sql_dates():
    assert date_literal(date(2025, 1, 2)) == "DATE '2025-01-02'"
    assert between("d", date(2025, 1, 1), date(2025, 1, 2)) == (
        "d BETWEEN DATE '2025-01-01' AND DATE '2025-01-02'"
    )
    from datetime import datetime

    for value in (date(2025, 1, 2), datetime(2025, 1, 2, 0, 0), "2025-01-02", "2025-01-02T00:00"):
        assert as_date(value) == date(2025, 1, 2)


def test_daily_models_and_the_sources_they_read():
    manifest = {
        "nodes": {
            "model.p.fact": {"depends_on": {"nodes": ["model.p.stg", "model.p.dim"]}},
            "model.p.stg": {"depends_on": {"nodes": ["source.p.raw.orders"]}},
            "model.p.dim": {"depends_on": {"nodes": ["source.p.raw.stores"]}},
        }
    }
    assert sources_read(manifest, "model.p.fact") == {"source.p.raw.orders", "source.p.raw.stores"}
    incremental = {"resource_type": "model", "config": {"materialized": "incremental"}}
    assert is_daily(incremental)
    assert not is_daily({"resource_type": "model", "config": {"materialized": "view"}})
    assert not is_daily({"resource_type": "test", "config": {"materialized": "incremental"}})


def test_the_vars_of_a_dbt_command_line_are_read_as_given():
    vars_ = json.dumps({"duckdb_path": "/data/w.duckdb"})
    assert vars_text(["build", "--vars", vars_, "--target", "local"]) == vars_
    assert vars_text(["build", "--vars"]) is None
    assert vars_text(["parse"]) is None


def test_test_servers_get_ports_no_outgoing_connection_or_other_worker_can_take(monkeypatch):
    """The tests' own helper: ports come from below the kernel's ephemeral range (so a client's
    source port never takes one between the check and the server's bind) and from one slice per
    xdist worker, each handed out once."""
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    slices = {}
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices[worker] = {processes.free_port() for _ in range(20)}
        assert len(slices[worker]) == 20
        assert all(port < ephemeral_low for port in slices[worker])
    assert not slices["gw0"] & slices["gw1"]
