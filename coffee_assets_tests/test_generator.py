"""The pure data generator: contract types, determinism, SPEC distributions, money, CLI.

Statistical checks use tolerances derived from the sample size (5 standard errors), and fixed
seeds, so they are deterministic and a failure means a real deviation from docs/spec.md.
"""

from __future__ import annotations

import ast
import io
import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from coffee_assets.cli import generate as cli
from coffee_assets.core import contract
from coffee_assets.core.generator import core, writer
from coffee_assets.core.generator.config import GeneratorConfig
from coffee_assets.core.generator.core import DayData, generate_day, generate_range
from coffee_assets.core.generator.events import reference_tables
from coffee_assets.core.generator.profiles import PROFILES, Season, VolumeProfile, get_profile
from coffee_assets.core.generator.reference import PRICE_CENTS
from coffee_assets.core.generator.schema import arrow_schema
from coffee_assets.core.generator.writer import (
    to_csv_bytes,
    write_day,
    write_range,
    write_reference,
)

START = date(2025, 1, 1)
Z = 5.0  # tolerance in standard errors
GENERATOR_DIR = Path(core.__file__).parent


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def csv_bytes(data: DayData) -> dict[str, bytes]:
    return {c.table: to_csv_bytes(t) for c, t in data.tables().items()}


def concat(data: list[DayData], name: str) -> pa.Table:
    return pa.concat_tables([getattr(d, name) for d in data])


def assert_share(hits: int, n: int, p: float, what: str) -> None:
    """|hits/n - p| within Z standard errors of a binomial proportion."""
    se = math.sqrt(p * (1 - p) / n)
    assert abs(hits / n - p) <= Z * se, f"{what}: {hits / n:.4f} vs {p} (n={n}, se={se:.4f})"


def assert_poisson_total(observed: int, mean: float, what: str) -> None:
    """A sum of independent Poisson counts is Poisson(sum of means)."""
    assert abs(observed - mean) <= Z * math.sqrt(mean), f"{what}: {observed} vs {mean:.1f}"


def cents(column: pa.ChunkedArray) -> np.ndarray:
    """MONEY values as integer cents, asserting they hold exact cents."""
    values = column.to_numpy()
    as_cents = np.rint(values * 100).astype(np.int64)
    assert np.array_equal(as_cents / 100.0, values), "money is not an exact number of cents"
    return as_cents


@pytest.fixture(scope="module")
def sample() -> list[DayData]:
    """Two weeks at 20k orders/day: ~280k orders, ~570k lines, ~9k customers (fast)."""
    config = GeneratorConfig(seed=7, history_start=START, profile=get_profile("realistic", 20_000))
    return list(generate_range(config, START, START + timedelta(days=13)))


@pytest.fixture(scope="module")
def sample_customers(sample) -> pa.Table:
    return concat(sample, "customers")


# --- reference data and contract ----------------------------------------------------------


def test_reference_tables_are_the_spec():
    tables = reference_tables()
    products, stores = tables["products"], tables["stores"]
    assert products.schema == arrow_schema(contract.PRODUCTS)
    assert stores.schema == arrow_schema(contract.STORES)
    assert products.column("ProductId").to_pylist() == list(range(1, 16))
    assert products.column("Price").to_pylist() == [
        2.5,
        4.0,
        4.5,
        3.0,
        3.5,
        4.0,
        4.0,
        4.5,
        3.0,
        2.0,
        2.0,
        4.0,
        3.0,
        4.0,
        4.0,
    ]
    categories = products.column("ProductCategory").to_pylist()
    assert categories == ["Beverage"] * 8 + ["Pastry"] * 4 + ["Savory"] * 3
    assert products.column("ProductName").to_pylist()[13] == "Ham & Cheese Sandwich"
    assert stores.column("StoreName").to_pylist() == [
        "Brazil Coffee",
        "Colombia Coffee",
        "Ethiopia Coffee",
        "Vietnam Coffee",
        "Indonesia Coffee",
    ]
    assert set(stores.column("City").to_pylist()) == {"Kyiv"}
    assert stores.column("Latitude").to_pylist() == [50.4501, 50.4410, 50.4350, 50.4450, 50.4580]
    assert stores.column("Longitude").to_pylist() == [30.5234, 30.5140, 30.5550, 30.4800, 30.5980]
    assert stores.column("Address").to_pylist()[0] == "1 Shevchenko St, Kyiv"


def test_day_tables_match_the_contract():
    data = generate_day(GeneratorConfig(), START)
    expected_types = {
        contract.INT: pa.int64(),
        contract.MONEY: pa.float64(),
        contract.RATE: pa.float64(),
        contract.DATE: pa.date32(),
        contract.BOOL: pa.bool_(),
        contract.STRING: pa.string(),
    }
    for table_contract, table in data.tables().items():
        assert table.column_names == table_contract.column_names
        for column in table_contract.columns:
            field = table.schema.field(column.name)
            assert field.type == expected_types[column.type], column
            assert field.nullable == column.nullable, column
            if not column.nullable:
                assert table.column(column.name).null_count == 0, column
        assert table.num_rows > 0
    # Anonymous orders have a null CustomerId; every date column is the day.
    assert 0 < data.orders.column("CustomerId").null_count < data.orders.num_rows
    assert set(data.orders.column("OrderDate").to_pylist()) == {START}
    assert set(data.order_details.column("OrderDate").to_pylist()) == {START}
    assert set(data.customers.column("RegistrationDate").to_pylist()) == {START}
    assert set(data.orders.column("OrderType").to_pylist()) == {"In-store", "Takeaway"}


def test_generator_package_does_not_import_dagster():
    for path in GENERATOR_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0].startswith("dagster") for n in names), path


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_and_date_give_the_same_bytes_in_any_order():
    config = GeneratorConfig(seed=3, history_start=START)
    target = START + timedelta(days=40)

    core._ledger.cache_clear()  # alone, nothing generated before
    alone = csv_bytes(generate_day(config, target))

    core._ledger.cache_clear()  # after the days before it, in order
    forward = [csv_bytes(d) for d in generate_range(config, START, target)][-1]

    core._ledger.cache_clear()  # after later days, going backwards
    backward = {d: csv_bytes(generate_day(config, d)) for d in reversed(days(target, 30))}[target]

    assert alone == forward == backward
    # A config built separately but equal gives the same rows.
    again = GeneratorConfig(seed=3, history_start=date(2025, 1, 1), profile=get_profile())
    assert csv_bytes(generate_day(again, target)) == alone


def test_different_seed_gives_different_rows():
    a = csv_bytes(generate_day(GeneratorConfig(seed=1), START + timedelta(days=5)))
    b = csv_bytes(generate_day(GeneratorConfig(seed=2), START + timedelta(days=5)))
    for name in a:
        assert a[name] != b[name], name


def test_history_start_changes_only_the_customer_pool():
    """Without events (planned from the history's start), days after the start keep their order
    draws; only who the customers are depends on it."""
    day = date(2025, 3, 1)
    quiet = replace(get_profile("realistic"), events=False)
    a = generate_day(GeneratorConfig(history_start=date(2025, 1, 1), profile=quiet), day)
    b = generate_day(GeneratorConfig(history_start=date(2025, 2, 1), profile=quiet), day)
    assert a.order_details == b.order_details
    assert a.orders.column("OrderType") == b.orders.column("OrderType")
    assert a.customers == b.customers  # day's registrations: its own stream


# --- ids and customers ---------------------------------------------------------------------


def test_ids_are_unique_and_readable_across_days():
    config = GeneratorConfig(seed=5)
    data = list(generate_range(config, START, START + timedelta(days=20)))
    for name, key, factor in [
        ("customers", "CustomerId", 100_000),
        ("orders", "OrderId", 100_000),
        ("order_details", "OrderDetailId", 1_000_000),
    ]:
        for d in data:
            values = getattr(d, name).column(key).to_numpy()
            yyyymmdd = d.day.year * 10_000 + d.day.month * 100 + d.day.day
            assert np.array_equal(values, yyyymmdd * factor + np.arange(1, len(values) + 1))
        everything = concat(data, name).column(key)
        assert pc.count_distinct(everything).as_py() == len(everything)
    # Each line's order is an order of the same day; every order has 1..5 lines.
    for d in data:
        order_ids = d.orders.column("OrderId").to_numpy()
        line_orders = d.order_details.column("OrderId").to_numpy()
        assert np.isin(line_orders, order_ids).all()
        per_order = np.unique(line_orders, return_counts=True)[1]
        assert len(per_order) == len(order_ids) and per_order.min() >= 1 and per_order.max() <= 5


def test_initial_customer_base_registers_on_the_first_day():
    profile = VolumeProfile(name="flat", base_mean=50.0, registrations_per_day=0.0)
    config = GeneratorConfig(seed=9, history_start=START, profile=profile)
    first, second = generate_day(config, START), generate_day(config, START + timedelta(days=1))
    assert first.customers.num_rows == 500
    assert second.customers.num_rows == 0
    assert first.orders.column("CustomerId").null_count < first.orders.num_rows
    # Default profiles: the base plus the day's own registrations.
    for name, profile in PROFILES.items():
        data = generate_day(GeneratorConfig(profile=profile), START)
        assert 500 <= data.customers.num_rows <= 500 + 10 * (profile.registrations_per_day + 1)
        later = generate_day(GeneratorConfig(profile=profile), START + timedelta(days=1))
        assert later.customers.num_rows < 100, name


def test_orders_reference_customers_registered_on_or_before_the_order_date():
    config = GeneratorConfig(seed=11, history_start=START, profile=get_profile("realistic", 2000))
    data = list(generate_range(config, START, START + timedelta(days=59)))
    customers = concat(data, "customers")
    ids = customers.column("CustomerId").to_pylist()
    registered_on = dict(zip(ids, customers.column("RegistrationDate").to_pylist()))
    level = dict(zip(ids, customers.column("LevelOfDiscount").to_pylist()))
    orders = concat(data, "orders").filter(pc.is_valid(pc.field("CustomerId")))
    later_customers = 0
    for customer_id, order_date, sub, discount in zip(
        orders.column("CustomerId").to_pylist(),
        orders.column("OrderDate").to_pylist(),
        cents(orders.column("SubTotal")),
        cents(orders.column("DiscountAmount")),
    ):
        assert customer_id in registered_on, customer_id
        assert registered_on[customer_id] <= order_date
        later_customers += registered_on[customer_id] > START
        # The order is priced with the customer's own level from Customers.csv.
        pct = round(level[customer_id] * 100)
        assert discount == (sub * pct + 50) // 100
    assert later_customers > 0, "customers registered after the first day never order"


def test_customer_discount_is_a_pure_function_of_seed_and_id():
    ids = np.arange(2025010100001, 2025010100001 + 200_000, dtype=np.int64)
    a = core.discount_pcts(42, ids)
    assert np.array_equal(a, core.discount_pcts(42, ids.copy()))
    assert np.array_equal(a[1000:2000], core.discount_pcts(42, ids[1000:2000]))
    assert not np.array_equal(a, core.discount_pcts(43, ids))
    for pct in (0, 3, 5, 7, 10):
        assert_share(int((a == pct).sum()), len(a), 0.2, f"discount level {pct}%")


# --- SPEC distributions --------------------------------------------------------------------


def test_order_type_store_and_registered_shares(sample):
    orders = concat(sample, "orders")
    n = orders.num_rows
    assert n > 200_000
    in_store = pc.sum(pc.equal(orders.column("OrderType"), "In-store")).as_py()
    assert_share(in_store, n, 0.5, "In-store")
    stores = np.bincount(orders.column("StoreId").to_numpy(), minlength=6)
    for store_id, share in enumerate((0.30, 0.20, 0.25, 0.15, 0.10), start=1):
        assert_share(int(stores[store_id]), n, share, f"store {store_id}")
    assert stores[0] == 0 and len(stores) == 6
    registered = n - orders.column("CustomerId").null_count
    assert_share(registered, n, 0.30, "registered orders")


def test_items_quantities_and_products(sample):
    lines = concat(sample, "order_details")
    n_orders = sum(d.orders.num_rows for d in sample)
    items = np.unique(lines.column("OrderId").to_numpy(), return_counts=True)[1]
    assert len(items) == n_orders
    counts = np.bincount(items, minlength=6)
    for k, weight in enumerate((0.40, 0.30, 0.20, 0.07, 0.03), start=1):
        assert_share(int(counts[k]), n_orders, weight, f"{k} items per order")
    assert len(counts) == 6
    n = lines.num_rows
    quantity = np.bincount(lines.column("Quantity").to_numpy(), minlength=4)
    for q, weight in enumerate((0.80, 0.15, 0.05), start=1):
        assert_share(int(quantity[q]), n, weight, f"quantity {q}")
    assert quantity[0] == 0 and len(quantity) == 4
    products = np.bincount(lines.column("ProductId").to_numpy(), minlength=16)
    assert products[0] == 0 and len(products) == 16
    for product_id in range(1, 16):
        assert_share(int(products[product_id]), n, 1 / 15, f"product {product_id}")


def test_customer_discount_levels_are_uniform(sample_customers):
    levels = sample_customers.column("LevelOfDiscount").to_numpy()
    assert set(np.unique(levels)) <= {0.0, 0.03, 0.05, 0.07, 0.10}
    for level in (0.0, 0.03, 0.05, 0.07, 0.10):
        assert_share(int((levels == level).sum()), len(levels), 0.2, f"level {level}")


def test_realistic_volume_is_poisson_with_weekday_pattern():
    profile = replace(get_profile("realistic"), events=False)  # events: test_events.py
    config = GeneratorConfig(seed=21, history_start=START, profile=profile)
    data = list(generate_range(config, START, START + timedelta(days=7 * 26 - 1)))
    counts = np.array([d.orders.num_rows for d in data])
    means = np.array([profile.mean_for(d.day) for d in data])
    assert_poisson_total(int(counts.sum()), float(means.sum()), "orders over 26 weeks")
    weekday = np.array([d.day.weekday() for d in data])
    for wd in range(7):
        on = weekday == wd
        assert_poisson_total(int(counts[on].sum()), float(means[on].sum()), f"weekday {wd}")
    # Dispersion of a Poisson: E[(n - mean)^2 / mean] = 1, with standard error sqrt(2 / days).
    dispersion = float(np.mean((counts - means) ** 2 / means))
    assert abs(dispersion - 1) <= Z * math.sqrt(2 / len(counts)), dispersion
    # New registrations: Poisson(registrations_per_day) a day on top of the initial base.
    registrations = sum(d.customers.num_rows for d in data) - profile.initial_customers
    assert_poisson_total(registrations, profile.registrations_per_day * len(data), "registrations")


def test_original_profile_has_its_low_season():
    profile = get_profile("original")
    assert profile.mean_for(date(2022, 2, 24)) == 10
    assert profile.mean_for(date(2022, 2, 25)) == 3
    assert profile.mean_for(date(2022, 5, 31)) == 3
    assert profile.mean_for(date(2022, 6, 1)) == 10
    config = GeneratorConfig(seed=4, history_start=date(2021, 1, 1), profile=profile)
    data = list(generate_range(config, date(2021, 1, 1), date(2022, 12, 31)))
    low = [d for d in data if date(2022, 2, 25) <= d.day <= date(2022, 5, 31)]
    high = [d for d in data if d not in low]
    assert len(low) == 96
    assert_poisson_total(sum(d.orders.num_rows for d in low), 3 * len(low), "low season")
    assert_poisson_total(sum(d.orders.num_rows for d in high), 10 * len(high), "normal days")


# --- profiles ------------------------------------------------------------------------------


def test_profiles_scale_and_validate():
    assert set(PROFILES) == {"original", "realistic"}
    assert get_profile() is PROFILES["realistic"]
    realistic = get_profile("realistic")
    assert realistic.average_orders_per_day == pytest.approx(440)
    assert realistic.mean_for(date(2025, 1, 6)) == 400  # a Monday
    assert realistic.mean_for(date(2025, 1, 11)) > realistic.mean_for(date(2025, 1, 10)) > 400
    scaled = get_profile("realistic", 1_000)
    assert scaled.average_orders_per_day == pytest.approx(1_000)
    factor = 1000 / 440
    assert scaled.registrations_per_day == pytest.approx(realistic.registrations_per_day * factor)
    assert scaled.initial_customers == 500
    original = get_profile("original", 100)
    assert original.mean_for(date(2022, 3, 1)) == pytest.approx(30)
    assert original.mean_for(date(2023, 3, 1)) == pytest.approx(100)

    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("weekly")
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="orders per day"):
            get_profile("original", bad)
    with pytest.raises(ValueError, match="too many"):
        get_profile("realistic", 100_000)
    with pytest.raises(ValueError, match="order id capacity"):
        VolumeProfile(name="huge", base_mean=99_000)
    with pytest.raises(ValueError, match="customer id capacity"):
        VolumeProfile(
            name="crowd", base_mean=10, initial_customers=99_000, registrations_per_day=900
        )
    with pytest.raises(ValueError, match="start <= end"):
        VolumeProfile(name="bad", base_mean=10, seasons=[(date(2022, 2, 1), date(2022, 1, 1), 3)])
    with pytest.raises(ValueError, match="7 values"):
        VolumeProfile(name="bad", base_mean=10, weekday_multipliers=(1.0,))
    season = (date(2022, 1, 1), date(2022, 1, 2), 1)
    assert VolumeProfile(name="s", base_mean=10, seasons=[season]).seasons == (Season(*season),)


def test_high_volume_day_fits_the_id_capacity():
    profile = get_profile("realistic", 78_000)
    saturday = date(2025, 1, 4)
    data = generate_day(GeneratorConfig(profile=profile), saturday)
    assert 90_000 < data.orders.num_rows <= 99_999


# --- money ---------------------------------------------------------------------------------


def test_money_is_exact_in_cents(sample, sample_customers):
    orders = concat(sample, "orders")
    lines = concat(sample, "order_details")
    pcts = np.rint(sample_customers.column("LevelOfDiscount").to_numpy() * 100).astype(int)
    level = dict(zip(sample_customers.column("CustomerId").to_pylist(), pcts.tolist()))
    prices = reference_tables()["products"]
    price_cents = np.zeros(16, dtype=np.int64)
    price_cents[prices.column("ProductId").to_numpy()] = cents(prices.column("Price"))

    # SubTotal = sum(price * quantity) over the order's lines (lines are grouped by order).
    quantity = lines.column("Quantity").to_numpy()
    line_cents = price_cents[lines.column("ProductId").to_numpy()] * quantity
    line_orders = lines.column("OrderId").to_numpy()
    order_ids, starts = np.unique(line_orders, return_index=True)
    assert np.array_equal(order_ids, orders.column("OrderId").to_numpy())
    sub = cents(orders.column("SubTotal"))
    assert np.array_equal(np.add.reduceat(line_cents, starts), sub)

    customer = orders.column("CustomerId").to_pylist()
    pct = np.array([0 if c is None else level[c] for c in customer])
    discount = cents(orders.column("DiscountAmount"))
    total = cents(orders.column("TotalAmount"))
    applied = orders.column("DiscountApplied").to_numpy(zero_copy_only=False)
    # DiscountAmount = SubTotal * rate rounded half up to the cent, computed in integers.
    assert np.array_equal(discount, (sub * pct + 50) // 100)
    assert np.array_equal(total, sub - discount)
    assert np.array_equal(applied, pct > 0)
    anonymous = np.array([c is None for c in customer])
    assert not applied[anonymous].any() and not discount[anonymous].any()
    # Half-cent cases occur and round up (e.g. 2.50 at 3% = 0.075 -> 0.08).
    half = (sub * pct) % 100 == 50
    assert half.sum() > 10
    assert np.array_equal(discount[half] * 100, sub[half] * pct[half] + 50)
    # Every discount level occurs among registered orders.
    assert set(np.unique(pct[~anonymous])) == {0, 3, 5, 7, 10}


# --- CSV -----------------------------------------------------------------------------------


def test_csv_prints_plain_decimals_for_every_possible_amount():
    def plain(c: int) -> str:  # 1250 -> "12.5", 735 -> "7.35", 5 -> "0.05", 400 -> "4"
        return f"{c // 100}.{c % 100:02d}".rstrip("0").rstrip(".")

    max_cents = int(PRICE_CENTS.max()) * 3 * 5  # 5 lines of 3 of the dearest product
    amounts = np.arange(0, max_cents + 1, dtype=np.int64)
    rates = amounts % 11  # 0..10 percent
    table = pa.table({"Money": pa.array(amounts / 100.0), "Rate": pa.array(rates / 100.0)})
    header, *rows = to_csv_bytes(table).decode().splitlines()
    assert header == "Money,Rate"
    assert rows == [f"{plain(c)},{plain(r)}" for c, r in zip(amounts.tolist(), rates.tolist())]


def test_csv_text_of_a_day():
    data = generate_day(GeneratorConfig(seed=8), START)
    orders = to_csv_bytes(data.orders).decode()
    header, *rows = orders.splitlines()
    assert header == ",".join(contract.ORDERS.column_names)
    assert '"' not in orders and "e+" not in orders and "e-" not in orders
    anonymous = [r for r in rows if r.split(",")[3] == ""]
    assert anonymous and all(r.split(",")[7] == "false" for r in anonymous)
    assert rows[0].split(",")[1] == "2025-01-01"
    customers = to_csv_bytes(data.customers).decode().splitlines()
    assert customers[0] == "CustomerId,LevelOfDiscount,RegistrationDate"
    assert {r.split(",")[1] for r in customers[1:]} == {"0", "0.03", "0.05", "0.07", "0.1"}
    # Round trip through pyarrow's reader keeps every value.
    back = pacsv.read_csv(io.BytesIO(to_csv_bytes(data.order_details)))
    assert back.column_names == contract.ORDER_DETAILS.column_names
    assert back.column("OrderDetailId").equals(data.order_details.column("OrderDetailId"))


def test_csv_quotes_only_files_that_need_it():
    stores = to_csv_bytes(reference_tables()["stores"]).decode().splitlines()
    assert stores[0] == ",".join(contract.STORES.column_names)
    assert '"1 Shevchenko St, Kyiv"' in stores[1]
    assert stores[1].endswith(",50.4501,30.5234,")  # open before the history: no OpeningDate
    products = to_csv_bytes(reference_tables()["products"]).decode().splitlines()
    assert '"' not in "".join(products)
    assert "14,Ham & Cheese Sandwich,Savory,4" in products
    tricky = pa.table({"s": ['say "hi"', "a,b", "plain"]})
    assert pacsv.read_csv(io.BytesIO(to_csv_bytes(tricky))).column("s").to_pylist() == [
        'say "hi"',
        "a,b",
        "plain",
    ]


def test_write_day_and_reference_use_the_hive_layout_atomically(tmp_path):
    data = generate_day(GeneratorConfig(), START)
    paths = write_day(tmp_path, data) + write_reference(tmp_path)
    relative = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert relative == [
        "business_events/Events.csv",
        "customers/date=2025-01-01/Customers.csv",
        "order_details/date=2025-01-01/OrderDetails.csv",
        "orders/date=2025-01-01/Orders.csv",
        "product_prices/ProductPrices.csv",
        "products/Products.csv",
        "stores/Stores.csv",
    ]
    orders = tmp_path / "orders/date=2025-01-01/Orders.csv"
    assert orders.read_bytes() == to_csv_bytes(data.orders)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "orders" / "Orders.csv"

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writer.pacsv, "write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        writer.write_table(target, generate_day(GeneratorConfig(), START).orders)
    assert list(target.parent.iterdir()) == []


# --- range writer and CLI ------------------------------------------------------------------


def test_write_range_matches_generate_day(tmp_path):
    config = GeneratorConfig(seed=13, profile=get_profile("original"))
    end = START + timedelta(days=9)
    summary = write_range(tmp_path, config, START, end, workers=2)
    assert (summary.days, summary.start, summary.end) == (10, START, end)
    total_orders = total_lines = 0
    for d in generate_range(config, START, end):
        for table_contract, table in d.tables().items():
            path = tmp_path / table_contract.object_key(d.day.isoformat())
            assert path.read_bytes() == to_csv_bytes(table)
        total_orders += d.orders.num_rows
        total_lines += d.order_details.num_rows
    assert (summary.orders, summary.order_lines) == (total_orders, total_lines)


def test_cli_writes_the_hive_layout(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COFFEE_START_DATE", "2024-12-30")
    out = tmp_path / "csv_sources"
    status = cli.main(
        [
            "--start",
            "2025-01-01",
            "--end",
            "2025-01-03",
            "--out",
            str(out),
            "--profile",
            "original",
            "--orders-per-day",
            "25",
            "--seed",
            "5",
            "--quiet",
        ]
    )
    assert status == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = [t.object_key() for t in contract.REFERENCE_TABLES] + [
        t.object_key(f"2025-01-0{i}") for t in contract.DAILY_TABLES for i in (1, 2, 3)
    ]
    assert files == sorted(expected)
    # History start came from the environment: Jan 1 is not its first day (no 500 base).
    profile = get_profile("original", 25)
    config = GeneratorConfig(seed=5, history_start=date(2024, 12, 30), profile=profile)
    day = generate_day(config, date(2025, 1, 2))
    assert (out / contract.ORDERS.object_key("2025-01-02")).read_bytes() == to_csv_bytes(day.orders)
    assert day.customers.num_rows < 50
    summary = capsys.readouterr().out
    assert "3 day(s)" in summary and str(out) in summary and "order lines" in summary


def test_cli_defaults_to_the_history_start(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COFFEE_START_DATE", raising=False)
    assert cli.main(["--out", str(tmp_path), "--quiet", "--history-start", "2025-02-01"]) == 0
    customers = tmp_path / contract.CUSTOMERS.object_key("2025-02-01")
    assert len(customers.read_text().splitlines()) > 500
    assert "1 day(s) 2025-02-01..2025-02-01" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2025-02-30"], "not a date"),
        (["--start", "2025-01-05", "--end", "2025-01-04"], "before --start"),
        (["--start", "2024-12-31"], "before the history's start"),
        (["--orders-per-day", "0"], "must be a number > 0"),
        (["--orders-per-day", "1e6"], "too many"),
        (["--profile", "weekly"], "invalid choice"),
        (["--seed", "-1"], "must be within"),
    ],
)
def test_cli_rejects_bad_input(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("COFFEE_START_DATE", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--out", str(tmp_path), "--quiet", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cli_rejects_a_bad_environment_date(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COFFEE_START_DATE", "yesterday")
    with pytest.raises(SystemExit):
        cli.main(["--out", str(tmp_path), "--quiet"])
    assert "COFFEE_START_DATE" in capsys.readouterr().err


def test_bad_days_and_configs_raise_value_errors():
    config = GeneratorConfig(history_start=START)
    with pytest.raises(ValueError, match="before the history's start"):
        generate_day(config, date(2024, 12, 31))
    with pytest.raises(ValueError, match="must be a date"):
        generate_day(config, "2025-13-01")
    assert generate_day(config, "2025-01-02").day == date(2025, 1, 2)
    with pytest.raises(ValueError, match="before start"):
        list(generate_range(config, date(2025, 1, 5), date(2025, 1, 4)))
    for seed in (-1, 2**63, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            GeneratorConfig(seed=seed)
    with pytest.raises(ValueError, match="history_start"):
        GeneratorConfig(history_start="soon")


def test_the_generator_speaks_the_vocabulary_the_marts_are_tested_against():
    """The generator is the source system: its order types, product categories and discount
    levels are the dbt project's vocabulary (dbt_project.yml vars, core/vocabulary.py)."""
    from coffee_assets.core import vocabulary
    from coffee_assets.core.generator import core

    assert core.ORDER_TYPES.to_pylist() == vocabulary.ORDER_TYPES
    categories = set(reference_tables()["products"].column("ProductCategory").to_pylist())
    assert categories == set(vocabulary.PRODUCT_CATEGORIES)
    assert set(p / 100 for p in core.DISCOUNT_PCTS.tolist()) <= set(vocabulary.DISCOUNT_RATES)
