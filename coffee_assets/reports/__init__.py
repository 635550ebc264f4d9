"""The Sales and Customer reports as self-contained HTML files (pure logic, no Dagster).

data.py pulls compact, pre-aggregated arrays from the marts through the warehouse resource;
build.py renders them with the inlined app in templates/ and computes the headline KPIs.
"""

from coffee_assets.reports.build import (
    DEFAULT_DAYS,
    KINDS,
    Headline,
    default_period,
    headline,
    render_report,
    sparkline,
)
from coffee_assets.reports.data import ReportDataError, load_report_data

__all__ = [
    "DEFAULT_DAYS",
    "KINDS",
    "Headline",
    "ReportDataError",
    "default_period",
    "headline",
    "load_report_data",
    "render_report",
    "sparkline",
]
