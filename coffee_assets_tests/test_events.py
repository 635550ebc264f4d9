"""The generator's business events (core/generator/events.py): deterministic per seed, on in the
realistic profile and off in the original's, and each does to the rows what it says."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from coffee_assets.core import contract
from coffee_assets.core.generator import events as ev
from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.core import generate_day, reference_tables_for
from coffee_assets.core.generator.profiles import get_profile
from coffee_assets.core.generator.reference import PRICE_CENTS, PRODUCTS

START = date(2025, 1, 1)
SEED = 42
CONFIG = GeneratorConfig(seed=SEED, history_start=START)


def of_type(kind: str, until: date = date(2026, 12, 31)) -> list[ev.Event]:
    return [e for e in ev.events(SEED, START, until) if e.type == kind]


def test_the_same_seed_plans_the_same_year_and_another_seed_another():
    assert ev.events(SEED, START) == ev.events(SEED, START)
    assert ev.events(SEED, START) != ev.events(SEED + 1, START)
    kinds = Counter(e.type for e in ev.events(SEED, START, date(2026, 12, 31)))
    assert set(kinds) == set(ev.EVENT_TYPES)
    assert kinds["store_opening"] == 1 and kinds["pos_outage"] >= 8 and kinds["promotion"] >= 8


def test_events_are_on_in_the_realistic_profile_and_off_in_the_originals():
    assert get_profile("realistic").events and not get_profile("original").events
    original = GeneratorConfig(seed=SEED, history_start=START, profile=get_profile("original"))
    tables = reference_tables_for(original, date(2026, 12, 1))
    assert tables["business_events"].num_rows == 0
    assert tables["stores"].num_rows == 5
    assert tables["product_prices"].num_rows == len(PRODUCTS)  # one price each, always


def test_the_chains_holidays_are_the_holidays_librarys_ukraine_after_the_2023_reform():
    """Orthodox Easter and Pentecost move; the 2023 reform moved Christmas to 25 December,
    Statehood Day to 15 July and Defenders Day to 1 October; each holiday has its volume."""
    days_2022 = {day: (name, volume) for day, name, volume in ev.chain_holidays(2022)}
    days_2025 = {day: (name, volume) for day, name, volume in ev.chain_holidays(2025)}
    assert days_2022[date(2022, 1, 7)][0] == "Christmas Day"
    assert days_2022[date(2022, 1, 3)] == ("New Year's Day (observed)", 0.55)
    assert date(2025, 1, 7) not in days_2025
    assert days_2025[date(2025, 12, 25)] == ("Christmas Day", 0.75)
    assert days_2025[date(2025, 7, 15)] == ("Ukrainian Statehood Day", 0.95)
    assert days_2025[date(2025, 10, 1)] == ("Day of defenders of Ukraine", 0.90)
    assert days_2025[date(2025, 4, 20)] == ("Easter Sunday (Pascha)", 0.70)
    assert days_2025[date(2025, 6, 8)] == ("Pentecost", 0.90)  # Easter + 49 days
    assert days_2025[date(2025, 3, 8)] == ("International Women's Day", 1.25)
    assert len(days_2025) == 11  # under martial law: working days, still the chain's holidays


def stores_of(day: date) -> Counter:
    return Counter(generate_day(CONFIG, day).orders.column("StoreId").to_pylist())


def test_an_outage_loses_the_stores_orders_all_day_or_in_part():
    outages = of_type("pos_outage")
    full = next(e for e in outages if e.volume == 0)
    partial = next(e for e in outages if e.volume > 0)
    assert stores_of(full.start)[full.store_id] == 0
    # The same store a week before and after: an ordinary day.
    for other in (full.start - timedelta(days=7), full.start + timedelta(days=7)):
        assert stores_of(other)[full.store_id] > 30
    week = [stores_of(partial.start + timedelta(days=d))[partial.store_id] for d in (-7, 7)]
    assert stores_of(partial.start)[partial.store_id] < 0.8 * min(week)
    assert not full.known and full not in ev.known_events(SEED, START, date(2026, 12, 31))


def test_a_promotion_sells_its_products_twice_as_often_at_a_fifth_off():
    promotion = next(e for e in of_type("promotion") if e.product_id is not None)
    product = promotion.product_id
    during = generate_day(CONFIG, promotion.start).order_details
    before = generate_day(CONFIG, promotion.start - timedelta(days=7)).order_details
    share = Counter(during.column("ProductId").to_pylist())[product] / during.num_rows
    share_before = Counter(before.column("ProductId").to_pylist())[product] / before.num_rows
    assert share > 1.5 * share_before
    prices = ev.plan_day(SEED, START, promotion.start).price_cents
    assert prices[product] == round(PRICE_CENTS[product] * 0.8 / 5) * 5


def test_a_new_store_opens_with_its_opening_day_and_ramps_up():
    opening = ev.opening_day(SEED, START)
    assert stores_of(opening - timedelta(days=1))[ev.NEW_STORE_ID] == 0
    first_week = sum(stores_of(opening + timedelta(days=d))[ev.NEW_STORE_ID] for d in range(7))
    ramped = sum(stores_of(opening + timedelta(days=70 + d))[ev.NEW_STORE_ID] for d in range(7))
    assert 0 < first_week < 0.6 * ramped
    stores = reference_tables_for(CONFIG, opening)["stores"].to_pylist()
    assert stores[-1]["StoreId"] == ev.NEW_STORE_ID and stores[-1]["OpeningDate"] == opening
    before = reference_tables_for(CONFIG, opening - timedelta(days=1))["stores"].to_pylist()
    assert len(before) == 5 and all(s["OpeningDate"] is None for s in before)


def test_a_price_change_holds_from_its_day_and_the_price_list_says_since_when():
    change = of_type("price_change")[0]
    product = change.product_id
    old = ev.plan_day(SEED, START, change.start - timedelta(days=1)).price_cents[product]
    new = ev.plan_day(SEED, START, change.start).price_cents[product]
    later = ev.plan_day(SEED, START, change.start + timedelta(days=100)).price_cents[product]
    assert new > old and later >= new
    assert new == round(PRICE_CENTS[product] * change.price / 5) * 5
    prices = reference_tables_for(CONFIG, change.start + timedelta(days=1))["product_prices"]
    rows = [r for r in prices.to_pylist() if r["ProductId"] == product]
    assert any(r["ValidTo"] == change.start - timedelta(days=1) for r in rows)
    assert any(r["ValidFrom"] == change.start and round(r["Price"] * 100) == new for r in rows)
    # Every day's lines cost the price valid on the day: the orders add up at those prices.
    day = generate_day(CONFIG, change.start)
    prices_that_day = ev.plan_day(SEED, START, change.start).price_cents
    lines: Counter[int] = Counter()
    for line in day.order_details.to_pylist():
        lines[line["OrderId"]] += line["Quantity"] * int(prices_that_day[line["ProductId"]])
    for order in day.orders.to_pylist():
        assert round(order["SubTotal"] * 100) == lines[order["OrderId"]]


def test_the_calendar_holds_the_known_events_as_the_contract_says():
    calendar = reference_tables_for(CONFIG, date(2026, 12, 1))["business_events"]
    assert calendar.schema.names == contract.BUSINESS_EVENTS.column_names
    kinds = set(calendar.column("EventType").to_pylist())
    assert kinds == {"store_opening", "public_holiday", "promotion", "price_change"}
    assert set(calendar.column("EventId").to_pylist()) <= {
        e.id for e in ev.events(SEED, START, date(2026, 12, 1))
    }
