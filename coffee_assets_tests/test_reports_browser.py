"""The reports in a real browser: Debian's chromium, headless, offline, driven by playwright.

Each report the pipeline wrote is opened from a file:// URL with the network off (an offline
context, and every request that is not a file aborted and recorded): no console error, no
request, every chart drawn, and every figure the page computes for several filters equal to
the same figure recomputed in Python from the marts (test_reports.MartData). Screenshots land in
test-artifacts/reports/ (git-ignored).

The events and incidents on the daily charts: the pipeline's New Year's Day, and, from a sales
report built from test_reports' synthetic warehouse (ten weeks: a store's opening, an outage,
holidays, promotions, a price change), how the store filter chooses them.

chromium is not optional here: CI installs it (scripts/install-browser.sh), so a missing
browser fails these tests instead of skipping them.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from coffee_assets.core.project import PROJECT_ROOT
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.core.reports import render_report
from coffee_assets.defs.reports.assets import latest_key
from coffee_assets.defs.reports.data import load_report_data
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets_tests.conftest import LAST, START
from coffee_assets_tests.test_reports import (
    MARTS,
    SYNTHETIC_FIRST,
    SYNTHETIC_LAST,
    SYNTHETIC_OPENING,
    SYNTHETIC_OUTAGE,
    MartData,
    WarehouseFile,
    synthetic_warehouse,
)

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "reports"
REPORTS = {"sales_report": "sales", "customer_report": "customers"}
CHARTS = {"sales_report": 8, "customer_report": 10}
STORE = "Ethiopia Coffee"
FILTERS = [
    {},  # the default view: the last 30 days, here the whole history
    {"store": STORE},
    {"order_type": "Takeaway", "from": str(START + timedelta(days=1)), "to": str(LAST)},
    {"store": "Indonesia Coffee", "order_type": "In-store", "from": str(START), "to": str(START)},
]


def chromium_path() -> str:
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.fail(
        "chromium is missing: the report tests need Debian's chromium "
        "(bash scripts/install-browser.sh, or apt-get install -y chromium)"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the playwright Python package is missing: pip install playwright "
            "(its own browsers are not needed: the tests drive Debian's chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        yield browser
        browser.close()


class Report:
    """One report open in its own offline browser context, with what it logged and requested."""

    def __init__(self, browser, path: Path):
        self.context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error"
                else None
            ),
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.REPORT && window.REPORT.renders > 0", timeout=30_000)

    def _route(self, route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def figures(self, filter_: dict) -> dict:
        """The figures the page shows for a filter, set on top of the default view."""
        self.page.evaluate("window.REPORT.reset()")
        return self.page.evaluate("(f) => window.REPORT.setFilter(f)", filter_)

    def charts(self) -> list[dict]:
        """Every chart div: its size and how many drawn marks (non-empty SVG paths) it has."""
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.chart')).map((div) => ({
                id: div.id,
                width: div.getBoundingClientRect().width,
                height: div.getBoundingClientRect().height,
                svgs: div.querySelectorAll('svg.main-svg').length,
                traces: (div.data || []).length,
                marks: Array.from(div.querySelectorAll(
                    'g.point > path, g.trace path.js-line, g.slice > path.surface'
                )).filter((p) => {
                    const d = p.getAttribute('d') || '';
                    return d.length > 4 && d !== 'M0,0Z' && p.getBBox().width > 0;
                }).length,
            }))"""
        )

    def event_marks(self, chart: str) -> dict:
        """What a daily chart marks: its shapes (spans and dotted lines), the hover texts of its
        event and incident markers, and the shapes drawn in its SVG."""
        return self.page.evaluate(
            """(id) => {
                const div = document.getElementById(id);
                const markers = (name) =>
                    (div.data.find((t) => t.name === name) || {}).hovertext || [];
                return {
                    shapes: (div.layout.shapes || []).map((s) => ({
                        type: s.type, x0: s.x0, x1: s.x1, dash: (s.line || {}).dash || null,
                    })),
                    events: markers("Events"),
                    incidents: markers("Incidents"),
                    drawn: div.querySelectorAll('g.shapelayer path').length,
                };
            }""",
            chart,
        )

    def event_list(self) -> list[list[str]]:
        """The rows of "Events in this period": type, dates, event, store."""
        return self.page.evaluate(
            """() => document.getElementById('events-table').hidden ? [] : Array.from(
                document.querySelectorAll('#events-list tr'),
                (row) => Array.from(row.cells, (cell) => cell.textContent))"""
        )

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def marts(pipeline) -> MartData:
    return MartData(pipeline)


@pytest.fixture(params=list(REPORTS))
def report(request, pipeline, browser) -> Iterator[tuple[str, Report]]:
    name = request.param
    opened = Report(browser, pipeline.settings.bucket_dir / latest_key(name))
    yield name, opened
    opened.close()


def assert_same(got, expected, where: str = "figures") -> None:
    """Equal structures; floats (ratios, shares) equal to 1e-12 relative."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), where
        assert set(got) == set(expected), f"{where}: keys {sorted(got)} != {sorted(expected)}"
        for key in expected:
            assert_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: {got} != {expected}"
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got is not None and math.isclose(got, expected, rel_tol=1e-12), (
            f"{where}: {got} != {expected}"
        )
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


def test_opens_offline_without_errors_and_draws_every_chart(report):
    name, page = report
    charts = page.charts()
    assert len(charts) == CHARTS[name], [c["id"] for c in charts]
    for chart in charts:
        assert chart["svgs"] >= 1, f"{chart['id']}: no SVG"
        assert chart["width"] > 100 and chart["height"] > 100, chart
        assert chart["traces"] >= 1 and chart["marks"] >= 1, f"{chart['id']} is empty: {chart}"
    page.screenshot(f"{name}-default")
    assert page.errors == []
    assert page.requests == [], "the report tried to reach the network"


def test_every_figure_matches_the_marts_for_each_filter(report, marts):
    name, page = report
    for filter_ in FILTERS:
        figures = page.figures(filter_)
        shown = figures.pop("filter")
        # The default view is the last 30 days: here the pipeline's whole history.
        first = date.fromisoformat(filter_.get("from", str(START)))
        last = date.fromisoformat(filter_.get("to", str(LAST)))
        assert shown == {
            "from": str(first),
            "to": str(last),
            "store": filter_.get("store"),
            "order_type": filter_.get("order_type"),
        }
        expected = marts.figures(
            REPORTS[name], first, last, filter_.get("store"), filter_.get("order_type")
        )
        assert_same(figures, expected, f"{name} {filter_ or 'default'}")
    assert page.errors == []
    assert page.requests == []


def money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


def test_store_filter_in_the_page_changes_the_revenue_kpi(pipeline, browser, marts):
    """A user's clicks: the store drop-down, then the order type and a date in the inputs."""
    page = Report(browser, pipeline.settings.bucket_dir / latest_key("sales_report"))
    try:
        kpi = page.page.locator("#kpi-revenue")
        everything = marts.sales_figures(START, LAST)["kpis"]
        assert kpi.inner_text() == money(everything["revenue"])

        page.page.select_option("#filter-store", label=STORE)
        store = marts.sales_figures(START, LAST, STORE)["kpis"]
        assert store["revenue"] != everything["revenue"]
        page.page.wait_for_function(
            "(text) => document.querySelector('#kpi-revenue').textContent === text",
            arg=money(store["revenue"]),
        )
        assert page.page.locator("#kpi-orders").inner_text() == f"{store['orders']:,}"
        assert page.page.locator("#kpi-aov").inner_text() == money(store["aov"])
        assert page.page.locator("#kpi-active_customers").inner_text() == (
            f"{store['active_customers']:,}"
        )
        page.screenshot(f"sales_report-store-{STORE.replace(' ', '_')}")

        page.page.select_option("#filter-type", label="Takeaway")
        page.page.fill("#filter-from", str(LAST))
        page.page.dispatch_event("#filter-from", "change")
        narrow = marts.sales_figures(LAST, LAST, STORE, "Takeaway")["kpis"]
        page.page.wait_for_function(
            "(text) => document.querySelector('#kpi-revenue').textContent === text",
            arg=money(narrow["revenue"]),
        )
        assert page.page.locator("#period-label").inner_text() == f"1 day: {LAST} to {LAST}"
        page.screenshot("sales_report-store-takeaway-one-day")
        for chart in page.charts():
            assert chart["svgs"] >= 1 and chart["traces"] >= 1, chart

        page.page.click("#filter-reset")
        page.page.wait_for_function(
            "(text) => document.querySelector('#kpi-revenue').textContent === text",
            arg=money(everything["revenue"]),
        )
        assert page.errors == []
        assert page.requests == []
    finally:
        page.close()


# ------------------------------------------------------------------- events and incidents
def test_the_daily_charts_mark_new_years_day(pipeline, browser):
    """The pipeline's first day is a public holiday of the whole chain: a dotted line on that
    day on both daily charts, a marker whose hover names it, and a row in the list; every
    store shows it."""
    page = Report(browser, pipeline.settings.bucket_dir / latest_key("sales_report"))
    try:
        for chart in ("chart-daily-revenue", "chart-daily-orders"):
            marks = page.event_marks(chart)
            assert marks["shapes"] == [
                {"type": "line", "x0": str(START), "x1": str(START), "dash": "dot"}
            ], chart
            assert marks["drawn"] == 1, chart
            assert marks["events"] == [
                f"<b>Public holiday</b>: New Year's Day<br>{START} · all stores"
            ], chart
            assert marks["incidents"] == []
        holiday = [["Public holiday", str(START), "New Year's Day", "All stores"]]
        assert page.event_list() == holiday
        page.page.select_option("#filter-store", label=STORE)
        page.page.wait_for_function(
            "(store) => window.REPORT.figures().filter.store === store", arg=STORE
        )
        assert page.event_list() == holiday
        assert len(page.event_marks("chart-daily-revenue")["shapes"]) == 1
        # A period without it: no mark, and the list says there is nothing.
        page.page.fill("#filter-from", str(LAST))
        page.page.dispatch_event("#filter-from", "change")
        page.page.wait_for_function(
            "(day) => window.REPORT.figures().filter.from === day", arg=str(LAST)
        )
        assert page.event_marks("chart-daily-revenue")["shapes"] == []
        assert page.event_list() == []
        assert page.page.locator("#events-empty").is_visible()
        assert page.errors == []
        assert page.requests == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def synthetic_sales(tmp_path_factory) -> tuple[WarehouseFile, Path]:
    """The sales report of test_reports' synthetic warehouse, rendered as the asset renders it."""
    folder = tmp_path_factory.mktemp("synthetic-report")
    warehouse = synthetic_warehouse(folder / "warehouse.duckdb")
    data = load_report_data(DuckDBWarehouse(path=str(warehouse.path)), MARTS, HolidayCalendar())
    path = folder / "sales_report.html"
    path.write_bytes(render_report("sales", data))
    return warehouse, path


def test_the_store_filter_chooses_the_events_and_incidents_on_the_charts(browser, synthetic_sales):
    """The last 30 days of the synthetic history: Kenya Coffee's opening weeks (a span from the
    period's first day, it began before), a promotion (a span), a price change and Women's Day
    (dotted lines), a promotion running past the report's day (a span to its last day) and
    Brazil Coffee's outage (a marker). Another store hides the opening and the outage; the
    chain's events stay."""
    warehouse, path = synthetic_sales
    marts = MartData(warehouse, as_of=SYNTHETIC_LAST)
    page = Report(browser, path)
    try:
        first = SYNTHETIC_LAST - timedelta(days=29)
        for filter_ in (
            {},
            {"store": "Brazil Coffee"},
            {"store": "Ethiopia Coffee", "order_type": "Takeaway"},
            {"store": "Kenya Coffee", "from": str(SYNTHETIC_FIRST), "to": str(SYNTHETIC_LAST)},
        ):
            figures = page.figures(filter_)
            figures.pop("filter")
            expected = marts.sales_figures(
                date.fromisoformat(filter_.get("from", str(first))),
                date.fromisoformat(filter_.get("to", str(SYNTHETIC_LAST))),
                filter_.get("store"),
                filter_.get("order_type"),
            )
            assert_same(figures, expected, f"synthetic sales {filter_ or 'default'}")

        page.page.evaluate("window.REPORT.reset()")
        marks = page.event_marks("chart-daily-revenue")
        # A span covers its days' bars, from the first's left edge (12 hours before its
        # midnight) to the last's right edge; the opening began before the period: from the
        # period's first day.
        assert SYNTHETIC_OPENING < first
        opening_span = {
            "type": "rect", "x0": f"{first - timedelta(days=1)} 12:00", "x1": "2025-03-09 12:00",
            "dash": None,
        }  # fmt: skip
        assert marks["shapes"] == [
            opening_span,
            {"type": "rect", "x0": "2025-02-16 12:00", "x1": "2025-02-21 12:00", "dash": None},
            {"type": "line", "x0": "2025-02-24", "x1": "2025-02-24", "dash": "dot"},
            {"type": "line", "x0": "2025-03-08", "x1": "2025-03-08", "dash": "dot"},
            {"type": "rect", "x0": "2025-03-09 12:00", "x1": "2025-03-12 12:00", "dash": None},
        ]
        assert marks["drawn"] == 5
        [outage] = marks["incidents"]
        assert "Brazil Coffee, 2025-03-04, orders: 0" in outage and "no orders recorded" in outage
        assert page.event_list() == [
            ["Store opening", "2025-02-10 to 2025-03-09", "Kenya Coffee opens", "Kenya Coffee"],
            ["Promotion", "2025-02-17 to 2025-02-21", "Every pastry at 20% off", "All stores"],
            ["Price change", "2025-02-24", "Espresso up 10%", "All stores"],
            ["Incident", str(SYNTHETIC_OUTAGE[1]), marts.incidents[0].text, "Brazil Coffee"],
            ["Public holiday", "2025-03-08", "International Women's Day", "All stores"],
            ["Promotion", "2025-03-10 to 2025-03-16", "Latte at 20% off", "All stores"],
        ]
        page.screenshot("sales_report-events")

        # The user picks another store in the drop-down: Kenya's opening and Brazil's outage go.
        page.page.select_option("#filter-store", label="Ethiopia Coffee")
        page.page.wait_for_function(
            "() => window.REPORT.figures().filter.store === 'Ethiopia Coffee'"
        )
        for chart in ("chart-daily-revenue", "chart-daily-orders"):
            marks = page.event_marks(chart)
            assert opening_span not in marks["shapes"] and len(marks["shapes"]) == 4, chart
            assert marks["drawn"] == 4 and marks["incidents"] == [], chart
        assert [row[2] for row in page.event_list()] == [
            "Every pastry at 20% off", "Espresso up 10%", "International Women's Day",
            "Latte at 20% off",
        ]  # fmt: skip
        page.screenshot("sales_report-events-Ethiopia_Coffee")
        page.page.select_option("#filter-store", label="Brazil Coffee")
        page.page.wait_for_function(
            "() => window.REPORT.figures().filter.store === 'Brazil Coffee'"
        )
        assert len(page.event_marks("chart-daily-revenue")["incidents"]) == 1
        assert [row[0] for row in page.event_list()] == [
            "Promotion", "Price change", "Incident", "Public holiday", "Promotion",
        ]  # fmt: skip
        assert page.errors == []
        assert page.requests == []
    finally:
        page.close()
