"""Each store's day judged by its own history (core/anomalies.py), on generated histories with
the realistic profile's events and on the original showcase's files: incidents fail, known
events and young stores do not."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

from coffee_assets.core import anomalies as a
from coffee_assets.core import contract as c
from coffee_assets.core import price_list as pl
from coffee_assets.core.dates import days_between
from coffee_assets.core.generator import events as ev
from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.core import generate_day
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.defs.business.checks import calendar as store_day_calendar
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse

from .original_showcase import original_files

START = date(2025, 1, 1)
SEED = 42
WEEKS_OF_HISTORY = 9


def history_of(config: GeneratorConfig, days: list[date]) -> dict[int, dict[date, a.StoreDay]]:
    history: dict[int, dict[date, a.StoreDay]] = defaultdict(dict)
    for day in days:
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        orders = generate_day(config, day).orders
        for store, total in zip(orders.column("StoreId").to_pylist(),
                                orders.column("TotalAmount").to_pylist()):  # fmt: skip
            totals[store][0] += 1
            totals[store][1] += round(total * 100)
        for store, (n, cents) in totals.items():
            history[store][day] = a.StoreDay(n, cents)
    return history


def calendar(until: date) -> dict[tuple[int | None, date], list[tuple[str, str]]]:
    known: dict[tuple[int | None, date], list[tuple[str, str]]] = defaultdict(list)
    for event in ev.known_events(SEED, START, until):
        for day in days_between(event.start, min(event.end, until)):
            known[(event.store_id, day)].append((event.type, event.name))
    return known


LAST_JUDGED = START + timedelta(days=239)  # eight months: an opening, outages, Easter
JUDGED = days_between(START, LAST_JUDGED)
HISTORY = history_of(GeneratorConfig(seed=SEED, history_start=START), JUDGED)
OPENED = {ev.NEW_STORE_ID: ev.opening_day(SEED, START)}
VERDICTS = a.judge(HISTORY, JUDGED, opened=OPENED, known=calendar(LAST_JUDGED))


def failures_on(day: date) -> list[a.Judgement]:
    return next(v for v in VERDICTS if v.day == day).failed


def test_a_store_down_all_day_fails_naming_the_store_and_the_day():
    outage = next(e for e in ev.outage_days(SEED, START, START, VERDICTS[-1].day) if e.volume == 0)
    [failed] = failures_on(outage.start)  # one incident: said once, by the orders
    assert (failed.store_id, failed.metric, failed.verdict) == (outage.store_id, "orders",
                                                                "no_orders")  # fmt: skip
    text = failed.text("Vietnam Coffee")
    assert text.startswith(f"Vietnam Coffee, {outage.start}, orders: 0, expected ")
    assert "(band " in text and text.endswith(": no orders recorded")


def test_half_a_day_down_fails_as_unusual():
    outage = next(e for e in ev.outage_days(SEED, START, START, VERDICTS[-1].day) if e.volume > 0)
    failed = failures_on(outage.start)
    assert {(j.store_id, j.metric, j.verdict) for j in failed} >= {
        (outage.store_id, "orders", "unusual")
    }
    [orders] = [j for j in failed if j.metric == "orders"]
    assert orders.low is not None and orders.actual < orders.low


def test_the_generated_history_fails_only_on_its_outages():
    outages = {(e.store_id, e.start) for e in ev.outage_days(SEED, START, START, VERDICTS[-1].day)}
    failed = {(j.store_id, v.day) for v in VERDICTS[a.WEEKS * 7 :] for j in v.failed}
    # Promotions that double a product's sales, holidays, a price change, an opening: none fails.
    assert failed - outages == set()
    assert not [v.day for v in VERDICTS if v.chain_empty]


def test_a_promotion_day_is_judged_and_explained_not_failed():
    promotions = [
        e for e in ev.known_events(SEED, START, VERDICTS[-1].day) if e.type == "promotion"
    ]
    days = {d for e in promotions for d in days_between(e.start, e.end)}
    outages = {e.start for e in ev.outage_days(SEED, START, START, VERDICTS[-1].day)}
    promoted = [v for v in VERDICTS if v.day in days and v.day not in outages]
    assert promoted and not [j for v in promoted for j in v.failed]
    assert any(j.known for v in promoted for j in v.judgements) or all(
        not j.failed for v in promoted for j in v.judgements
    )


def test_a_new_stores_first_weeks_are_judged_leniently_and_never_fail():
    opening = ev.opening_day(SEED, START)
    first_weeks = [v for v in VERDICTS if opening <= v.day < opening + timedelta(weeks=8)]
    judged = [j for v in first_weeks for j in v.judgements if j.store_id == ev.NEW_STORE_ID]
    assert judged and not [j for j in judged if j.failed]
    assert any(j.lenient for j in judged)
    assert "judged leniently" in next(j for j in judged if j.lenient and j.expected).text("Japan")
    before = [v for v in VERDICTS if v.day < opening]
    assert not [j for v in before for j in v.judgements if j.store_id == ev.NEW_STORE_ID]


def test_the_originals_history_does_not_alert_on_its_normal_days():
    """The original showcase's 10 orders a day (3 in its low season), its stores with one or
    two orders a day: days without an order are normal there, and nothing fails."""
    first, last = date(2022, 1, 1), date(2022, 9, 30)  # the low season: 2022-02-25..05-31
    verdicts = a.judge(original_history(first, last), days_between(first, last))
    assert [(j.store_id, v.day, j.metric) for v in verdicts for j in v.failed] == []
    assert not [v.day for v in verdicts if v.chain_empty]


def original_history(first: date, last: date) -> dict[int, dict[date, a.StoreDay]]:
    """The original showcase's orders (its own generator's files), as store-days."""
    history: dict[int, dict[date, a.StoreDay]] = defaultdict(dict)
    for order in csv.DictReader(io.StringIO(original_files(first, last)["Orders.csv"].decode())):
        store, day = int(order["StoreId"]), date.fromisoformat(order["OrderDate"])
        figures = history[store].get(day, a.StoreDay(0, 0))
        history[store][day] = a.StoreDay(
            figures.orders + 1, figures.revenue_cents + round(float(order["TotalAmount"]) * 100)
        )
    return history


def test_a_whole_day_lost_from_the_originals_history_alerts():
    """At the original's volume one store's day shows too little to judge, but the chain's day
    does: a day whose delivery lost every order (the original's 10 a day, 7 on its Wednesdays)
    warns, naming the whole chain; the same day with its orders passes."""
    first, last = date(2022, 6, 1), date(2022, 9, 30)  # after the low season
    history = original_history(first, last)
    lost = date(2022, 9, 14)
    assert sum(history[store].get(lost, a.StoreDay(0, 0)).orders for store in history) >= 5
    [as_delivered] = a.judge(history, [lost])
    assert not as_delivered.failed
    for series in history.values():
        series.pop(lost, None)
    [verdict] = a.judge(history, [lost])
    [failed] = verdict.failed
    assert (failed.store_id, failed.metric, failed.verdict) == (a.CHAIN, "orders", "no_orders")
    assert failed.text("").startswith(f"The whole chain, {lost}, orders: 0, expected 7 (band ")


def test_a_day_no_store_recorded_anything_cannot_be_a_business_day():
    days = days_between(date(2025, 3, 1), date(2025, 4, 30))
    history = {store: {d: a.StoreDay(60, 60 * 700) for d in days[:-1]} for store in (1, 2)}
    [verdict] = a.judge(history, days[-1:])
    assert verdict.chain_empty
    assert {(j.store_id, j.verdict) for j in verdict.failed} == {(1, "no_orders"), (2, "no_orders")}


def steady_history(
    days: list[date], stores: tuple[int, ...], orders: int = 120
) -> dict[int, dict[date, a.StoreDay]]:
    """Stores with the same, Poisson-like day every day (alternating +-5 orders)."""
    return {
        store: {
            d: a.StoreDay(orders + (5 if i % 2 else -5), (orders + (5 if i % 2 else -5)) * 800)
            for i, d in enumerate(days)
        }
        for store in stores
    }


def test_a_store_down_on_a_holiday_fails_where_the_other_stores_show_the_holidays_level():
    """A holiday explains a quiet day only as far as the whole chain is quiet: on a holiday at
    85 % of the usual, a store at 35 % is an incident, the others are not."""
    days = days_between(date(2025, 3, 1), date(2025, 5, 10))
    holiday = days[-1]
    history = steady_history(days, (1, 2, 3, 4, 5))
    for store in (1, 2, 3, 4):
        history[store][holiday] = a.StoreDay(102, 102 * 800)  # the holiday: 85 %
    history[5][holiday] = a.StoreDay(42, 42 * 800)  # and store 5's till down most of the day
    known = {(None, holiday): [("public_holiday", "Labour Day")]}
    [verdict] = a.judge(history, [holiday], known=known)
    assert {(j.store_id, j.metric, j.verdict) for j in verdict.failed} == {
        (5, "orders", "unusual"),
        (5, "revenue", "unusual"),
    }
    [failed] = [j for j in verdict.failed if j.metric == "orders"]
    assert failed.expected is not None and 95 <= failed.expected <= 110  # 85 % of ~120
    assert failed.text("Kenya Coffee").endswith(
        "[the chain at 85% of its usual on public_holiday: Labour Day]"
    )
    explained = [j for j in verdict.judgements if j.store_id != 5 and j.known]
    assert not explained or all(not j.failed for j in explained)


def test_a_season_turning_inside_the_weeks_does_not_hide_a_day_that_lost_most_of_its_orders():
    """Eight weeks sliding from 160 to 90 orders a day widen the deviation of the same weekdays;
    the orders band is capped at +-50 % of the expected day, so 10 % of a day still fails."""
    days = days_between(date(2025, 6, 1), date(2025, 7, 27))
    series = {d: a.StoreDay(160 - i, (160 - i) * 800) for i, d in enumerate(days)}
    day = days[-1] + timedelta(days=1)
    series[day] = a.StoreDay(12, 12 * 800)
    [verdict] = a.judge({1: series, 2: dict(series)}, [day])
    [failed] = [j for j in verdict.failed if j.store_id == 1 and j.metric == "orders"]
    assert failed.verdict == "unusual" and failed.low is not None
    assert failed.expected is not None and failed.low >= failed.expected * 0.5 - 1


def exact_poisson_cdf(k: int, mean: int) -> Decimal:
    """P(X <= k), summed term by term in 80-digit decimals: the reference."""
    getcontext().prec = 80
    m = Decimal(mean)
    term = total = (-m).exp()
    for i in range(1, k + 1):
        term = term * m / i
        total += term
    return total


@pytest.mark.parametrize("mean", [5, 745, 5_000, 50_000])
def test_poisson_tails_are_right_at_every_size(mean):
    """exp(-745) is 0 in floating point: a tail summed from there read 1.0 above ~745 expected
    orders, and a rise was never unlikely enough. In log space, both tails match the exact
    sums to a few parts in 10^9, far out in the tails too (6 and 8 spreads out)."""
    sd = math.sqrt(mean)
    below = {max(0, int(mean - z * sd)) for z in (6, 3, 1, 0)}
    above = {int(mean + z * sd) for z in (1, 3, 6, 8)}
    for k in sorted(below | above):
        exact = exact_poisson_cdf(k, mean)
        assert a.poisson_cdf(k, mean) == pytest.approx(float(exact), rel=1e-9, abs=1e-300), k
        assert a.poisson_sf(k + 1, mean) == pytest.approx(float(1 - exact), rel=1e-9), k
    assert 0 < a.poisson_sf(max(above), mean) < 1e-7


def test_a_busy_store_whose_orders_rise_by_three_quarters_fails():
    """A store at ~2,000 orders a day (past the old underflow at ~745): eight ordinary weeks,
    then a day with 75 % more orders and the same revenue (a duplicated delivery of cheap
    orders, say): unusual."""
    last = START + timedelta(weeks=WEEKS_OF_HISTORY)
    history = {
        1: {
            day: a.StoreDay(2000 + (day.toordinal() % 7) * 10, 2_000_000)
            for day in days_between(START, last - timedelta(days=1))
        }
    }
    history[1][last] = a.StoreDay(3500, 2_000_000)
    [verdict] = a.judge(history, [last])
    [orders] = [j for j in verdict.failed if j.metric == "orders"]
    assert orders.verdict == "unusual" and orders.actual == 3500 and orders.high < 3500


def empty_calendar_warehouse(path: Path) -> DuckDBWarehouse:
    """A warehouse whose business calendar (Events.csv's table) holds nothing: imported or real
    data, which arrives without the generator's."""
    warehouse = DuckDBWarehouse(path=str(path))
    with warehouse.connect() as con:
        con.execute(f"create schema {RAW_SCHEMA}")
        for table in c.REFERENCE_TABLES:
            columns = ", ".join(f"{col.name} {col.type.duckdb}" for col in table.columns)
            con.execute(f"create table {RAW_SCHEMA}.{table.table} ({columns})")
    return warehouse


def test_with_its_calendar_withheld_the_history_still_knows_its_public_holidays(tmp_path):
    """The check's calendar (defs/business/checks.py) over an empty Events table: Easter, which
    fails stores when nothing explains it, is explained by the holidays library's Ukraine."""
    warehouse = empty_calendar_warehouse(tmp_path / "warehouse.duckdb")
    easter = date(2025, 4, 20)

    def verdict_on(day: date, known) -> a.DayVerdict:
        verdicts = a.judge(HISTORY, JUDGED, opened=OPENED, known=known)
        return next(v for v in verdicts if v.day == day)

    assert verdict_on(easter, {}).failed  # the precondition: Easter alone is unusual
    known = store_day_calendar(warehouse, START, LAST_JUDGED, HolidayCalendar("UA"))
    assert known[(None, easter)] == [("public_holiday", "Easter Sunday (Pascha)")]
    verdict = verdict_on(easter, known)
    assert not verdict.failed
    assert any("public_holiday: Easter Sunday (Pascha)" in j.known for j in verdict.judgements)
    # The country is a setting: Poland's calendar has no Women's Day off (and its Easter, in
    # 2025 on the same Sunday, under its own name).
    polish = store_day_calendar(warehouse, START, LAST_JUDGED, HolidayCalendar("PL"))
    assert (None, date(2025, 3, 8)) not in polish
    assert polish[(None, easter)] == [("public_holiday", "Easter Sunday")]


def test_a_holiday_the_business_calendar_lists_is_not_added_twice(tmp_path):
    warehouse = empty_calendar_warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.connect() as con:
        con.execute(
            f"insert into {RAW_SCHEMA}.{c.BUSINESS_EVENTS.table} (EventId, EventType, Name, "
            "StartDate, EndDate) values (1, 'public_holiday', 'New Year', '2025-01-01', "
            "'2025-01-01')"
        )
    known = store_day_calendar(warehouse, START, date(2025, 3, 31), HolidayCalendar("UA"))
    assert known[(None, START)] == [("public_holiday", "New Year")]
    assert known[(None, date(2025, 3, 8))] == [("public_holiday", "International Women's Day")]


def with_price_list(warehouse: DuckDBWarehouse, until: date) -> None:
    """The generator's products, price list and stores (as the files hold them on `until`)
    into the warehouse's raw tables: what a point-of-sale system exports."""
    tables = ev.reference_tables(SEED, START, until)
    with warehouse.connect() as con:
        for contract in (c.PRODUCTS, c.PRODUCT_PRICES, c.STORES):
            arrow = tables[contract.table]  # noqa: F841 (read by DuckDB's replacement scan)
            con.execute(f"insert into {RAW_SCHEMA}.{contract.table} select * from arrow")


def test_with_its_calendar_withheld_the_price_list_knows_the_promotions_and_price_changes(
    tmp_path,
):
    """Events.csv empty, the price list and the store list loaded: every promotion and price
    change of the generator's calendar is known on each of its days (from the price list's
    entries), the new store's opening weeks from its OpeningDate, and the eight months are
    judged exactly as with the whole calendar."""
    warehouse = empty_calendar_warehouse(tmp_path / "warehouse.duckdb")
    with_price_list(warehouse, LAST_JUDGED)
    known = store_day_calendar(warehouse, START, LAST_JUDGED, HolidayCalendar("UA"))
    for event in ev.known_events(SEED, START, LAST_JUDGED):
        if event.type in ("promotion", "price_change"):
            for day in days_between(event.start, min(event.end, LAST_JUDGED)):
                kinds = [kind for kind, _ in known[(None, day)]]
                assert event.type in kinds, (event, known[(None, day)])
    [change] = [e for e in ev.known_events(SEED, START, LAST_JUDGED) if e.type == "price_change"]
    assert ("price_change", "Blueberry Muffin up 10% (price list)") in known[(None, change.start)]
    withheld = a.judge(HISTORY, JUDGED, opened=OPENED, known=known)
    failed = {(j.store_id, v.day) for v in withheld for j in v.failed}
    usual = {(j.store_id, v.day) for v in VERDICTS for j in v.failed}
    assert failed == usual
    opening = ev.opening_day(SEED, START)
    assert known[(ev.NEW_STORE_ID, opening)] == [
        ("store_opening", "Japan Coffee opened (store list)")
    ]


def test_a_price_list_entry_that_moves_more_than_half_explains_nothing_and_is_named():
    latte = [
        pl.PriceEntry(1, 7, "Latte", 350, date(2025, 1, 1), date(2025, 3, 1)),
        pl.PriceEntry(2, 7, "Latte", 3500, date(2025, 3, 2), None),
    ]
    cookie = [
        pl.PriceEntry(3, 9, "Cookie", 200, date(2025, 1, 1), date(2025, 2, 9)),
        pl.PriceEntry(4, 9, "Cookie", 160, date(2025, 2, 10), date(2025, 2, 16)),
        pl.PriceEntry(5, 9, "Cookie", 200, date(2025, 2, 17), None),
    ]
    found = pl.moves([*latte, *cookie])
    [promotion, back, wrong] = found
    assert promotion.promotion and not promotion.too_far and not back.promotion
    assert wrong.too_far and wrong.covers(date(2025, 3, 9)) and not wrong.covers(date(2025, 3, 1))
    assert wrong.words() == "Latte 3.50 -> 35.00 (+900%) from 2025-03-02 (price list entry 2)"
    # The promotion is one event (its end is part of it); the tenfold price is none.
    assert pl.derived_events(found, date(2025, 1, 1), date(2025, 12, 31)) == [
        pl.DerivedEvent("promotion", "Cookie at 20% off (price list)", date(2025, 2, 10),
                        date(2025, 2, 16)),
    ]  # fmt: skip
    # A calendar that lists the promotion is not repeated.
    listed = [("promotion", date(2025, 2, 10) + timedelta(days=i)) for i in range(7)]
    assert pl.derived_events(found, date(2025, 1, 1), date(2025, 12, 31), listed) == []


def shifted(store: int, first: date, days: int, factor: float) -> dict[int, dict[date, a.StoreDay]]:
    """HISTORY with one store's orders and revenue times `factor` for `days` days from `first`."""
    changed = {s: dict(series) for s, series in HISTORY.items()}
    for day in days_between(first, first + timedelta(days=days - 1)):
        if day in changed[store]:
            figures = changed[store][day]
            changed[store][day] = a.StoreDay(
                round(figures.orders * factor), round(figures.revenue_cents * factor)
            )
    return changed


SHIFT = date(2025, 5, 12)  # a Monday of an ordinary May: no holiday, promotion or outage near


@pytest.mark.parametrize("factor", [2.0, 0.4], ids=["rise", "drop"])
def test_a_shift_that_lasts_two_weeks_is_one_incident_from_its_first_day_to_its_end(factor):
    """Store 2's day at twice (or 40 % of) its usual for two weeks: every one of the fourteen
    days fails (not only the first few, before the recent level or the baseline absorbed the
    shift), the later ones judged against the store's days before the incident; the day it is
    back, the incident ends, and nothing fails after it."""
    judged = days_between(SHIFT - timedelta(days=7), SHIFT + timedelta(days=27))
    verdicts = a.judge(
        shifted(2, SHIFT, 14, factor), judged, opened=OPENED, known=calendar(LAST_JUDGED)
    )
    failing = [v.day for v in verdicts if any(j.store_id == 2 for j in v.failed)]
    assert failing == days_between(SHIFT, SHIFT + timedelta(days=13))
    later = next(v for v in verdicts if v.day == SHIFT + timedelta(days=5))
    [orders] = [j for j in later.failed if j.metric == "orders"]
    assert f"against its days before the incident since {SHIFT}" in orders.text("Store 2")
    ends = [(v.day, v.ended) for v in verdicts if v.ended]
    assert ends == [(SHIFT + timedelta(days=14), ((2, SHIFT),))]
    assert not any(
        v.failed for v in verdicts if v.day != SHIFT - timedelta(days=1) and v.day not in failing
    )


def test_a_shift_that_stays_is_the_stores_new_usual_after_five_weeks():
    """Store 2 at twice its usual from a Monday on: one incident for five weeks, every day of it
    failing, then the store's new usual (its days join the baseline) and the incident ends."""
    judged = days_between(SHIFT, SHIFT + timedelta(days=55))
    verdicts = a.judge(
        shifted(2, SHIFT, 60, 2.0), judged, opened=OPENED, known=calendar(LAST_JUDGED)
    )
    failing = [v.day for v in verdicts if any(j.store_id == 2 for j in v.failed)]
    assert failing == days_between(SHIFT, SHIFT + timedelta(days=a.INCIDENT_DAYS_MAX - 1))
    ends = [(v.day, end) for v in verdicts for end in v.ended if end[0] == 2]
    assert ends == [(SHIFT + timedelta(days=a.INCIDENT_DAYS_MAX), (2, SHIFT))]
