"""The Sales and Customer reports: their data recomputed independently from the marts.

The reports read the marts' rollups (agg_store_days and the others: one row per slice, day x
store x order type); here every order line of flat_order_details and every row of
flat_customer_metrics is read as it is and aggregated in plain Python (`MartData`), then
compared with what the HTML files embed, with the headline KPIs in the asset metadata, and
(test_reports_browser.py) with every figure the page shows.

The events and incidents the sales report marks: the pipeline's three days hold one known event
(New Year's Day) and are too short to judge a store-day (eight weeks of history first), so a
synthetic warehouse (`synthetic_warehouse`: ten weeks, a store opening, a store-wide outage, two
holidays, promotions and a price change) holds what they do not.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

from coffee_assets.core import anomalies, verdict_table
from coffee_assets.core.dates import days_between
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.core.reports import KINDS, headline, render_report, sparkline
from coffee_assets.defs.reports.annotations import store_day_incidents
from coffee_assets.defs.reports.assets import as_of_key, build_report_assets, latest_key
from coffee_assets.defs.reports.data import load_report_data
from coffee_assets.defs.reports.marts import Grid, Marts, ReportDataError
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.platform.storage import LocalFolderBucket
from coffee_assets.settings import Settings
from coffee_assets_tests.conftest import LAST, START

REPORT_NAMES = ("sales_report", "customer_report")
MARTS = Marts(*(f"dbt_models.{model}" for model in Marts.MODELS))
SEGMENTS = ["Champions", "Loyal", "Big Spenders", "New Customers", "At Risk", "Churned", "Other"]
AGE_BUCKETS = [(30, "0-30 d"), (90, "31-90 d"), (180, "91-180 d"), (365, "181-365 d")]
RECENCY_BUCKETS = [(7, "0-7 d"), (30, "8-30 d"), (90, "31-90 d"), (180, "91-180 d")]
REPEAT_BUCKETS = [(1, "1 order"), (2, "2 orders"), (5, "3-5 orders")]

pytestmark = pytest.mark.slow


def cents(value) -> int:
    return int(Decimal(str(value)) * 100)


def cents_per(total: int, n: int) -> int | None:
    """Cents per unit, rounded half up (what the page shows for averages)."""
    if not n:
        return None
    return int((Decimal(total) / n).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def bucket(buckets: list[tuple[int, str]], value: int, last: str) -> str:
    return next((name for upper, name in buckets if value <= upper), last)


@dataclass(frozen=True)
class Line:
    order_key: str
    day: date
    store: str
    order_type: str
    customer_id: int | None
    category: str
    mix: str
    quantity: int
    total: int
    sub_total: int
    discount: int


@dataclass(frozen=True)
class KnownEvent:
    type: str
    name: str
    start: date
    end: date
    store: str | None  # None: the whole chain


@dataclass(frozen=True)
class Incident:
    day: date
    store: str | None  # None: the whole chain
    text: str


class MartData:
    """The marts as plain rows, and every figure of the reports computed from them in Python.
    `pipeline`: anything with `sql(query) -> rows` over the warehouse (the pipeline's, or a
    `WarehouseFile`)."""

    def __init__(self, pipeline, as_of: date = LAST):
        self.as_of = as_of
        self.lines = [
            Line(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                cents(r[8]),
                cents(r[9]),
                cents(r[10]),
            )
            for r in pipeline.sql(
                "select order_key, order_date, store_name, order_type, customer_id, "
                "product_category, product_mix_type, quantity, total_amount, sub_total, "
                "discount_amount from dbt_models.flat_order_details "
                f"where order_date <= date '{as_of}'"
            )
        ]
        columns = [
            "customer_id", "rfm_segment", "ltv", "customer_age_days", "discount_rate",
            "orders_all_time", "orders_past_180_days", "days_since_last_order", "as_of_date",
        ]  # fmt: skip
        self.customers = {
            row[0]: dict(zip(columns, row))
            for row in pipeline.sql(
                f"select {', '.join(columns)} from dbt_models.flat_customer_metrics"
            )
        }
        self.stores = [
            name
            for _, name in pipeline.sql(
                "select distinct store_id, store_name from dbt_models.flat_order_details "
                "order by store_id"
            )
        ]
        self.first_day = min(line.day for line in self.lines)
        names = dict(
            pipeline.sql("select distinct store_id, store_name from dbt_models.flat_order_details")
        )
        # The calendar's events of the report's days (a store without orders has none).
        self.calendar = [
            KnownEvent(kind, name, start, end, None if store is None else names[store])
            for kind, name, start, end, store in pipeline.sql(
                "select event_type, event_name, start_date, end_date, store_id "
                "from dbt_models.stg_business_events "
                f"where end_date >= date '{self.first_day}' and start_date <= date '{as_of}' "
                "order by start_date, end_date, event_type, event_name, event_id"
            )
            if store is None or store in names
        ]
        self.incidents = self._incidents(pipeline, names)

    def _incidents(self, pipeline, names: dict[int, str]) -> list[Incident]:
        """The store-day judge (core/anomalies.py) on each store's daily orders and revenue
        counted from the order lines, from the ninth week on, with the calendar's events and the
        stores' opening days: the failed judgements, one entry per store and day."""
        history: dict[int, dict[date, anomalies.StoreDay]] = defaultdict(dict)
        orders: dict[tuple[int, date], set[str]] = defaultdict(set)
        revenue: dict[tuple[int, date], int] = defaultdict(int)
        ids = {name: store_id for store_id, name in names.items()}
        for line in self.lines:
            orders[(ids[line.store], line.day)].add(line.order_key)
            revenue[(ids[line.store], line.day)] += line.total
        for (store_id, day), keys in orders.items():
            history[store_id][day] = anomalies.StoreDay(len(keys), revenue[(store_id, day)])
        known: dict[tuple[int | None, date], list[tuple[str, str]]] = defaultdict(list)
        for event in self.calendar:
            for day in days_between(event.start, event.end):
                known[(None if event.store is None else ids[event.store], day)].append(
                    (event.type, event.name)
                )
        opened = dict(pipeline.sql("select store_id, opening_date from dbt_models.dim_store"))
        verdicts = anomalies.judge(
            {store_id: history[store_id] for store_id in names},
            days_between(self.first_day + timedelta(weeks=8), self.as_of),
            opened={store_id: opened.get(store_id) for store_id in names},
            known=known,
        )
        incidents = []
        for verdict in verdicts:
            # A store of the report, or the judge's whole chain (None: before the stores).
            for store_id in sorted(
                {j.store_id if j.store_id in names else None for j in verdict.failed},
                key=lambda s: -1 if s is None else s,
            ):
                texts = [
                    j.text(names.get(j.store_id, "The whole chain"))
                    for j in verdict.failed
                    if (j.store_id if j.store_id in names else None) == store_id
                ]
                store = None if store_id is None else names[store_id]
                incidents.append(Incident(verdict.day, store, "; ".join(texts)))
        return incidents

    def select(
        self, first: date, last: date, store: str | None = None, order_type: str | None = None
    ):
        return [
            line
            for line in self.lines
            if first <= line.day <= last
            and store in (None, line.store)
            and order_type in (None, line.order_type)
        ]  # fmt: skip

    # ------------------------------------------------------------------------- sales report
    def sales_figures(self, first, last, store=None, order_type=None) -> dict:
        lines = self.select(first, last, store, order_type)
        orders = {line.order_key for line in lines}
        revenue = sum(line.total for line in lines)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        daily_revenue = defaultdict(int)
        daily_orders: dict[str, dict[date, set]] = defaultdict(lambda: defaultdict(set))
        store_revenue, store_orders = defaultdict(int), defaultdict(set)
        cat_revenue, cat_items = defaultdict(int), defaultdict(int)
        mix_orders: dict[str, set] = defaultdict(set)
        for line in lines:
            daily_revenue[line.day] += line.total
            daily_orders[line.order_type][line.day].add(line.order_key)
            store_revenue[line.store] += line.total
            store_orders[line.store].add(line.order_key)
            cat_revenue[line.category] += line.total
            cat_items[line.category] += line.quantity
            mix_orders[line.mix].add(line.order_key)
        types = sorted({line.order_type for line in self.lines})
        stores = [s for s in self.stores if store in (None, s)]
        mix_names = [
            "Beverage Only", "Pastry Only", "Savory Only", "Beverage + Pastry",
            "Beverage + Savory", "Pastry + Savory", "All Categories",
        ]  # fmt: skip
        mix_counts = [len(mix_orders[m]) for m in mix_names]
        multi = sum(len(mix_orders[m]) for m in mix_names if "+" in m or m == "All Categories")
        return {
            "kpis": {
                "revenue": revenue,
                "orders": len(orders),
                "aov": cents_per(revenue, len(orders)),
                "active_customers": len({ln.customer_id for ln in lines} - {None}),
                "discount": sum(line.discount for line in lines),
                "items": sum(line.quantity for line in lines),
                "sub_total": sum(line.sub_total for line in lines),
            },
            "daily": {
                "days": [d.isoformat() for d in days],
                "revenue": [daily_revenue[d] for d in days],
                "orders_by_type": {
                    t: [len(daily_orders[t][d]) for d in days]
                    for t in types
                    if order_type in (None, t)
                },
            },
            "stores": {
                "names": stores,
                "revenue": [store_revenue[s] for s in stores],
                "orders": [len(store_orders[s]) for s in stores],
                "aov": [cents_per(store_revenue[s], len(store_orders[s])) for s in stores],
            },
            "categories": {
                "names": ["Beverage", "Pastry", "Savory"],
                "revenue": [cat_revenue[c] for c in ["Beverage", "Pastry", "Savory"]],
                "items": [cat_items[c] for c in ["Beverage", "Pastry", "Savory"]],
            },
            "mix": {
                "names": mix_names,
                "orders": mix_counts,
                "share": [ratio(n, sum(mix_counts)) for n in mix_counts],
                "multi_category_share": ratio(multi, sum(mix_counts)),
            },
            # What the daily charts mark: events and incidents of the days, of the selected
            # store and the whole chain; an order type does not choose them.
            "calendar": [
                {
                    "type": e.type,
                    "name": e.name,
                    "start": e.start.isoformat(),
                    "end": e.end.isoformat(),
                    "store": e.store,
                }
                for e in self.calendar
                if e.start <= last
                and e.end >= first
                and (store is None or e.store in (None, store))
            ],
            "incidents": [
                {"day": x.day.isoformat(), "store": x.store, "text": x.text}
                for x in self.incidents
                if first <= x.day <= last and (store is None or x.store in (None, store))
            ],
        }

    # ------------------------------------------------------------------------ customer report
    def customer_figures(self, first, last, store=None, order_type=None) -> dict:
        lines = self.select(first, last, store, order_type)
        all_orders = {line.order_key for line in lines}
        reg_orders = {line.order_key for line in lines if line.customer_id is not None}
        revenue = sum(line.total for line in lines)
        reg_revenue = sum(line.total for line in lines if line.customer_id is not None)
        per_customer: dict[int, set] = defaultdict(set)
        for line in lines:
            if line.customer_id is not None:
                per_customer[line.customer_id].add(line.order_key)
        members = [self.customers[c] for c in sorted(per_customer)]
        n = len(members)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        day_all, day_reg = defaultdict(set), defaultdict(set)
        for line in lines:
            day_all[line.day].add(line.order_key)
            if line.customer_id is not None:
                day_reg[line.day].add(line.order_key)

        def by(names, key):
            counts = {name: 0 for name in names}
            ltv = {name: 0 for name in names}
            for m in members:
                counts[key(m)] += 1
                ltv[key(m)] += cents(m["ltv"])
            return [counts[x] for x in names], [cents_per(ltv[x], counts[x]) for x in names]

        age_names = [b[1] for b in AGE_BUCKETS] + ["366+ d"]
        age_counts, age_ltv = by(
            age_names, lambda m: bucket(AGE_BUCKETS, m["customer_age_days"], "366+ d")
        )
        levels = sorted(
            {int(Decimal(str(m["discount_rate"])) * 100) for m in self.customers.values()}
        )
        level_counts, level_ltv = by(levels, lambda m: int(Decimal(str(m["discount_rate"])) * 100))
        recency_names = [b[1] for b in RECENCY_BUCKETS] + ["181+ d"]
        repeat_names = [b[1] for b in REPEAT_BUCKETS] + ["6+ orders"]
        repeat = defaultdict(int)
        for orders in per_customer.values():
            repeat[bucket(REPEAT_BUCKETS, len(orders), "6+ orders")] += 1
        recency = defaultdict(int)
        for m in members:
            recency[bucket(RECENCY_BUCKETS, m["days_since_last_order"], "181+ d")] += 1
        anon_orders = len(all_orders) - len(reg_orders)
        return {
            "kpis": {
                "active_customers": n,
                "registered_share": ratio(len(reg_orders), len(all_orders)),
                "avg_ltv": cents_per(sum(cents(m["ltv"]) for m in members), n),
                "repeat_rate": ratio(sum(len(o) >= 2 for o in per_customer.values()), n),
                "lifetime_repeat_rate": ratio(sum(m["orders_all_time"] >= 2 for m in members), n),
                "avg_age_days": ratio(sum(m["customer_age_days"] for m in members), n),
                "active_180d_share": ratio(sum(m["orders_past_180_days"] > 0 for m in members), n),
            },
            "segments": {
                "names": SEGMENTS,
                "customers": [sum(m["rfm_segment"] == s for m in members) for s in SEGMENTS],
            },
            "ltv_values": sorted(cents(m["ltv"]) for m in members),
            "age": {"names": age_names, "customers": age_counts, "avg_ltv": age_ltv},
            "discount": {
                "levels": levels,
                "names": [f"{level}%" for level in levels],
                "customers": level_counts,
                "avg_ltv": level_ltv,
            },
            "registered": {
                "groups": ["Registered", "Anonymous"],
                "orders": [len(reg_orders), anon_orders],
                "revenue": [reg_revenue, revenue - reg_revenue],
                "aov": [
                    cents_per(reg_revenue, len(reg_orders)),
                    cents_per(revenue - reg_revenue, anon_orders),
                ],
            },
            "registered_share_daily": {
                "days": [d.isoformat() for d in days],
                "share": [ratio(len(day_reg[d]), len(day_all[d])) for d in days],
            },
            "repeat": {"names": repeat_names, "customers": [repeat[x] for x in repeat_names]},
            "recency": {"names": recency_names, "customers": [recency[x] for x in recency_names]},
        }

    def figures(self, kind: str, first, last, store=None, order_type=None) -> dict:
        if kind == "sales":
            return self.sales_figures(first, last, store, order_type)
        return self.customer_figures(first, last, store, order_type)


def embedded_data(html: bytes) -> dict:
    match = re.search(
        rb'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert match, "the report embeds no data"
    return json.loads(match.group(1).replace(b"<\\/", b"</"))


@pytest.fixture(scope="module")
def marts(pipeline) -> MartData:
    return MartData(pipeline)


@pytest.fixture(scope="module")
def reports(pipeline) -> dict[str, bytes]:
    """The latest files the pipeline's daily_refresh wrote, by asset name."""
    root = pipeline.settings.bucket_dir
    return {name: (root / latest_key(name)).read_bytes() for name in REPORT_NAMES}


def test_daily_refresh_writes_both_reports_as_of_the_last_day(pipeline, reports):
    root = pipeline.settings.bucket_dir
    for name in REPORT_NAMES:
        dated = (root / as_of_key(name, LAST.isoformat())).read_bytes()
        # The same report; only the link to the other report differs (latest vs as-of copy).
        other = "customer_report" if name == "sales_report" else "sales_report"
        assert f'href="{other}.html"'.encode() in reports[name]
        assert f'href="../{other}/as_of={LAST}.html"'.encode() in dated
        assert embedded_data(dated) == embedded_data(reports[name])
        html = reports[name].decode()
        assert f'<meta name="report-as-of" content="{LAST}">' in html
        # Self-contained: plotly.js inlined once, no external script, stylesheet or image.
        assert html.count("plotly.js v") == 1
        assert not re.search(r'<(script|link|img)[^>]+(src|href)=["\']?(https?:)?//', html)
        assert embedded_data(reports[name])["as_of"] == LAST.isoformat()


def test_embedded_slices_match_the_order_lines(marts, reports):
    """Every per-slice array the page sums equals the order lines aggregated in Python."""
    data = embedded_data(reports["sales_report"])
    assert data == embedded_data(reports["customer_report"])
    assert data["first_day"] == START.isoformat() and data["n_days"] == (LAST - START).days + 1
    assert data["stores"] == marts.stores
    types = data["order_types"]
    S, T = len(data["stores"]), len(types)

    def slice_of(line: Line) -> int:
        d = (line.day - START).days
        return (d * S + data["stores"].index(line.store)) * T + types.index(line.order_type)

    expected = {m: [0] * data["n_days"] * S * T for m in data["sales"]}
    orders, reg_orders = defaultdict(set), defaultdict(set)
    categories = {"items": defaultdict(int), "revenue": defaultdict(int)}
    mix = defaultdict(set)
    events = defaultdict(set)
    for line in marts.lines:
        i = slice_of(line)
        expected["revenue"][i] += line.total
        expected["sub_total"][i] += line.sub_total
        expected["discount"][i] += line.discount
        expected["items"][i] += line.quantity
        orders[i].add(line.order_key)
        if line.customer_id is not None:
            reg_orders[i].add(line.order_key)
            expected["reg_revenue"][i] += line.total
            events[(line.customer_id, i)].add(line.order_key)
        c = data["categories"].index(line.category)
        categories["items"][i * 3 + c] += line.quantity
        categories["revenue"][i * 3 + c] += line.total
        mix[i * len(data["mix_types"]) + data["mix_types"].index(line.mix)].add(line.order_key)
    for i, keys in orders.items():
        expected["orders"][i] = len(keys)
    for i, keys in reg_orders.items():
        expected["reg_orders"][i] = len(keys)
    assert data["sales"] == expected
    assert sum(expected["orders"]) > 0 and sum(expected["reg_orders"]) > 0
    for measure in ("items", "revenue"):
        assert data["category"][measure] == [
            categories[measure][k] for k in range(len(data["category"][measure]))
        ]
    assert data["mix"]["orders"] == [len(mix[k]) for k in range(len(data["mix"]["orders"]))]

    ids = data["customers"]["id"]
    ev = data["events"]
    got_events = {
        (ids[c], s): n for c, s, n in zip(ev["customer"], ev["slice"], ev["orders"])
    }  # fmt: skip
    assert got_events == {key: len(keys) for key, keys in events.items()}


def test_embedded_customers_match_flat_customer_metrics(marts, reports):
    customers = embedded_data(reports["customer_report"])["customers"]
    assert customers["id"] == sorted(marts.customers)
    for i, customer_id in enumerate(customers["id"]):
        row = marts.customers[customer_id]
        assert row["as_of_date"] == LAST
        assert SEGMENTS[customers["segment"][i]] == row["rfm_segment"]
        assert customers["ltv"][i] == cents(row["ltv"])
        assert customers["age"][i] == row["customer_age_days"]
        assert customers["discount"][i] == cents(row["discount_rate"])
        assert customers["orders_all_time"][i] == row["orders_all_time"]
        assert customers["orders_180d"][i] == row["orders_past_180_days"]
        assert customers["days_since_last"][i] == row["days_since_last_order"]


def test_asset_metadata_carries_uri_kpis_and_preview(pipeline, marts):
    materializations = {}
    for event in pipeline.result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key.to_user_string() in REPORT_NAMES:
            assert mat.asset_key.to_user_string() not in materializations  # once a run
            assert mat.partition is None  # not partitioned: one report as of one day
            materializations[mat.asset_key.to_user_string()] = mat
    assert set(materializations) == set(REPORT_NAMES)
    # The default view and the metadata's period: the last 30 days, here the whole history.
    expected = marts.sales_figures(START, LAST)["kpis"]
    for name, mat in materializations.items():
        meta = mat.metadata
        assert meta["dagster/uri"].value == str(pipeline.settings.bucket_dir / latest_key(name))
        assert meta["as_of_uri"].value == str(
            pipeline.settings.bucket_dir / as_of_key(name, LAST.isoformat())
        )
        assert meta["as_of"].value == LAST.isoformat()
        assert meta["period"].value == f"{START}...{LAST}"
        assert meta["revenue"].value == pytest.approx(expected["revenue"] / 100)
        assert meta["orders"].value == expected["orders"]
        assert meta["aov"].value == pytest.approx(expected["aov"] / 100)
        assert meta["active_customers"].value == expected["active_customers"]
        assert meta["days_without_verdicts"].value == 0  # every day judged by the run
        daily = [
            sum(line.total for line in marts.select(day, day))
            for day in (START + timedelta(days=i) for i in range(3))
        ]
        preview = meta["preview"].value
        assert f"`{sparkline(daily)}`" in preview and len(sparkline(daily)) == 3
        assert f"€{expected['revenue'] / 100:,.2f}" in preview
        dated = pipeline.settings.bucket_dir / as_of_key(name, LAST.isoformat())
        assert meta["bytes"].value == dated.stat().st_size


def test_headline_over_any_period_matches_the_order_lines(marts, reports):
    data = embedded_data(reports["sales_report"])
    for first, last in [(0, 0), (1, 2), (0, 2)]:
        kpis = headline(data, first, last)
        expected = marts.sales_figures(START + timedelta(first), START + timedelta(last))["kpis"]
        assert (kpis.revenue_cents, kpis.orders, kpis.active_customers) == (
            expected["revenue"],
            expected["orders"],
            expected["active_customers"],
        )
        assert kpis.aov == pytest.approx(expected["aov"] / 100)


def test_reports_are_as_of_the_customer_metrics_day_and_say_so_when_they_cannot_be(
    pipeline, tmp_path
):
    """The report's day is flat_customer_metrics' as_of_date; a mart holding no day or two days
    (never built, or tampered with) fails with a message naming the table."""
    warehouse_file = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline.settings.duckdb_path, warehouse_file)
    warehouse = DuckDBWarehouse(path=str(warehouse_file))
    assert load_report_data(warehouse, MARTS, HolidayCalendar())["as_of"] == LAST.isoformat()
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute(
            "update dbt_models.flat_customer_metrics set as_of_date = as_of_date - 1 "
            "where customer_id = (select min(customer_id) from dbt_models.flat_customer_metrics)"
        )
    with pytest.raises(ReportDataError) as exc:
        load_report_data(warehouse, MARTS, HolidayCalendar())
    assert "dbt_models.flat_customer_metrics is as of" in str(exc.value)
    assert f"{LAST - timedelta(days=1)}, {LAST}" in str(exc.value)
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute("delete from dbt_models.flat_customer_metrics")
    with pytest.raises(ReportDataError, match="as of no day \\(it is empty\\)"):
        load_report_data(warehouse, MARTS, HolidayCalendar())


def _materialize_reports(
    bucket: Path,
    warehouse: Path,
    selection: list[str] | None = None,
) -> dg.MaterializeResult:
    [assets] = build_report_assets(Settings(data_dir=warehouse.parent, start_date=START))
    return dg.materialize(
        [assets],
        selection=selection,
        resources={
            "storage": LocalFolderBucket(root=str(bucket)),
            "warehouse": DuckDBWarehouse(path=str(warehouse)),
            "run_books": RunBooks(),
        },
    )


def same_bytes(a: bytes, b: bytes) -> bool:
    """Whether two files are byte for byte the same; when not, prints where they first differ
    (pytest's own diff of two multi-megabyte files takes longer than the test)."""
    if a == b:
        return True
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    print(f"{len(a)} and {len(b)} bytes, first difference at byte {at}:")
    print(a[max(0, at - 200) : at + 200])
    print(b[max(0, at - 200) : at + 200])
    return False


def test_rerun_is_identical_and_an_older_report_never_replaces_a_newer_latest(pipeline, tmp_path):
    """Real materializations of the report assets on a copy of the pipeline's warehouse."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline.settings.duckdb_path, warehouse)
    bucket = tmp_path / "bucket"
    result = _materialize_reports(bucket, warehouse)
    assert result.success
    first_run = {name: (bucket / latest_key(name)).read_bytes() for name in REPORT_NAMES}
    dated = bucket / as_of_key("sales_report", LAST.isoformat())
    first_dated = dated.read_bytes()
    for name in REPORT_NAMES:  # the same bytes as the pipeline's run wrote
        written = (pipeline.settings.bucket_dir / latest_key(name)).read_bytes()
        assert same_bytes(first_run[name], written), name

    # A latest file as of a later day (as after a backfill of an old range): kept.
    newer = b'<html><head><meta name="report-as-of" content="2099-01-01"></head></html>'
    (bucket / latest_key("sales_report")).write_bytes(newer)
    dated.unlink()
    result = _materialize_reports(bucket, warehouse)
    assert (bucket / latest_key("sales_report")).read_bytes() == newer
    assert same_bytes(dated.read_bytes(), first_dated)
    assert same_bytes(
        (bucket / latest_key("customer_report")).read_bytes(), first_run["customer_report"]
    )
    notes = {
        m.asset_key.to_user_string(): m.metadata["latest"].value
        for m in result.asset_materializations_for_node("reports")
    }
    assert notes["sales_report"] == f"kept: it is as of 2099-01-01, later than {LAST}"
    assert notes["customer_report"] == f"replaced (was as of {LAST})"


def test_render_is_self_contained_and_escapes_the_data(reports):
    data = embedded_data(reports["sales_report"])
    data["stores"] = ["</script><script>alert(1)</script>"] + data["stores"][1:]
    for kind in KINDS:
        html = render_report(kind, data).decode()
        # Three script elements (data, plotly.js, app): the data's "</script>" ends none.
        assert html.count("</script>") == 3
        assert embedded_data(html.encode())["stores"][0] == data["stores"][0]
        assert "{{" not in html.split('id="report-data"')[0]  # every placeholder filled


def test_sparkline():
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([7, 7]) == "▄▄"
    assert sparkline([]) == ""


def test_one_report_alone(pipeline, tmp_path):
    """Materializing one report (a subset of the multi-asset) writes that report only."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline.settings.duckdb_path, warehouse)
    bucket = tmp_path / "bucket"
    result = _materialize_reports(bucket, warehouse, selection=["customer_report"])
    assert [
        m.asset_key.to_user_string() for m in result.asset_materializations_for_node("reports")
    ] == ["customer_report"]
    assert sorted(p.relative_to(bucket).as_posix() for p in bucket.rglob("*.html")) == [
        "reports/customer_report.html",
        f"reports/customer_report/as_of={LAST}.html",
    ]


# ------------------------------------------------------------------- events and incidents
def test_calendar_holds_the_known_events_of_the_pipelines_days(pipeline, reports):
    """The pipeline's three days (seed 11) hold one known event: New Year's Day, a public
    holiday of the whole chain on the first day (the first promotion starts in February, the
    first outage is later still). Too short a history to judge a store-day: no incident."""
    data = embedded_data(reports["sales_report"])
    assert data["calendar"] == [
        {"start": 0, "end": 0, "type": "public_holiday", "name": "New Year's Day", "store": -1}
    ]
    # The same as the calendar the warehouse holds for those days.
    assert pipeline.sql(
        "select event_type, event_name, start_date, end_date, store_id "
        f"from dbt_models.stg_business_events where start_date <= date '{LAST}' "
        f"and end_date >= date '{START}'"
    ) == [("public_holiday", "New Year's Day", START, START, None)]
    assert data["incidents"] == []


def sales_slices(grid: Grid, figures: dict[tuple[int, date], tuple[int, int]]) -> dict:
    """Per-slice orders and revenue as the report data holds them, from (store, day) ->
    (orders, revenue in cents): each store-day split over the order types (two thirds to the
    first), so the incidents must add the order types back up."""
    n = grid.n_slices
    sales = {"orders": [0] * n, "revenue": [0] * n}
    for (store_id, day), (orders, revenue) in figures.items():
        first = grid.slice(day, store_id, grid.order_types[0])
        second = grid.slice(day, store_id, grid.order_types[1])
        sales["orders"][first], sales["orders"][second] = orders - orders // 3, orders // 3
        sales["revenue"][first], sales["revenue"][second] = revenue - revenue // 3, revenue // 3
    return sales


def test_a_store_down_all_day_is_one_incident_of_that_store_and_day():
    """Ten weeks of two steady stores; the second's tills are down all day on a Wednesday of
    the tenth week; a holiday doubles both stores' orders on the Friday, which the calendar
    explains; a third store opens in the sixth week and grows (judged leniently at first: growth is
    no incident) and is not judged before it opened."""
    first = date(2025, 1, 6)
    grid = Grid(first, 70, [1, 2, 3], ["In-store", "Takeaway"])
    down = date(2025, 3, 12)
    holiday = date(2025, 3, 14)
    opening = date(2025, 2, 10)
    figures = {}
    for day in days_between(first, first + timedelta(days=69)):
        for store_id, base in ((1, 60), (2, 45), (3, 10)):
            if store_id == 3 and day < opening:
                continue
            orders = base + day.toordinal() % 5
            if store_id == 3:
                orders += (day - opening).days  # ramping up
            if day == holiday:
                orders *= 2
            if (store_id, day) != (2, down):
                figures[(store_id, day)] = (orders, orders * 420)
    known = {(None, holiday): [("public_holiday", "Spring Day")]}
    names = ["Brazil Coffee", "Ethiopia Coffee", "Kenya Coffee"]
    history: dict[int, dict[date, anomalies.StoreDay]] = {1: {}, 2: {}, 3: {}}
    for (store_id, day), (orders, revenue) in figures.items():
        history[store_id][day] = anomalies.StoreDay(orders, revenue)
    judged = days_between(first + timedelta(weeks=anomalies.WEEKS), first + timedelta(days=69))

    def incidents_with(calendar: anomalies.Known) -> list[dict]:
        verdicts = anomalies.judge(
            history, judged, opened={1: None, 2: None, 3: opening}, known=calendar
        )
        return store_day_incidents(grid, verdicts, names)

    assert incidents_with(known) == [
        {
            "day": (down - first).days,
            "store": 1,
            "text": "Ethiopia Coffee, 2025-03-12, orders: 0, expected 46 (band 26..67): "
            "no orders recorded",
        }
    ]
    # Without the calendar, the holiday is an incident of each store.
    assert [(x["day"], x["store"]) for x in incidents_with({})] == [
        ((down - first).days, 1),
        ((holiday - first).days, 0),
        ((holiday - first).days, 1),
        ((holiday - first).days, 2),
    ]


def test_the_report_marks_the_chains_failed_days_and_only_its_own_stores_and_days():
    """The whole chain's failed day is marked for the chain (-1); a store without a single order
    in the report (not among its stores) and a day outside the report are not marked."""
    first = date(2025, 3, 1)
    grid = Grid(first, 10, [1, 2], ["In-store"])

    def failed(store_id: int, day: date) -> anomalies.Judgement:
        return anomalies.Judgement(store_id, day, "orders", 0.0, 50.0, 30.0, 70.0, "unusual")

    verdicts = [
        anomalies.DayVerdict(
            first + timedelta(days=2), [failed(anomalies.CHAIN, first + timedelta(days=2))]
        ),
        anomalies.DayVerdict(first + timedelta(days=3), [failed(7, first + timedelta(days=3))]),
        anomalies.DayVerdict(first + timedelta(days=12), [failed(1, first + timedelta(days=12))]),
    ]
    assert store_day_incidents(grid, verdicts, ["Brazil Coffee", "Ethiopia Coffee"]) == [
        {
            "day": 2,
            "store": -1,
            "text": "The whole chain, 2025-03-03, orders: 0, expected 50 (band 30..70)",
        }
    ]


@dataclass(frozen=True)
class WarehouseFile:
    """A DuckDB file queried as the pipeline fixture is (`MartData` reads through `sql`)."""

    path: Path

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.sql(query).fetchall()


SYNTHETIC_FIRST = date(2025, 1, 1)
SYNTHETIC_LAST = date(2025, 3, 12)
SYNTHETIC_STORES = {1: "Brazil Coffee", 2: "Ethiopia Coffee", 3: "Kenya Coffee"}
SYNTHETIC_OPENING = date(2025, 2, 10)  # Kenya Coffee's first day
SYNTHETIC_OUTAGE = (1, date(2025, 3, 4))  # Brazil Coffee's tills down all day
WOMENS_DAY = date(2025, 3, 8)
SYNTHETIC_CALENDAR = [
    # event_id, event_type, event_name, start_date, end_date, store_id, product_id, category
    (1, "public_holiday", "New Year's Day", date(2025, 1, 1), date(2025, 1, 1), None, None, None),
    (2, "store_opening", "Kenya Coffee opens", SYNTHETIC_OPENING, date(2025, 3, 9), 3, None,
     None),
    (3, "promotion", "Every pastry at 20% off", date(2025, 2, 17), date(2025, 2, 21), None, None,
     "Pastry"),
    (4, "price_change", "Espresso up 10%", date(2025, 2, 24), date(2025, 2, 24), None, 1, None),
    (5, "public_holiday", "International Women's Day", WOMENS_DAY, WOMENS_DAY, None, None, None),
    # Runs past the report's day: the report knows its real end.
    (6, "promotion", "Latte at 20% off", date(2025, 3, 10), date(2025, 3, 16), None, 2, None),
]  # fmt: skip


def synthetic_orders(store_id: int, day: date) -> int:
    """A store-day's orders: steady, but for the calendar's holidays, the opening and the
    outage."""
    if (store_id == 3 and day < SYNTHETIC_OPENING) or (store_id, day) == SYNTHETIC_OUTAGE:
        return 0
    orders = {1: 40, 2: 32, 3: 20}[store_id] + (day.toordinal() * 5 + store_id) % 4
    if day == date(2025, 1, 1):
        return round(orders * 0.55)
    if day == WOMENS_DAY:
        return round(orders * 1.75)
    return orders


ROLLUPS = [  # (table, grain beyond the slice, measures): coffee_dbt/models/marts/reporting/agg_*
    ("agg_store_days", "", "count(distinct order_key) as orders, sum(total_amount) as revenue, "
     "sum(sub_total) as sub_total, sum(discount_amount) as discount_amount, sum(quantity) as "
     "items, count(distinct case when is_registered_customer then order_key end) as "
     "registered_orders, sum(case when is_registered_customer then total_amount else 0 end) as "
     "registered_revenue"),
    ("agg_store_day_categories", "product_category, ",
     "sum(quantity) as items, sum(total_amount) as revenue"),
    ("agg_store_day_mixes", "product_mix_type, ", "count(distinct order_key) as orders"),
    ("agg_customer_days", "customer_id, ",
     "count(distinct order_key) as orders, sum(total_amount) as revenue"),
]  # fmt: skip


def synthetic_warehouse(path: Path) -> WarehouseFile:
    """The relations the reports read, as dbt would build them, for SYNTHETIC_FIRST...LAST:
    one order line per order (totals 3.50 to 5.75), a third of the orders Takeaway, one
    registered customer ordering at Brazil Coffee every day."""
    columns: dict[str, list] = defaultdict(list)
    for day in days_between(SYNTHETIC_FIRST, SYNTHETIC_LAST):
        for store_id, name in SYNTHETIC_STORES.items():
            for i in range(synthetic_orders(store_id, day)):
                total = Decimal("3.50") + Decimal("0.75") * (i % 4)
                registered = store_id == 1 and i == 0
                for column, value in (
                    ("order_key", f"{store_id}-{day}-{i}"), ("order_date", day),
                    ("store_id", store_id), ("store_name", name),
                    ("order_type", "Takeaway" if i % 3 == 2 else "In-store"),
                    ("customer_id", 1 if registered else None),
                    ("is_registered_customer", registered), ("product_category", "Beverage"),
                    ("product_mix_type", "Beverage Only"), ("quantity", 1),
                    ("total_amount", total), ("sub_total", total),
                    ("discount_amount", Decimal("0.00")),
                ):  # fmt: skip
                    columns[column].append(value)
    lines = pa.table(columns)  # noqa: F841 (read by DuckDB by its name)
    events = pa.table(  # noqa: F841
        dict(
            zip(
                ["event_id", "event_type", "event_name", "start_date", "end_date", "store_id",
                 "product_id", "product_category"],
                map(list, zip(*SYNTHETIC_CALENDAR)),
            )
        )
    )  # fmt: skip
    with duckdb.connect(str(path)) as con:
        con.execute("create schema dbt_models")
        con.execute("create table dbt_models.flat_order_details as select * from lines")
        # The rollups the reports read, from those lines as the agg_* models group them.
        for table, grain, measures in ROLLUPS:
            con.execute(
                f"create table dbt_models.{table} as select order_date, store_id, order_type, "
                f"{grain}{measures} from dbt_models.flat_order_details "
                + ("where is_registered_customer " if "customer_id" in grain else "")
                + "group by all"
            )
        con.execute("create table dbt_models.stg_business_events as select * from events")
        # The price list, whose one change the calendar lists too ("Espresso up 10%"): the
        # reports do not add it a second time.
        con.execute(
            "create table dbt_models.stg_products as select * from (values "
            "(1, 'Espresso', 'Beverage', 2.50)) as t(product_id, product_name, "
            "product_category, price)"
        )
        con.execute(
            "create table dbt_models.stg_product_prices as select * from (values "
            "(1, 1, 2.50, date '2025-01-01', date '2025-02-23'), "
            "(2, 1, 2.75, date '2025-02-24', null)) "
            "as t(price_id, product_id, price, valid_from, valid_to)"
        )
        con.execute(
            "create table dbt_models.dim_store as select * from (values "
            f"(1, 'Brazil Coffee', null), (2, 'Ethiopia Coffee', null), "
            f"(3, 'Kenya Coffee', date '{SYNTHETIC_OPENING}')) "
            "as t(store_id, store_name, opening_date)"
        )
        con.execute(
            "create table dbt_models.flat_customer_metrics as select 1 as customer_id, "
            "'Loyal' as rfm_segment, 315.50 as ltv, 70 as customer_age_days, "
            "0.05 as discount_rate, 70 as orders_all_time, 70 as orders_past_180_days, "
            f"0 as days_since_last_order, date '{SYNTHETIC_LAST}' as as_of_date"
        )
        store_days = con.execute(
            "select store_id, order_date, count(distinct order_key), sum(total_amount) * 100 "
            "from dbt_models.flat_order_details group by all"
        ).fetchall()
    write_synthetic_verdicts(path, store_days)
    return WarehouseFile(path)


def write_synthetic_verdicts(path: Path, store_days: list[tuple]) -> None:
    """The store_day_verdicts table, as the store_days_as_usual check would write it: the judge
    on the synthetic store-days from the ninth week on, with the synthetic calendar, through the
    real loader."""
    history: dict[int, dict[date, anomalies.StoreDay]] = {s: {} for s in SYNTHETIC_STORES}
    for store_id, day, orders, revenue in store_days:
        history[store_id][day] = anomalies.StoreDay(orders, int(revenue))
    known: dict[tuple[int | None, date], list[tuple[str, str]]] = defaultdict(list)
    for _, kind, name, start, end, store_id, _, _ in SYNTHETIC_CALENDAR:
        for day in days_between(start, end):
            known[(store_id, day)].append((kind, name))
    judged = anomalies.judge(
        history,
        days_between(SYNTHETIC_FIRST + timedelta(weeks=anomalies.WEEKS), SYNTHETIC_LAST),
        opened={1: None, 2: None, 3: SYNTHETIC_OPENING},
        known=known,
    )
    files = {}
    for verdict in judged:
        file = path.parent / "verdicts" / verdict_table.object_key(verdict.day.isoformat())
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(verdict_table.csv_bytes(verdict_table.rows(verdict, SYNTHETIC_STORES)))
        files[verdict.day] = str(file)
    DuckDBWarehouse(path=str(path)).load_days(verdict_table.VERDICTS, files)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[WarehouseFile, dict]:
    """The synthetic warehouse and the report data built from it."""
    warehouse = synthetic_warehouse(tmp_path_factory.mktemp("synthetic") / "warehouse.duckdb")
    return warehouse, load_report_data(
        DuckDBWarehouse(path=str(warehouse.path)), MARTS, HolidayCalendar()
    )


def test_report_data_marks_the_outage_and_the_calendar_of_a_synthetic_history(synthetic):
    """Built from the warehouse like the pipeline's reports: every calendar event of the days
    (the last promotion with its real end, past the report's day), and one incident, the outage;
    the opening weeks and Women's Day are explained by the calendar."""
    warehouse, data = synthetic
    day = lambda iso: (date.fromisoformat(iso) - SYNTHETIC_FIRST).days  # noqa: E731
    assert data["stores"] == list(SYNTHETIC_STORES.values())
    assert data["calendar"] == [
        {"start": 0, "end": 0, "type": "public_holiday", "name": "New Year's Day", "store": -1},
        {"start": day("2025-02-10"), "end": day("2025-03-09"), "type": "store_opening",
         "name": "Kenya Coffee opens", "store": 2},
        {"start": day("2025-02-17"), "end": day("2025-02-21"), "type": "promotion",
         "name": "Every pastry at 20% off", "store": -1},
        {"start": day("2025-02-24"), "end": day("2025-02-24"), "type": "price_change",
         "name": "Espresso up 10%", "store": -1},
        {"start": day("2025-03-08"), "end": day("2025-03-08"), "type": "public_holiday",
         "name": "International Women's Day", "store": -1},
        {"start": day("2025-03-10"), "end": day("2025-03-16"), "type": "promotion",
         "name": "Latte at 20% off", "store": -1},
    ]  # fmt: skip
    [incident] = data["incidents"]
    assert (incident["day"], incident["store"]) == (day("2025-03-04"), 0)
    # Its verdicts start in the ninth week (write_synthetic_verdicts): the report says which
    # days had none.
    first_judged = SYNTHETIC_FIRST + timedelta(weeks=anomalies.WEEKS)
    assert data["unjudged"] == {
        "days": 56,
        "first": SYNTHETIC_FIRST.isoformat(),
        "last": (first_judged - timedelta(days=1)).isoformat(),
    }
    assert incident["text"] == (
        "Brazil Coffee, 2025-03-04, orders: 0, expected 42 (band 23..61): no orders recorded"
    )
    # The Python recomputation from the order lines agrees.
    marts = MartData(warehouse, as_of=SYNTHETIC_LAST)
    assert marts.incidents == [Incident(SYNTHETIC_OUTAGE[1], "Brazil Coffee", incident["text"])]
    figures = marts.sales_figures(SYNTHETIC_FIRST, SYNTHETIC_LAST, "Ethiopia Coffee")
    # Another store: the chain's events, not Kenya Coffee's opening nor Brazil's outage.
    assert [e["name"] for e in figures["calendar"]] == [
        "New Year's Day", "Every pastry at 20% off", "Espresso up 10%",
        "International Women's Day", "Latte at 20% off",
    ]  # fmt: skip
    assert figures["incidents"] == []
