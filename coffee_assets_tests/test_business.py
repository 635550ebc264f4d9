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

from coffee_assets.core import anomalies as a
from coffee_assets.core import contract as c
from coffee_assets.core import verdict_table as vt
from coffee_assets.core.generator import events as ev
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.business import verdicts
from coffee_assets.defs.business.checks import judge_days, price_moves, stores
from coffee_assets.defs.schedules.jobs import execute_daily_refresh, partition_range_tags
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
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


def _normalized(verdicts: list[a.DayVerdict]) -> list[a.DayVerdict]:
    return [
        replace(v, judgements=sorted(v.judgements, key=lambda j: (j.store_id, j.metric)))
        for v in verdicts
    ]


def test_the_verdict_table_holds_exactly_what_the_check_judged(history):
    """store_day_verdicts, written from the run's store_days_as_usual evaluations: every day of
    the run, each judgement as the judge made it (the raw tables judged again here give the
    same), one CSV a day in the bucket; its failed rows are the outage's."""
    warehouse = DuckDBWarehouse(path=str(history.settings.duckdb_path))
    days = _days(START, LAST)
    table = verdicts.read(warehouse, days)
    judged = judge_days(
        warehouse, START, LAST, stores(warehouse), HolidayCalendar("UA"), price_moves(warehouse)
    )
    assert _normalized(table) == _normalized([v for v in judged if v.day >= START])
    [outage] = ev.outage_days(SEED, START, START, LAST)
    failed = sql(
        history.settings,
        "select OrderDate, StoreId, Metric, Text from coffee_shop.store_day_verdicts "
        "where Failed order by all",
    )
    assert {(day, store) for day, store, _, _ in failed} == {(outage.start, 3)}
    assert all(text.startswith(f"Ethiopia Coffee, {outage.start}, ") for *_, text in failed)
    [materialization] = history.result.asset_materializations_for_node(
        "coffee_shop__store_day_verdicts"
    )
    metadata = materialization.metadata
    assert metadata["failed_judgements"].value == len(failed)
    assert metadata["dagster/row_count"].value == sum(len(v.judgements) for v in table)
    assert metadata["days"].value == f"{START}...{LAST}"
    written = history.settings.bucket_dir / vt.object_key(outage.start.isoformat())
    assert written.read_text().startswith(",".join(vt.VERDICTS.column_names) + "\n")


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
    settings = history.settings.model_copy(update={"data_dir": tmp_path / "data"})
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
        words = ": no orders recorded"
        if day == LAST:  # the incident's second day, judged by the store's days before it
            words += f" [against its days before the incident since {LAST - timedelta(days=1)}]"
        assert failed.description.endswith(words)
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


WRONG_DAY = date(2025, 3, 4)  # a Tuesday no event touches (the Matcha promotion starts next day)


def _price_entered_wrong(settings: Settings, day: date) -> tuple[str, int, int]:
    """The day's best seller costs ten times its price on `day` only, as a till with a price
    entered wrong charges it: the price list says so (its entry for the day, and the entry
    putting it back), and the day's orders carry it (SubTotal, discount and total recomputed
    as the contract computes them, so every raw rule still holds). Returns the product's name
    and the two entries' ids."""
    [(product, name, price)] = sql(
        settings,
        f"select l.ProductId, p.ProductName, coalesce(pp.Price, p.Price) "
        f"from coffee_shop.order_details l join coffee_shop.products p using (ProductId) "
        f"left join coffee_shop.product_prices pp on pp.ProductId = l.ProductId "
        f"and date '{day}' between pp.ValidFrom and coalesce(pp.ValidTo, date '{day}') "
        f"where l.OrderDate = date '{day}' group by all order by sum(l.Quantity) desc limit 1",
    )
    prices_path = settings.bucket_dir / c.bucket_key(c.PRODUCT_PRICES)
    header, rows = read_csv(prices_path)
    col = {name: i for i, name in enumerate(header)}
    [entry] = [
        r
        for r in rows
        if int(r[col["ProductId"]]) == product
        and r[col["ValidFrom"]] <= day.isoformat() <= (r[col["ValidTo"]] or "9999")
    ]
    wrong_id, back_id = (max(int(r[col["PriceId"]]) for r in rows) + i for i in (1, 2))
    wrong = list(entry)
    wrong[col["PriceId"]], wrong[col["Price"]] = str(wrong_id), f"{price * 10:.2f}"
    wrong[col["ValidFrom"]] = wrong[col["ValidTo"]] = day.isoformat()
    back = list(entry)
    back[col["PriceId"]], back[col["ValidFrom"]] = str(back_id), (day + timedelta(1)).isoformat()
    entry[col["ValidTo"]] = (day - timedelta(days=1)).isoformat()
    write_csv(prices_path, header, [*rows, wrong, back])

    extra = f"9 * q.quantity * {price}"
    new = dict(
        (str(order), (sub, discount))
        for order, sub, discount in sql(
            settings,
            f"select o.OrderId, cast(round((o.SubTotal + {extra}) * 100) as integer), "
            f"cast(round((o.SubTotal + {extra}) * coalesce(cu.LevelOfDiscount, 0) * 100) "
            f"as integer) from coffee_shop.orders o join (select OrderId, sum(Quantity) as "
            f"quantity from coffee_shop.order_details where OrderDate = date '{day}' and "
            f"ProductId = {product} group by 1) q using (OrderId) left join "
            f"coffee_shop.customers cu on cu.CustomerId = o.CustomerId",
        )
    )
    orders_path = settings.bucket_dir / c.bucket_key(c.ORDERS, day.isoformat())
    header, orders = read_csv(orders_path)
    col = {name: i for i, name in enumerate(header)}
    for row in orders:
        if row[col["OrderId"]] in new:
            sub, discount = new[row[col["OrderId"]]]
            row[col["SubTotal"]] = f"{sub / 100:.2f}"
            row[col["DiscountAmount"]] = f"{discount / 100:.2f}"
            row[col["TotalAmount"]] = f"{(sub - discount) / 100:.2f}"
    write_csv(orders_path, header, orders)
    return str(name), wrong_id, back_id


def test_a_price_entered_wrong_warns_on_the_price_list_and_is_named_as_the_days_cause(
    history, tmp_path
):
    """The best seller at ten times its price for a day, with no events file (imported data):
    the price list's check warns naming both entries (each an incident); the store-day check
    fails the day's revenue and names the entry as the probable cause, and says no business
    calendar explained the day. The run still succeeds: both are WARN."""
    settings = history.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(history.settings.data_dir, settings.data_dir)
    events_path = settings.bucket_dir / c.bucket_key(c.BUSINESS_EVENTS)
    header, _ = read_csv(events_path)
    write_csv(events_path, header, [])
    product, wrong_id, back_id = _price_entered_wrong(settings, WRONG_DAY)

    defs = with_redelivery_job(build_definitions(settings))
    result = defs.resolve_job_def("after_upstream_delivery").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=WRONG_DAY.isoformat(),
        raise_on_error=False,
    )
    assert result.success
    found = {e.check_name: e for e in result.get_asset_check_evaluations()}
    prices = found["price_list_moves"]
    assert not prices.passed and prices.severity == dg.AssetCheckSeverity.WARN
    assert prices.description.startswith("2 price list entries moved more than 50%: ")
    assert f"{product} " in prices.description and " (+900%) from 2025-03-04 " in prices.description
    assert prices.metadata["incidents"].value == (
        f"price list entry {wrong_id}, price list entry {back_id}"
    )
    assert prices.metadata["moves_beyond_limit"].value == 2
    day = found[CHECK]
    assert not day.passed and day.severity == dg.AssetCheckSeverity.WARN
    assert ", revenue: " in day.description
    assert f"Probably: a price list entry that moved more than half: {product} " in day.description
    assert f"(price list entry {wrong_id})" in day.description
    assert day.description.endswith(
        "No business calendar explained it (Events.csv lists no event): judged with the public "
        "holidays of UA and the price list's changes and promotions only"
    )
    assert "likely causes" in day.metadata
    # Every raw rule still holds: the orders carry the price the list says.
    assert all(e.passed for e in found.values() if e.check_name == "daily_rules")


def _thin_store(settings: Settings, day: date, *, store: int, kept: float) -> None:
    """Only `kept` of the store's orders of the day (and their lines) stay in the files."""
    orders_path = settings.bucket_dir / c.bucket_key(c.ORDERS, day.isoformat())
    header, orders = read_csv(orders_path)
    col = header.index("StoreId")
    at_store = [row for row in orders if row[col] == str(store)]
    dropped = {row[header.index("OrderId")] for row in at_store[round(len(at_store) * kept) :]}
    kept_rows = [row for row in orders if row[header.index("OrderId")] not in dropped]
    write_csv(orders_path, header, kept_rows)
    lines_path = settings.bucket_dir / c.bucket_key(c.ORDER_DETAILS, day.isoformat())
    line_header, lines = read_csv(lines_path)
    order = line_header.index("OrderId")
    write_csv(lines_path, line_header, [row for row in lines if row[order] not in dropped])


LOW_DAYS = [date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 4)]  # Sunday to Tuesday


def test_a_store_that_sells_less_for_days_is_one_incident_until_it_is_back(
    history, alerting, tmp_path
):
    """Brazil Coffee records 40 % of its orders three days running, then is back: the three
    days fail as one incident (named by its first day, the later days judged against the
    store's days before it) and are announced once; the day it is back passes saying the
    incident ended, and the end is announced once ("resolved"), on every channel."""
    settings = history.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(history.settings.data_dir, settings.data_dir)
    defs = with_redelivery_job(build_definitions(settings))
    instance = dg.DagsterInstance.ephemeral()
    cursors = tick_all(defs, instance, alerting, {})
    for day in LOW_DAYS:
        _thin_store(settings, day, store=1, kept=0.4)
    job = defs.resolve_job_def("after_upstream_delivery")
    result = job.execute_in_process(
        instance=instance, tags=partition_range_tags(LOW_DAYS[0], LOW_DAYS[-1])
    )
    assert result.success
    failed = {e.partition: e for e in result.get_asset_check_evaluations() if not e.passed}
    assert sorted(failed) == [d.isoformat() for d in LOW_DAYS]
    for day in LOW_DAYS:
        evaluation = failed[day.isoformat()]
        assert evaluation.check_name == CHECK
        assert evaluation.description.startswith(f"Brazil Coffee, {day}, orders: ")
        assert evaluation.metadata["incidents"].value == f"store 1 since {LOW_DAYS[0]}"
        if day != LOW_DAYS[0]:
            assert f"against its days before the incident since {LOW_DAYS[0]}" in (
                evaluation.description
            )
    cursors = tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (1, 1, 1)  # one incident, three days

    back = LOW_DAYS[-1] + timedelta(days=1)
    result = job.execute_in_process(instance=instance, partition_key=back.isoformat())
    [day] = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK]
    assert day.passed
    assert day.description == (
        f"every store's day as usual on {back}; Brazil Coffee back to its usual (the incident "
        f"store 1 since {LOW_DAYS[0]}, 3 day(s))"
    )
    assert day.metadata["incidents ended"].value == f"store 1 since {LOW_DAYS[0]}"
    cursors = tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (2, 2, 2)
    ended = alerting.webhook.requests[1].json()
    assert ended["kind"] == "resolved" and ended["severity"] == "OK"
    assert ended["partition"] == back.isoformat()
    assert ended["summary"].startswith(
        f"the incident store 1 since {LOW_DAYS[0]} ended on {back}: every store's day as usual"
    )
    tick_all(defs, instance, alerting, cursors)
    assert alerting.counts() == (2, 2, 2)  # announced once


def test_a_one_day_run_knows_an_incident_that_began_ten_days_before(history, tmp_path):
    """Store 1 at 40 % of its orders from 2025-02-25 on: a run of 2025-03-07 alone judges the
    week before it, finds the store in an incident on its first day, and judges five weeks back:
    the day is named by the incident's first day and judged against the days before it."""
    warehouse_path = tmp_path / "warehouse.duckdb"
    shutil.copy(history.settings.duckdb_path, warehouse_path)
    first, day = date(2025, 2, 25), date(2025, 3, 7)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            f"delete from coffee_shop.orders where StoreId = 1 and OrderDate between "
            f"date '{first}' and date '{day}' and OrderId % 5 < 3"
        )
    warehouse = DuckDBWarehouse(path=str(warehouse_path))
    known_stores = stores(warehouse)
    verdicts = judge_days(
        warehouse, day, day, known_stores, HolidayCalendar("UA"), price_moves(warehouse)
    )
    assert verdicts[0].day == day - timedelta(days=a.INCIDENT_DAYS_MAX)  # judged five weeks back
    [last] = [v for v in verdicts if v.day == day]
    assert (1, first) in last.incidents
    [orders] = [j for j in last.failed if j.store_id == 1 and j.metric == "orders"]
    assert f"against its days before the incident since {first}" in orders.context
