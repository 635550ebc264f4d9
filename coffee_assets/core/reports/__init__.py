"""The Sales and Customer reports as self-contained HTML files: rendering, pure (no Dagster).

build.py renders the report data (defs/reports/data.py reads it from the marts) with the
inlined app in templates/ and computes the headline KPIs.
"""

from coffee_assets.core.reports.build import (
    DEFAULT_DAYS,
    KINDS,
    Headline,
    default_period,
    headline,
    render_report,
    report_payload,
    sparkline,
)

__all__ = [
    "DEFAULT_DAYS",
    "KINDS",
    "Headline",
    "default_period",
    "headline",
    "render_report",
    "report_payload",
    "sparkline",
]
