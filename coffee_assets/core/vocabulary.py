"""The domain's vocabulary (order types, product categories and mixes, RFM segments, discount
rates), read from the one place that holds it: the vars of coffee_dbt/dbt_project.yml, which the
dbt tests use too. Pure Python."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from coffee_assets.core.project import DBT_PROJECT_DIR


@cache
def _vars() -> dict[str, Any]:
    with open(DBT_PROJECT_DIR / "dbt_project.yml") as handle:
        return yaml.safe_load(handle)["vars"]


ORDER_TYPES: list[str] = _vars()["order_types"]
PRODUCT_CATEGORIES: list[str] = _vars()["product_categories"]
PRODUCT_MIX_TYPES: list[str] = _vars()["product_mix_types"]
RFM_SEGMENTS: list[str] = _vars()["rfm_segments"]
DISCOUNT_RATES: list[float] = _vars()["discount_rates"]
EVENT_TYPES: list[str] = _vars()["event_types"]
