"""agg_customers carried on day by day equals agg_customers rebuilt from the whole history, and so
does flat_customer_metrics built on it: on a generated history of more than 180 days (so days
leave the recent-orders window), through a re-run of an old day, and after a build that stopped
between replacing an old day's rollup and carrying the customers on (a crash). Real generator,
real raw loads, real dbt on DuckDB: the dbt runs a daily run makes, without Dagster around them."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.dates import days_between
from coffee_assets.core.generator.core import generate_day, reference_tables_for
from coffee_assets.core.generator.writer import to_csv_bytes
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.dbt.assets import dbt_vars, window_env
from coffee_assets.defs.dbt.resources import dbt_cli_resource
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.platform.storage import LocalFolderBucket
from coffee_assets.settings import Settings

pytestmark = pytest.mark.slow

START = date(2025, 1, 1)
LAST = START + timedelta(days=199)
COMPARED = ("dbt_models.agg_customers", "dbt_models.flat_customer_metrics")
CARRIED_ON = "previous as ("  # the carry-on's SQL (models/marts/reporting/agg_customers.sql)


@dataclass
class Warehouse:
    path: Path
    folder: Path
    bucket: LocalFolderBucket

    def load(self, first: date, last: date) -> None:
        """The raw tables receive these days' files, as the daily runs' raw loads would."""
        warehouse = DuckDBWarehouse(path=str(self.path))
        for table in c.DAILY_TABLES:
            warehouse.load_days(
                table,
                {
                    day: self.bucket.uri(c.bucket_key(table, day.isoformat()))
                    for day in days_between(first, last)
                },
            )

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.sql(query).fetchall()

    def dbt_run(
        self, window: tuple[date, date], *args: str, select: str = "+flat_customer_metrics"
    ) -> str:
        """`dbt run` of the window as a daily run makes it (of the customer metrics and what
        they are built from); the agg_customers SQL it ran."""
        vars_ = dbt_vars(START, DuckDBWarehouse(path=str(self.path)))
        target = self.folder / f"target-{window[0]}-{window[1]}-{len(list(self.folder.iterdir()))}"
        invocation = dbt_cli_resource("local").cli(
            ["run", "--vars", json.dumps(vars_), "--select", select, *args],
            target_path=target,
            environment=window_env(window),
        )
        invocation.wait()
        assert invocation.is_successful(), invocation.get_error()
        ran = list(target.rglob("run/**/agg_customers.sql"))
        return ran[0].read_text() if ran else ""

    def rebuilt(self, window: tuple[date, date]) -> dict[str, list[tuple]]:
        """The two tables as a rebuild from the whole rollup makes them, on a copy."""
        copy = Warehouse(self.folder / f"rebuild-{len(list(self.folder.iterdir()))}.duckdb",
                         self.folder, self.bucket)  # fmt: skip
        shutil.copyfile(self.path, copy.path)
        sql = copy.dbt_run(window, "--full-refresh", select="agg_customers flat_customer_metrics")
        assert CARRIED_ON not in sql
        return copy.tables()

    def tables(self) -> dict[str, list[tuple]]:
        return {table: self.sql(f"select * from {table} order by all") for table in COMPARED}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Warehouse:
    """200 days of a small chain as CSV files in the bucket; the raw tables in DuckDB hold the
    reference tables and no day yet (each test loads the days as it goes)."""
    folder = tmp_path_factory.mktemp("customer-state")
    settings = Settings(data_dir=folder / "data", start_date=START, seed=7, orders_per_day=25)
    bucket = LocalFolderBucket(root=str(settings.bucket_dir))
    warehouse = DuckDBWarehouse(path=str(settings.duckdb_path))
    config = build_definitions(settings).resources["generator"].config()
    days = days_between(START, LAST)
    for day in days:
        data = generate_day(config, day)
        for table in c.DAILY_TABLES:
            key = c.bucket_key(table, day.isoformat())
            bucket.write_bytes(key, to_csv_bytes(getattr(data, table.table)))
    reference = reference_tables_for(config, LAST)
    for table in c.REFERENCE_TABLES:
        bucket.write_bytes(c.bucket_key(table), to_csv_bytes(reference[table.table]))
        warehouse.load_reference(table, bucket.uri(c.bucket_key(table)))
    runs = folder / "runs"
    runs.mkdir()
    return Warehouse(settings.duckdb_path, runs, bucket)


def day(n: int) -> date:
    return START + timedelta(days=n)


def copy_of(history: Warehouse, folder: Path) -> Warehouse:
    copy = Warehouse(folder / "warehouse.duckdb", folder, history.bucket)
    shutil.copyfile(history.path, copy.path)
    return copy


def test_customers_carried_on_by_day_equal_their_rebuild(history, tmp_path):
    built = copy_of(history, tmp_path)
    # The first build: everything up to day 170, rebuilt (there is nothing to carry on).
    built.load(day(0), day(170))
    assert CARRIED_ON not in built.dbt_run((day(0), day(170)))
    # Carried on: days 171-185 (days 0-4 leave the 180-day window), then day 186 alone.
    for window in [(day(171), day(185)), (day(186), day(186))]:
        built.load(*window)
        assert CARRIED_ON in built.dbt_run(window)
        assert built.tables() == built.rebuilt(window), window
    recent = built.sql(
        "select sum(orders_past_180_days), sum(orders_all_time) from dbt_models.agg_customers"
    )[0]
    assert 0 < recent[0] < recent[1]  # some orders have left the window: it was exercised
    assert built.sql("select count(*) from dbt_models.agg_customer_days_changes") == [(0,)]

    # A re-run of an old day changes what the customers counted: rebuilt, not carried on.
    assert CARRIED_ON not in built.dbt_run((day(100), day(100)))
    built.load(day(187), day(190))
    assert CARRIED_ON in built.dbt_run((day(187), day(190)))
    assert built.tables() == built.rebuilt((day(187), day(190)))


def test_an_old_day_replaced_by_a_build_that_stopped_before_the_customers_is_not_missed(
    history, tmp_path
):
    """A repaired old day (a registered customer's orders of day 50 removed from the raw
    tables) goes through the rollups, and the build stops before agg_customers (as a crash
    would): the change is pending, and the next day's build rebuilds instead of carrying on."""
    built = copy_of(history, tmp_path)
    built.load(day(0), day(190))
    built.dbt_run((day(0), day(190)))
    [(customer, orders)] = built.sql(
        f"select CustomerId, count(*) from coffee_shop.orders where OrderDate = '{day(50)}' "
        "and CustomerId is not null group by 1 order by 2 desc, 1 limit 1"
    )
    built.sql(
        f"delete from coffee_shop.order_details where OrderId in (select OrderId from "
        f"coffee_shop.orders where OrderDate = '{day(50)}' and CustomerId = {customer}); "
        f"delete from coffee_shop.orders where OrderDate = '{day(50)}' "
        f"and CustomerId = {customer}"
    )
    built.dbt_run((day(50), day(50)), select="+agg_customer_days")
    assert built.sql(
        "select cast(changed_from as varchar) from dbt_models.agg_customer_days_changes"
    ) == [(str(day(50)),)]
    orders_of = (
        "select orders_all_time from dbt_models.flat_customer_metrics "
        f"where customer_id = {customer}"
    )
    [(orders_before,)] = built.sql(orders_of)
    built.load(day(191), day(191))
    assert CARRIED_ON not in built.dbt_run((day(191), day(191)))
    assert built.tables() == built.rebuilt((day(191), day(191)))
    [(orders_after,)] = built.sql(orders_of)
    new_orders = built.sql(
        f"select count(*) from coffee_shop.orders where OrderDate = '{day(191)}' "
        f"and CustomerId = {customer}"
    )[0][0]
    assert orders_after == orders_before - orders + new_orders
    assert built.sql("select count(*) from dbt_models.agg_customer_days_changes") == [(0,)]
