"""The dbt project's models as assets, built by one dbt invocation per run.

How a model is materialized decides how Dagster partitions it:

- incremental models (fact_order_details, flat_order_details) grow by day: daily partitions,
  single-run backfills, and a run replaces exactly its window's days (dbt vars min_date and
  max_date);
- views (staging, dimensions) and flat_customer_metrics (a table rebuilt as of the newest day)
  are unpartitioned: one materialization per run, whatever the range.

A run of a 700-day range therefore records 700 materializations of each incremental model and
one of everything else. dbt tests become asset checks.
"""

import json
import shutil
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from coffee_assets.dbt_project import prepared_dbt_project
from coffee_assets.freshness import policy_for
from coffee_assets.metadata import markdown_table
from coffee_assets.partitions import partition_days, run_days
from coffee_assets.resources import Warehouse
from coffee_assets.settings import DBT_SCHEMA, Settings


def is_daily(dbt_resource_props: Mapping[str, Any]) -> bool:
    """Incremental models are built by day; everything else is rebuilt whole."""
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
        spec = spec.replace_attributes(freshness_policy=policy_for(spec.key))
        if not is_daily(self.get_resource_props(manifest, unique_id)):
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


def dbt_vars(window: tuple[date, date] | None, history_start: date) -> dict[str, str]:
    """The dbt vars of a run: the partition window (both ends inclusive), if the run has one."""
    vars_ = {"start_date": history_start.isoformat()}
    if window:
        vars_ |= {"min_date": window[0].isoformat(), "max_date": window[1].isoformat()}
    return vars_


def dbt_build_args(vars_: Mapping[str, str]) -> list[str]:
    return ["build", "--vars", json.dumps(dict(vars_))]


def build_dbt_assets(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> dg.AssetsDefinition:
    project = prepared_dbt_project(settings.target)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="coffee_dbt_models",
        # dbt's unit tests test the SQL, not the data: the test suite runs them (dbt's advice),
        # every run need not.
        exclude="resource_type:unit_test",
        dagster_dbt_translator=CoffeeDbtTranslator(
            partitions_def,
            DagsterDbtTranslatorSettings(
                # Not the source tests: a step that carries checks on an upstream asset is
                # exempt from that asset's blocking checks (Dagster's build_node_deps), so dbt
                # would start on a raw table whose blocking checks failed. The raw tables'
                # Dagster checks (coffee_assets/checks) guard the sources.
                enable_asset_checks=True,
                enable_source_tests_as_checks=False,
            ),
        ),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=pool,
    )
    def coffee_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ):
        window = partition_days(context) if context.has_partition_key_range else None
        vars_ = {**dbt_vars(window, settings.start_date), **warehouse.dbt_vars()}
        context.log.info(f"dbt build with vars {vars_}")
        invocation = dbt.cli(dbt_build_args(vars_), context=context, raise_on_error=False)
        # The events are held until dbt exits: DuckDB's file lock lets the row counts be read
        # only then (dagster-dbt's fetch_row_counts would keep a connection open in this process).
        # Failed tests and models still reach Dagster as failed checks before the step fails.
        events = list(invocation.stream())
        days = len(run_days(context)) if window else 0
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                relation = ".".join(key.path)
                if days and context.assets_def.specs_by_key[key].partitions_def is not None:
                    context.log.info(f"Recording {days} daily materialization(s) of {relation}")
                table = warehouse.summary(relation)
                event = event.with_metadata(
                    {
                        **event.metadata,
                        "dagster/row_count": table.rows,
                        "preview": markdown_table(table.preview_columns, table.preview_rows),
                    }
                )
            yield event
        if not invocation.is_successful():
            raise invocation.get_error()
        # Each invocation gets its own target folder (compiled SQL, logs); keep failed ones only.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    return coffee_dbt_models
