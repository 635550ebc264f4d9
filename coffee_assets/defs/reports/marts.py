"""The marts the reports read, the values their charts show in order, and the slice layout
(days x stores x order types) the report data is indexed by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from coffee_assets.core.vocabulary import PRODUCT_CATEGORIES, PRODUCT_MIX_TYPES, RFM_SEGMENTS


@dataclass(frozen=True)
class Marts:
    """The dbt relations the reports read, as `schema.table` (from their asset keys): the
    rollups of the order lines (one row per day, store and order type, and per category, mix or
    customer within it), never the lines themselves: a report costs the same whatever the
    volume of a day."""

    store_days: str  # agg_store_days: the sales of a slice
    categories: str  # agg_store_day_categories
    mixes: str  # agg_store_day_mixes
    customer_days: str  # agg_customer_days: registered customers' orders per slice
    customer_metrics: str  # flat_customer_metrics
    calendar: str  # stg_business_events: the chain's known events
    stores: str  # dim_store: the stores' names and opening days
    prices: str  # stg_product_prices: the price list (its changes and promotions)
    products: str  # stg_products: the products' names

    MODELS = (
        "agg_store_days",
        "agg_store_day_categories",
        "agg_store_day_mixes",
        "agg_customer_days",
        "flat_customer_metrics",
        "stg_business_events",
        "dim_store",
        "stg_product_prices",
        "stg_products",
    )


# The accepted values of the marts (dbt tests), in the order the charts show them.
CATEGORIES = PRODUCT_CATEGORIES
MIX_TYPES = PRODUCT_MIX_TYPES
SEGMENTS = RFM_SEGMENTS

# Per-slice measures of `sales` (money in cents).
SALES_MEASURES = [
    "orders",
    "revenue",
    "sub_total",
    "discount",
    "items",
    "reg_orders",
    "reg_revenue",
]


class ReportDataError(Exception):
    """The marts cannot give a consistent report."""


def cents(value: Any) -> int:
    """A money value (Decimal on DuckDB and BigQuery NUMERIC, float on FLOAT64) in cents."""
    if value is None:
        return 0
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Grid:
    """The slice layout: days x stores x order types."""

    first_day: date
    n_days: int
    store_ids: list[int]
    order_types: list[str]

    @property
    def n_slices(self) -> int:
        return self.n_days * len(self.store_ids) * len(self.order_types)

    def slice(self, day: date, store_id: int, order_type: str) -> int:
        d = (day - self.first_day).days
        s = self.store_ids.index(store_id)
        t = self.order_types.index(order_type)
        return (d * len(self.store_ids) + s) * len(self.order_types) + t
