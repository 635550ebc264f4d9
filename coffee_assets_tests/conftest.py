"""Shared fixtures: a real pipeline built in a temporary COFFEE_DATA_DIR."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import execute_daily_refresh
from coffee_assets.settings import Settings

from .alert_servers import AlertServers, start_alert_servers
from .gcp_fixtures import gcp_emulators  # noqa: F401 (the emulators' fixture, for every module)

# As the scripts run Dagster (README, "Instance settings"): one planned-materialization event per
# asset and run, not per asset and partition.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
# The environment's executables (dbt, dg, dagster) first, also when pytest is run directly.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

# The order pytest-xdist hands the groups out in (scripts/test.sh runs three workers and keeps this
# order: --no-loadscope-reorder): the longest first, so that short groups fill the gaps at the end
# instead of a long one starting last. A group is what xdist names it: its tests' xdist_group
# marks, sorted and joined by "_" (a test without one is its module's group, below). Each worker
# takes two groups up front, in turn (with three workers: the first and fourth go to one).
# Measured (a clean clone's junit, seconds of test time of each group with three workers on this
# 2-core machine, 2026-12-07).
LONGEST_FIRST = (
    "deployment",  # test_production's deployment, test_concurrency's guard: 437
    "test_crashes",  # 340
    "gcp-deployment",  # test_gcp_deployment.py: 325 (since: one daily_refresh fewer, ~270)
    "test_dagster_dev",  # 221
    "test_quarantine",  # 211
    "test_gcp",  # 144
    "test_business",  # 114
    "test_image_build",  # 112
    "test_windowed",  # 86
    "deployment_script",  # test_production's tests of prod-local.sh on its own: 80
    "test_definitions",  # 73
    "test_static",  # 72
    "test_checks",  # 70
    "test_pipeline",  # 59
    "test_reports_browser",  # 44
    "test_import",  # 32
    "test_customer_state",  # 31
)


def module_name(item: pytest.Item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1]


def xdist_group_of(item: pytest.Item) -> str:
    """The group pytest-xdist gives the test (as xdist/remote.py names it)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each module one unit of work for pytest-xdist's loadgroup (which otherwise hands out
    every ungrouped test on its own): a module's fixtures are built once, on one worker, and
    its tests run in their order there. The longest groups first."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(module_name(item)))
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(xdist_group_of(item), len(rank)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under `--dist loadgroup`, pytest-xdist marks a grouped test by a suffix of its node id
    (`...@deployment`) and sends each suffix to one worker. Should a pytest or xdist upgrade
    stop that (pytest 9.2 did), grouped tests would run on both workers at once: refuse."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist's --dist loadgroup did not group {len(lost)} test(s) (e.g. "
            f"{lost[0]}): this pytest and pytest-xdist do not work together; see the pytest "
            "pin in pyproject.toml"
        )


START = date(2025, 1, 1)
DAGSTER_URL = "http://dagster.example:3000"  # the alerts' run links (the `alerting` fixture)
ODD_FOLDER = 'it\'s a "shop" folder, $HOME & all'
DAYS = 3
LAST = START + timedelta(days=DAYS - 1)


@dataclass
class Pipeline:
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult

    def csv_rows(self, table: c.TableContract) -> list[dict[str, str]]:
        """Every row of a table's CSV files in the bucket folder, as text."""
        root = self.settings.bucket_dir / CSV_PREFIX
        if table.partitioned:
            paths = [
                root / table.object_key((START + timedelta(days=i)).isoformat())
                for i in range(DAYS)
            ]
        else:
            paths = [root / table.object_key()]
        rows: list[dict[str, str]] = []
        for path in paths:
            with open(path, newline="") as handle:
                rows.extend(csv.DictReader(handle))
        return rows

    def sql(self, query: str) -> list[tuple]:
        # Read-write like the run's own connections: DuckDB refuses to mix configurations for
        # one file in one process (dbt's adapter in this process may still hold it).
        with duckdb.connect(str(self.settings.duckdb_path)) as con:
            return con.sql(query).fetchall()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every table of the warehouse (raw and dbt; not the views over them), rows sorted."""
        with duckdb.connect(str(self.settings.duckdb_path)) as con:
            tables = con.sql(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('coffee_shop', 'dbt_models') "
                "and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
            return {
                t: sorted(con.sql(f"select * from {t}").fetchall(), key=repr) for (t,) in tables
            }


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Pipeline:
    """daily_refresh for START...LAST as one run, on real DuckDB and real dbt, in a data folder
    whose path holds what paths hold in the wild (spaces, quotes, a `$`): files, DuckDB and dbt
    must all find the same place."""
    data_dir = tmp_path_factory.mktemp("coffee-data") / ODD_FOLDER
    settings = Settings(data_dir=data_dir, start_date=START, seed=11)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, LAST, instance=instance)
    return Pipeline(settings, defs, instance, result)


@pytest.fixture(scope="module")
def servers():
    """A webhook receiver, an SMTP server and a Slack API stand-in on 127.0.0.1."""
    started = start_alert_servers()
    yield started
    started.stop()


@pytest.fixture
def alerting(servers, monkeypatch) -> AlertServers:
    """Every channel enabled through its public environment variables."""
    servers.clear()
    env = {
        "COFFEE_ALERT_WEBHOOK_URL": servers.webhook.url + "hooks/coffee",
        "COFFEE_SMTP_HOST": "127.0.0.1",
        "COFFEE_SMTP_PORT": str(servers.smtp.port),
        "COFFEE_SMTP_TLS": "none",
        "COFFEE_ALERT_EMAIL_FROM": "dagster@coffee.example",
        "COFFEE_ALERT_EMAIL_TO": "data-team@coffee.example, oncall@coffee.example",
        "COFFEE_SLACK_TOKEN": "xoxb-test-token",
        "COFFEE_SLACK_CHANNEL": "#coffee-alerts",
        "COFFEE_DAGSTER_URL": DAGSTER_URL,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return servers
