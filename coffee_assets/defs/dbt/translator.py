"""How dbt's manifest becomes Dagster assets: keys, groups, partitions, owners, freshness.

How a model is materialized decides how Dagster partitions it (see assets.py): incremental models
grow by day, everything else is rebuilt whole.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from coffee_assets.core.project import DBT_SCHEMA
from coffee_assets.platform.freshness import DAILY_BY_NINE

# The marts people read in the morning: yesterday must be in them by 09:00 (freshness.py).
FRESH_MODELS = frozenset({"flat_order_details", "flat_customer_metrics"})


def is_daily(dbt_resource_props: Mapping[str, Any]) -> bool:
    """Incremental models are built by day (their run window); everything else is rebuilt whole.
    The rollups too are daily: a backfill of the daily assets from the UI then rebuilds them with
    the order lines they sum, never leaving them behind."""
    return (
        dbt_resource_props["resource_type"] == "model"
        and dbt_resource_props.get("config", {}).get("materialized") == "incremental"
    )


def sources_read(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """The dbt sources a node reads, directly or through other models."""
    found: set[str] = set()
    pending = [unique_id]
    while pending:
        node = manifest["nodes"].get(pending.pop()) or {}
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent.startswith("source."):
                found.add(parent)
            else:
                pending.append(parent)
    return found


class CoffeeDbtTranslator(DagsterDbtTranslator):
    """Models are keyed [schema, model] like the raw tables, grouped by their folder, and daily
    partitioned when incremental (see the module doc).

    A daily model also depends directly on every raw table it reads through views: a run that
    selects only the daily assets (a backfill of them from the UI) leaves the views out, and
    Dagster orders a multi-asset's step by the dependencies of the assets it selects: without
    these edges dbt could start before the raw tables are loaded."""

    def __init__(
        self, partitions_def: dg.PartitionsDefinition, settings: DagsterDbtTranslatorSettings
    ):
        super().__init__(settings=settings)
        self.daily_partitions = partitions_def

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any):
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "model" and props["name"] in FRESH_MODELS:
            spec = spec.replace_attributes(freshness_policy=DAILY_BY_NINE)
        if not is_daily(props):
            return spec
        raw_tables = [
            self.get_asset_key(manifest["sources"][source])
            for source in sorted(sources_read(manifest, unique_id))
        ]
        return spec.replace_attributes(partitions_def=self.daily_partitions).merge_attributes(
            deps=raw_tables
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # [source name, table]
        return dg.AssetKey([DBT_SCHEMA, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])  # e.g. [coffee_dbt, marts, core, dim_order]
        return fqn[-2] if len(fqn) > 2 else DBT_SCHEMA
