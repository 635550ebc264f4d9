"""The business layer end to end: ten weeks of the realistic profile with its events (seed 42:
promotions from 23 January and 5 March, a POS outage at Ethiopia Coffee on 22 February, a
price change on 7 March, holidays), real DuckDB, dbt and Dagster runs, and the alerts through
real servers."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.generator import events as ev
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import execute_daily_refresh
from coffee_assets.settings import Settings

from .test_checks import read_csv, tick_all, with_redelivery_job, write_csv

pytestmark = pytest.mark.slow

START = date(2025, 1, 1)
LAST = date(2025, 3, 11)
SEED = 42
CHECK = "store_days_as_usual"


@dataclass
class History:
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    settings = Settings(data_dir=tmp_path_factory.mktemp("business"), start_date=START, seed=SEED)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, LAST, instance=instance)
    return History(settings, defs, instance, result)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == CHECK}


def sql(settings: Settings, query: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return con.sql(query).fetchall()


def test_the_generated_outage_warns_and_nothing_else_does(history):
    """The run succeeds (a WARN does not block); the one failed day is the outage, named with
    its store, day, metric, actual against expected and band; the promotions, holidays and the
    price change are judged and pass."""
    assert history.result.success
    found = evaluations(history.result)
    assert len(found) == (LAST - START).days + 1
    failed = {day: e for day, e in found.items() if not e.passed}
    [outage] = [e for e in ev.outage_days(SEED, START, START, LAST)]
    assert list(failed) == [outage.start.isoformat()]
    warning = failed[outage.start.isoformat()]
    assert warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description.startswith(f"Ethiopia Coffee, {outage.start}, orders: ")
    assert ", expected " in warning.description and "(band " in warning.description
    assert warning.metadata["incidents"].value == f"store 3 since {outage.start}"
    # The numbers the UI plots per partition: actual, expected, band, for each store.
    assert {"Ethiopia Coffee orders", "Ethiopia Coffee orders expected",
            "Ethiopia Coffee orders low", "Ethiopia Coffee orders high",
            "Ethiopia Coffee revenue expected"} <= set(warning.metadata)  # fmt: skip
    actual = warning.metadata["Ethiopia Coffee orders"].value
    assert actual < warning.metadata["Ethiopia Coffee orders low"].value


def test_a_promotion_that_doubles_a_products_sales_does_not_alert(history):
    promotion = next(
        e for e in ev.known_events(SEED, START, LAST) if e.type == "promotion" and e.product_id
    )
    lines = Counter(
        dict(
            sql(
                history.settings,
                f"select order_date >= date '{promotion.start}' and order_date <= "
                f"date '{promotion.end}', count(*) from dbt_models.fact_order_details "
                f"where product_key = md5('{promotion.product_id}') group by 1",
            )
        )
    )
    days = (promotion.end - promotion.start).days + 1
    during, usual = lines[True] / days, lines[False] / ((LAST - START).days + 1 - days)
    assert during > 1.6 * usual  # the promoted product sells about twice as often
    found = evaluations(history.result)
    assert all(found[d.isoformat()].passed for d in _days(promotion.start, promotion.end))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_the_marts_across_a_price_change_equal_the_raw_totals_to_the_cent(history):
    change = next(e for e in ev.known_events(SEED, START, LAST) if e.type == "price_change")
    raw = dict(
        (day, Decimal(str(total)))
        for day, total in sql(
            history.settings,
            "select OrderDate, sum(TotalAmount) from coffee_shop.orders group by 1",
        )
    )
    marts = dict(
        (day, Decimal(str(total)))
        for day, total in sql(
            history.settings,
            "select order_date, sum(total_amount) from dbt_models.flat_order_details group by 1",
        )
    )
    assert marts == raw and change.start in marts
    prices = sql(
        history.settings,
        f"select distinct order_date >= date '{change.start}', price "
        f"from dbt_models.fact_order_details where product_key = md5('{change.product_id}') "
        f"and order_date between date '{change.start - timedelta(days=3)}' "
        f"and date '{change.start + timedelta(days=3)}'",
    )
    before = {p for after, p in prices if not after}
    after = {p for after, p in prices if after}
    assert len(before) == len(after) == 1 and after.pop() > before.pop()


def test_a_store_down_for_days_fails_each_day_and_alerts_once(history, alerting, tmp_path):
    """Brazil Coffee's tills are down on the last two days: each day's check fails naming the
    store, the marts still take the days (a WARN does not block), and the alert goes out once
    for the incident, on every channel, not again on its second day."""
    settings = replace(history.settings, data_dir=tmp_path / "data")
    shutil.copytree(history.settings.data_dir, settings.data_dir)
    defs = with_redelivery_job(build_definitions(settings))
    instance = dg.DagsterInstance.ephemeral()
    cursors = tick_all(defs, instance, alerting, {})
    for day in (LAST - timedelta(days=1), LAST):
        _remove_store(settings, day, store=1)
        result = defs.resolve_job_def("after_upstream_delivery").execute_in_process(
            instance=instance, partition_key=day.isoformat(), raise_on_error=False
        )
        assert result.success
        [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
        assert failed.check_name == CHECK and failed.severity == dg.AssetCheckSeverity.WARN
        assert failed.description.startswith(f"Brazil Coffee, {day}, orders: 0, expected ")
        assert failed.description.endswith(": no orders recorded")
        assert failed.metadata["incidents"].value == f"store 1 since {LAST - timedelta(days=1)}"
        cursors = tick_all(defs, instance, alerting, cursors)
        assert alerting.counts() == (1, 1, 1)  # the incident's first day; not again
    payload = alerting.webhook.requests[0].json()
    assert payload["check"] == CHECK and payload["severity"] == "WARN"
    assert payload["partition"] == (LAST - timedelta(days=1)).isoformat()
    assert f"Brazil Coffee, {LAST - timedelta(days=1)}, orders: 0, expected" in payload["summary"]
    assert sql(
        settings,
        f"select count(*) from dbt_models.flat_order_details where order_date = date '{LAST}' "
        "and store_name = 'Brazil Coffee'",
    ) == [(0,)]


def _remove_store(settings: Settings, day: date, *, store: int) -> None:
    orders_path = settings.bucket_dir / c.bucket_key(c.ORDERS, day.isoformat())
    header, orders = read_csv(orders_path)
    kept = [row for row in orders if row[header.index("StoreId")] != str(store)]
    write_csv(orders_path, header, kept)
    kept_ids = {row[header.index("OrderId")] for row in kept}
    lines_path = settings.bucket_dir / c.bucket_key(c.ORDER_DETAILS, day.isoformat())
    line_header, lines = read_csv(lines_path)
    write_csv(
        lines_path,
        line_header,
        [row for row in lines if row[line_header.index("OrderId")] in kept_ids],
    )
