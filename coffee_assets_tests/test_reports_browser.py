"""The reports in a real browser: Debian's chromium, headless, offline, driven by playwright.

Each report the pipeline wrote is opened from a file:// URL with the network off (an offline
context, and every request that is not a file aborted and recorded): no console error, no
request, every chart drawn, and every figure the page computes for several filters equal to
the same figure recomputed in Python from the marts (test_reports.MartData). Screenshots land in
test-artifacts/reports/ (git-ignored).

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
from coffee_assets.defs.reports.assets import latest_key
from coffee_assets_tests.conftest import LAST, START
from coffee_assets_tests.test_reports import MartData

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
