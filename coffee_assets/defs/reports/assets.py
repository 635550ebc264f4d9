"""The Sales and Customer reports: self-contained HTML files, refreshed by every daily run.

Both are built from the marts as of the day flat_customer_metrics is measured as of (the newest
day of the data), once per run whatever its range (the assets are not partitioned), and written
through the storage resource:

- reports/<name>/as_of=YYYY-MM-DD.html: the report as of that day (building it again from the
  same data rewrites it byte for byte);
- reports/<name>.html: the latest report, replaced only by a report as of the same or a later
  day.

The metadata carries the URIs, the headline KPIs of the report's default view (the last 30 days
up to the as-of day, every store and order type) as numbers the UI can plot across
materializations, and a sparkline of daily revenue.
"""

import re
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core.reports import (
    DEFAULT_DAYS,
    Headline,
    default_period,
    headline,
    render_report,
    report_payload,
    sparkline,
)
from coffee_assets.defs.business import verdicts
from coffee_assets.defs.dbt.assets import LAST_DAILY_MODEL, mart_key
from coffee_assets.defs.dbt.coverage import coverage, held_days
from coffee_assets.defs.reports.data import load_report_data
from coffee_assets.defs.reports.marts import Marts, ReportDataError
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.metadata import markdown_table
from coffee_assets.platform.storage import Bucket
from coffee_assets.platform.target import target_of
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import Settings

GROUP = "reports"
OWNERS = ["team:analytics"]
PREFIX = "reports/"
# asset name -> report kind (templates/<kind>.html)
REPORTS = {"sales_report": "sales", "customer_report": "customers"}
DESCRIPTIONS = {
    "sales_report": (
        "Sales report (HTML, self-contained, works offline): revenue and orders per day with "
        "the chain's known events (openings, holidays, promotions, price changes) and the "
        "store-day incidents marked, per store revenue, orders and average order value, "
        "category breakdown, product mix; filterable by date range, store and order type."
    ),
    "customer_report": (
        "Customer report (HTML, self-contained, works offline): RFM segments, LTV and customer "
        "age, registered vs anonymous orders, repeat purchases and activity windows, customers "
        "by discount level; filterable by date range, store and order type."
    ),
}
AS_OF_META = re.compile(rb'<meta name="report-as-of" content="(\d{4}-\d{2}-\d{2})">')


def latest_key(name: str) -> str:
    return f"{PREFIX}{name}.html"


def as_of_key(name: str, as_of: str) -> str:
    return f"{PREFIX}{name}/as_of={as_of}.html"


def _other(name: str) -> str:
    return next(other for other in REPORTS if other != name)


def _link(name: str, href: str) -> str:
    title = "Customer report" if name == "customer_report" else "Sales report"
    return f'<a href="{href}">{title} &rarr;</a>'


def _latest_as_of(storage: Bucket, name: str) -> str | None:
    """The as-of day of the current latest file, or None when there is none."""
    try:
        head = storage.read_bytes(latest_key(name))[:2000]
    except FileNotFoundError:
        return None
    match = AS_OF_META.search(head)
    return match.group(1).decode() if match else None


def _uri_value(uri: str) -> dg.MetadataValue:
    return dg.MetadataValue.url(uri) if "://" in uri else dg.MetadataValue.path(uri)


def _kpi_metadata(kpis: Headline) -> dict[str, Any]:
    spark = sparkline(kpis.daily_revenue_cents)
    figures = markdown_table(
        ["revenue", "orders", "average order value", "active customers"],
        [
            (
                f"€{kpis.revenue:,.2f}",
                f"{kpis.orders:,}",
                "n/a" if kpis.aov is None else f"€{kpis.aov:,.2f}",
                f"{kpis.active_customers:,}",
            )
        ],
    ).value
    return {
        "period": f"{kpis.first}...{kpis.last}",
        "revenue": dg.MetadataValue.float(kpis.revenue),
        "orders": dg.MetadataValue.int(kpis.orders),
        # No orders at all in the period: no average (a missing entry, not a made-up 0).
        **({"aov": dg.MetadataValue.float(kpis.aov)} if kpis.aov is not None else {}),
        "active_customers": dg.MetadataValue.int(kpis.active_customers),
        "preview": dg.MetadataValue.md(
            f"**Daily revenue, {kpis.first} to {kpis.last}**\n\n"
            f"`{spark}`\n\n"
            f"min €{min(kpis.daily_revenue_cents) / 100:,.2f} · "
            f"max €{max(kpis.daily_revenue_cents) / 100:,.2f}\n\n" + figures
        ),
    }


def build_report_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    # The marts' rollups and customer metrics, the chain's calendar and the stores (names,
    # opening days: for the events the sales report marks on its charts), and the store-day
    # verdicts (the incidents it marks).
    keys = [mart_key(settings, model) for model in Marts.MODELS]
    last_daily = mart_key(settings, LAST_DAILY_MODEL)
    marts = Marts(*(".".join(key.path) for key in keys))

    @dg.multi_asset(
        name="reports",
        specs=[
            dg.AssetSpec(
                name,
                deps=[*keys, verdicts.KEY],
                description=DESCRIPTIONS[name],
                group_name=GROUP,
                kinds={"html"},
                owners=OWNERS,
            )
            for name in REPORTS
        ],
        # Unpartitioned: built once per run. The policy lets a single-run range (the CLI's
        # --partition-range, the UI's backfills) include them.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=target_of(settings).pool,
        can_subset=True,
    )
    def reports(
        context: dg.AssetExecutionContext,
        storage: Bucket,
        warehouse: Warehouse,
        run_books: RunBooks,
    ):
        """Both reports from one read of the marts, as of the customer metrics' day."""
        try:
            data = load_report_data(warehouse, marts, settings.holidays)
        except ReportDataError as exc:
            raise dg.Failure(description=f"reports: {exc}") from None
        as_of = data["as_of"]
        # The days the reports are built without (a quarantined day, a failed run), said in
        # their header and metadata.
        as_of_day = date.fromisoformat(as_of)
        held = coverage(
            context.instance,
            last_daily,
            settings.start_date,
            as_of_day,
            held_days(
                warehouse.query,
                warehouse.table_ref(marts.store_days),
                settings.start_date,
                as_of_day,
            ),
        )
        data["coverage"], data["coverage_complete"] = held.note(), held.complete
        if not held.complete:
            context.log.warning(f"reports: {held.note()}")
        unjudged = data["unjudged"]
        if unjudged["days"]:
            context.log.warning(
                f"reports: {verdicts.KEY.to_user_string()} holds no verdict for "
                f"{unjudged['days']} of the report's days ({unjudged['first']}..."
                f"{unjudged['last']}): their incidents are not marked; a run of those days "
                "writes them"
            )
        kpis = headline(data, *default_period(data))
        context.log.info(
            f"Reports as of {as_of}: {data['n_days']} days from {data['first_day']}, "
            f"{len(data['customers']['id'])} customers, {len(data['events']['slice'])} "
            f"customer-days, {len(data['calendar'])} calendar events, "
            f"{len(data['incidents'])} store-day incidents"
        )
        payload = report_payload(data)  # one JSON text for every file written below
        for key in context.selected_asset_keys:
            name = key.to_user_string()
            other = _other(name)
            dated = render_report(
                REPORTS[name],
                data,
                other_link=_link(other, f"../{other}/as_of={as_of}.html"),
                payload=payload,
            )
            dated_uri = storage.write_bytes(as_of_key(name, as_of), dated)
            current = _latest_as_of(storage, name)
            if current is None or current <= as_of:
                latest = render_report(
                    REPORTS[name], data, other_link=_link(other, f"{other}.html"), payload=payload
                )
                latest_uri = storage.write_bytes(latest_key(name), latest)
                latest_note = f"replaced (was as of {current})" if current else "written"
            else:
                latest_uri = storage.uri(latest_key(name))
                latest_note = f"kept: it is as of {current}, later than {as_of}"
                context.log.info(f"{name}: {latest_key(name)} {latest_note}")
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "dagster/uri": latest_uri,
                    "as_of": as_of,
                    "as_of_uri": _uri_value(dated_uri),
                    "latest": latest_note,
                    "bytes": dg.MetadataValue.int(len(dated)),
                    "default_view": f"last {DEFAULT_DAYS} days, every store and order type",
                    "days_without_verdicts": dg.MetadataValue.int(unjudged["days"]),
                    **held.metadata(),
                    **_kpi_metadata(kpis),
                },
            )

    return [reports]
