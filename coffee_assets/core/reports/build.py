"""Render a report as one self-contained HTML file, and its headline figures for the UI.

The file inlines everything it needs: the CSS, the data (JSON), plotly.js (from the plotly
Python package, so nothing is downloaded, neither at build time nor at view time) and the app
(templates/report.js plus the report's own script). It opens from a file:// URL offline.
The same data gives the same bytes (no build timestamp): re-running a partition rewrites an
identical file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

KINDS = ("sales", "customers")
TITLES = {"sales": "Sales report", "customers": "Customer report"}
# The report's default view, and the period of the headline KPIs in the UI: the last 30 days.
DEFAULT_DAYS = 30
SPARK = "▁▂▃▄▅▆▇█"


@cache
def templates() -> jinja2.Environment:
    """The report templates (templates/): report.html includes the report's body, notes and
    script by its kind. Values are HTML-escaped unless marked safe; a missing one is an error."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("coffee_assets.core.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["script_safe"] = lambda text: Markup(_script_safe(str(text)))
    return environment


@cache
def plotly_js() -> str:
    """plotly.js, minified, as the plotly package ships it (MIT)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _script_safe(text: str) -> str:
    # Inside <script>, only "</script" (any case) and "<!--" can end or confuse the element.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def report_payload(data: dict[str, Any]) -> str:
    """`data` as the reports embed it (JSON): tens of megabytes at volume, so a caller that
    renders several files from one `data` makes it once and passes it to each."""
    return _script_safe(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


def render_report(
    kind: str, data: dict[str, Any], *, other_link: str = "", payload: str | None = None
) -> bytes:
    """The report's HTML file (UTF-8). `data` comes from `load_report_data`; `payload` is
    `report_payload(data)`, made here when not given."""
    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}; expected one of {KINDS}")
    if payload is None:
        payload = report_payload(data)
    page = (
        templates()
        .get_template("report.html")
        .render(
            kind=kind,
            title=TITLES[kind],
            as_of=data["as_of"],
            first_day=data["first_day"],
            coverage=data.get("coverage") or f"as of {data['as_of']}",
            partial=not data.get("coverage_complete", True),
            other_link=Markup(other_link),  # the link to the other report, made by the caller
            data=Markup(payload),
            plotly=Markup(_script_safe(plotly_js())),
        )
    )
    return page.encode("utf-8")


# ---------------------------------------------------------------------------- headline figures
@dataclass(frozen=True)
class Headline:
    """The KPIs of a period, all stores and order types (what the UI shows as metadata)."""

    first: date
    last: date
    revenue_cents: int
    orders: int
    active_customers: int
    daily_revenue_cents: list[int]

    @property
    def revenue(self) -> float:
        return self.revenue_cents / 100

    @property
    def aov(self) -> float | None:
        if not self.orders:
            return None
        return float(
            (Decimal(self.revenue_cents) / self.orders / 100).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
        )


def default_period(data: dict[str, Any], days: int = DEFAULT_DAYS) -> tuple[int, int]:
    """Day indexes (inclusive) of the report's default view: the last `days` days."""
    n = data["n_days"]
    return max(0, n - days), n - 1


def headline(data: dict[str, Any], first: int, last: int) -> Headline:
    """KPIs over day indexes first...last (inclusive) of every store and order type."""
    width = len(data["store_ids"]) * len(data["order_types"])
    daily = [
        sum(data["sales"]["revenue"][d * width : (d + 1) * width]) for d in range(first, last + 1)
    ]
    orders = sum(data["sales"]["orders"][first * width : (last + 1) * width])
    active = {
        customer
        for customer, slice_ in zip(data["events"]["customer"], data["events"]["slice"])
        if first <= slice_ // width <= last
    }
    start = date.fromisoformat(data["first_day"])
    return Headline(
        first=start + timedelta(days=first),
        last=start + timedelta(days=last),
        revenue_cents=sum(daily),
        orders=orders,
        active_customers=len(active),
        daily_revenue_cents=daily,
    )


def sparkline(values: list[int]) -> str:
    """A unicode sparkline (one block per value, scaled between the min and the max)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARK[3] * len(values)
    return "".join(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))] for v in values)
