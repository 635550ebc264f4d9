"""A day's run reads its days, not the history (docs/performance.md): dbt's data tests and the
raw tables' key checks scoped to the run's window, a run of one partition windowed like a range,
and the weekly whole-table pass that finds what no window can. Real DuckDB, dbt and Dagster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from coffee_assets.core.project import DBT_PROJECT_DIR
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.dbt.assets import dbt_build_args, dbt_vars, window_env
from coffee_assets.defs.dbt.resources import dbt_cli_resource, dbt_executable
from coffee_assets.defs.schedules.jobs import WHOLE_TABLE_TESTS, execute_daily_refresh
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.settings import Settings

pytestmark = pytest.mark.slow

START = date(2025, 1, 1)
DAYS = [START + timedelta(days=i) for i in range(4)]
FACT = "dbt_models.fact_order_details"


@dataclass
class History:
    settings: Settings
    defs: dg.Definitions

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.duckdb_path)) as con:
            return con.sql(query).fetchall()

    def copy(self, folder: Path) -> History:
        settings = self.settings.model_copy(update={"data_dir": folder / "data"})
        shutil.copytree(self.settings.data_dir, settings.data_dir)
        return History(settings, build_definitions(settings))


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    """Four days, one run, on a small volume."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("windowed") / "data",
        start_date=START,
        seed=5,
        orders_per_day=60,
    )
    defs = build_definitions(settings)
    result = execute_daily_refresh(defs, DAYS[0], DAYS[-1], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return History(settings, defs)


def dbt_test(history: History, tmp_path: Path, window: tuple[date, date] | None) -> str:
    """`dbt test` of fact_order_details as a run would (its window as vars), its output."""
    vars_ = {"start_date": START.isoformat(), "duckdb_path": str(history.settings.duckdb_path)}
    if window:
        vars_ |= {"min_date": window[0].isoformat(), "max_date": window[1].isoformat()}
    result = subprocess.run(
        [dbt_executable(), "--no-use-colors", "test", "--select", "fact_order_details", "--exclude",
         "test_type:unit", "--vars", json.dumps(vars_)],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "DBT_TARGET_PATH": str(tmp_path), "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    return result.stdout


def test_a_days_tests_read_its_days_and_still_fail_a_bad_one(history, tmp_path):
    """A line repeated on day 2 (same key, same day): the tests of a run of day 2 fail naming
    the test, a run of day 3's pass (they never read day 2), and the whole table fails."""
    bad = history.copy(tmp_path)
    bad.sql(f"insert into {FACT} select * from {FACT} where order_date = '{DAYS[1]}' limit 1")
    assert bad.sql(
        f"select count(*) - count(distinct order_detail_key) from {FACT} "
        f"where order_date = '{DAYS[1]}'"
    ) == [(1,)]
    failed = "FAIL 1 unique_fact_order_details_order_detail_key"
    assert failed in dbt_test(bad, tmp_path / "day2", (DAYS[1], DAYS[1]))
    out = dbt_test(bad, tmp_path / "day3", (DAYS[2], DAYS[2]))
    assert "Done. PASS=13 WARN=0 ERROR=0" in out, out[-2000:]
    assert failed in dbt_test(bad, tmp_path / "all", None)
    # What the scoped test reads: the window's rows only (dbt's where, macros/test_window.sql).
    compiled = next((tmp_path / "day3").rglob("unique_fact_order_details_order_detail_key*.sql"))
    text = compiled.read_text()
    assert f"where order_date between cast('{DAYS[2]}' as date) and cast('{DAYS[2]}' as date)" in (
        text
    )


def test_a_run_of_one_partition_builds_and_tests_its_day_only(history, tmp_path):
    """`dg launch --partition`, a partition materialized from the UI: dbt gets that day as its
    window (before, no window: every incremental model rebuilt from the whole history)."""
    copy = history.copy(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    result = copy.defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance, partition_key=DAYS[-1].isoformat()
    )
    assert result.success
    logs = [r.user_message for r in instance.all_logs(result.run_id) if r.user_message]
    [vars_line] = [m for m in logs if m.startswith("dbt build with vars")]
    assert (
        f"window {{'COFFEE_DBT_MIN_DATE': '{DAYS[-1]}', 'COFFEE_DBT_MAX_DATE': '{DAYS[-1]}'}}"
        in vars_line
    )
    fact = dg.AssetKey(["dbt_models", "fact_order_details"])
    partitions = {
        m.partition for m in result.asset_materializations_for_node("coffee_dbt_models")
        if m.asset_key == fact
    }  # fmt: skip
    assert partitions == {DAYS[-1].isoformat()}
    assert copy.sql(f"select count(distinct order_date) from {FACT}") == [(len(DAYS),)]


def test_the_whole_table_pass_finds_keys_repeated_across_days(history, tmp_path):
    """A raw order and a fact line copied from day 1 onto day 3 (the same ids): the next day's
    run passes (its tests read its own days), the weekly whole-table job fails both checks,
    naming the key and the days it is on."""
    bad = history.copy(tmp_path)
    bad.sql(
        f"insert into coffee_shop.orders select * replace (date '{DAYS[2]}' as OrderDate) "
        f"from coffee_shop.orders where OrderDate = '{DAYS[0]}' order by OrderId limit 1"
    )
    bad.sql(
        f"insert into {FACT} select * replace (date '{DAYS[2]}' as order_date) from {FACT} "
        f"where order_date = '{DAYS[0]}' order by order_detail_id limit 1"
    )
    [(order_id,)] = bad.sql(
        f"select min(OrderId) from coffee_shop.orders where OrderDate = '{DAYS[0]}'"
    )
    instance = dg.DagsterInstance.ephemeral()
    day = bad.defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance, partition_key=DAYS[-1].isoformat(), raise_on_error=False
    )
    assert day.success
    assert [e for e in day.get_asset_check_evaluations() if not e.passed] == []

    whole = bad.defs.resolve_job_def(WHOLE_TABLE_TESTS).execute_in_process(
        instance=instance, raise_on_error=False
    )
    failed = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in whole.get_asset_check_evaluations()
        if not e.passed
    }
    assert set(failed) == {
        ("coffee_shop/orders", "unique_key"),
        ("dbt_models/fact_order_details", "unique_fact_order_details_order_detail_key"),
        # what the repeated order does downstream: dim_order (a view over the raw orders)
        # repeats it, and the copied order no longer matches its lines
        ("dbt_models/dim_order", "unique_dim_order_order_key"),
        ("dbt_models/fact_order_details", "assert_order_lines_add_up_to_order"),
    }
    raw = failed[("coffee_shop/orders", "unique_key")]
    assert raw.description == "1 duplicated OrderId value(s)"
    assert raw.metadata["scope"].value == "the whole table"
    shown = raw.metadata["sample"].value
    assert str(order_id) in shown and str(DAYS[0]) in shown and str(DAYS[2]) in shown


def test_the_rollups_equal_the_line_level_answers(history):
    """What the reports and the customer metrics read instead of the order lines: revenue and
    orders per store-day equal the raw orders' (to the cent), and each customer's metrics equal
    those summed from every order line."""
    by_store_day = history.sql(
        "select order_date, store_id, sum(orders), sum(revenue) "
        "from dbt_models.agg_store_days group by all order by all"
    )
    raw = history.sql(
        "select OrderDate, StoreId, count(*), sum(TotalAmount) "
        "from coffee_shop.orders group by all order by all"
    )
    assert by_store_day == raw and len(raw) >= len(DAYS) * 5
    from_lines = history.sql(
        """
        select customer_id, count(distinct order_key), sum(total_amount), max(order_date)
        from dbt_models.flat_order_details where is_registered_customer
        group by all order by all
        """
    )
    metrics = history.sql(
        "select customer_id, orders_all_time, ltv, last_order_date "
        "from dbt_models.flat_customer_metrics order by all"
    )
    assert metrics == from_lines and len(metrics) > 20
    categories = history.sql(
        "select product_category, sum(items), sum(revenue) "
        "from dbt_models.agg_store_day_categories group by all order by all"
    )
    assert categories == history.sql(
        "select product_category, sum(quantity), sum(total_amount) "
        "from dbt_models.flat_order_details group by all order by all"
    )
    assert history.sql("select sum(orders) from dbt_models.agg_store_day_mixes") == history.sql(
        "select count(*) from coffee_shop.orders"
    )


def test_a_new_window_keeps_dbts_parse_of_the_project(history, tmp_path):
    """The window goes in dbt's environment and the vars stay the same from run to run, so the
    next invocation, on another day, starts from the last one's parse of the project: dbt parses
    no file again (a changed var made it parse all of them, seconds per run), and the SQL it runs
    still replaces the new window's days."""
    copy = history.copy(tmp_path)
    resource = dbt_cli_resource("local")
    warehouse = DuckDBWarehouse(path=str(copy.settings.duckdb_path))
    vars_ = dbt_build_args(dbt_vars(START, warehouse))[1:3]  # --vars and its JSON
    args = ["compile", "--select", "fact_order_details", *vars_]
    compiled = "compiled/coffee_dbt/models/marts/core/fact_order_details.sql"
    parsed = {}
    for day in DAYS[1:3]:
        target = tmp_path / f"target-{day}"
        invocation = resource.cli(args, target_path=target, environment=window_env((day, day)))
        invocation.wait()
        assert invocation.is_successful()
        resource.keep_parse(invocation)
        parsed[day] = [
            message
            for message in (json.loads(line)["info"]["msg"] for line in open(target / "dbt.log"))
            if "partial parsing" in message
        ]
        window = f"between cast('{day}' as date) and cast('{day}' as date)"
        assert window in (target / compiled).read_text()
    assert "Unable to do partial parsing" in " ".join(parsed[DAYS[1]]), parsed
    assert parsed[DAYS[2]] == ["Nothing changed, skipping partial parsing."], parsed
    assert resource.parse_cache(args).exists()
