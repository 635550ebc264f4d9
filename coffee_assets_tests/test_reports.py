"""The Sales and Customer reports: their data recomputed independently from the marts.

The reports' SQL groups the marts by slice (day, store, order type); here every order line of
flat_order_details and every row of flat_customer_metrics is read as it is and aggregated in
plain Python (`MartData`), then compared with what the HTML files embed, with the headline KPIs
in the asset metadata, and (test_reports_browser.py) with every figure the page shows.
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
import pytest

from coffee_assets.core.reports import KINDS, headline, render_report, sparkline
from coffee_assets.defs.reports.assets import as_of_key, build_report_assets, latest_key
from coffee_assets.defs.reports.data import Marts, ReportDataError, load_report_data
from coffee_assets.defs.runs.books import RunBooks
from coffee_assets.platform.storage import LocalFolderBucket
from coffee_assets.platform.warehouse import DuckDBWarehouse
from coffee_assets.settings import Settings
from coffee_assets_tests.conftest import LAST, START

REPORT_NAMES = ("sales_report", "customer_report")
MARTS = Marts("dbt_models.flat_order_details", "dbt_models.flat_customer_metrics")
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


class MartData:
    """The marts as plain rows, and every figure of the reports computed from them in Python."""

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
    assert load_report_data(warehouse, MARTS)["as_of"] == LAST.isoformat()
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute(
            "update dbt_models.flat_customer_metrics set as_of_date = as_of_date - 1 "
            "where customer_id = (select min(customer_id) from dbt_models.flat_customer_metrics)"
        )
    with pytest.raises(ReportDataError) as exc:
        load_report_data(warehouse, MARTS)
    assert "dbt_models.flat_customer_metrics is as of" in str(exc.value)
    assert f"{LAST - timedelta(days=1)}, {LAST}" in str(exc.value)
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute("delete from dbt_models.flat_customer_metrics")
    with pytest.raises(ReportDataError, match="as of no day \\(it is empty\\)"):
        load_report_data(warehouse, MARTS)


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
        assert first_run[name] == (pipeline.settings.bucket_dir / latest_key(name)).read_bytes()

    # A latest file as of a later day (as after a backfill of an old range): kept.
    newer = b'<html><head><meta name="report-as-of" content="2099-01-01"></head></html>'
    (bucket / latest_key("sales_report")).write_bytes(newer)
    dated.unlink()
    result = _materialize_reports(bucket, warehouse)
    assert (bucket / latest_key("sales_report")).read_bytes() == newer
    assert dated.read_bytes() == first_dated
    assert (bucket / latest_key("customer_report")).read_bytes() == first_run["customer_report"]
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
