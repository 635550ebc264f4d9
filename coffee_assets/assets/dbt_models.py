"""The dbt project's models as assets, built for a partition range in one dbt invocation.

The models read the window from dbt vars: incremental models (dim_order, fact_order_details,
flat_order_details) replace only the window's days, flat_customer_metrics is rebuilt as of the
window's last day, and the small dimensions are rebuilt whole. dbt tests become asset checks.
"""

import json
import shutil
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from coffee_assets.metadata import markdown_table
from coffee_assets.partitions import partition_days
from coffee_assets.resources import Warehouse
from coffee_assets.resources.dbt import dbt_cli_resource
from coffee_assets.settings import DBT_PROJECT_DIR, DBT_SCHEMA, Settings


class CoffeeDbtTranslator(DagsterDbtTranslator):
    """Models are keyed [schema, model] like the raw tables, and grouped by their folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # [source name, table]
        return dg.AssetKey([DBT_SCHEMA, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])  # e.g. [coffee_dbt, marts, core, dim_order]
        return fqn[-2] if len(fqn) > 2 else DBT_SCHEMA


def dbt_vars(first: date, last: date, history_start: date) -> dict[str, str]:
    """The dbt vars of a partition range (both ends inclusive)."""
    return {
        "min_date": first.isoformat(),
        "max_date": last.isoformat(),
        "start_date": history_start.isoformat(),
    }


def dbt_build_args(vars_: Mapping[str, str]) -> list[str]:
    return ["build", "--vars", json.dumps(dict(vars_))]


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any source file of the dbt project."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    project_dir = Path(project.project_dir)
    generated = {
        project_dir / project.target_path,
        project_dir / "logs",
        project_dir / "dbt_packages",
    }
    sources = [
        path
        for path in project_dir.rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml"} and not generated.intersection(path.parents)
    ]
    built = manifest.stat().st_mtime
    return any(path.stat().st_mtime > built for path in sources)


def coffee_dbt_project(target: str) -> DbtProject:
    """The dbt project, with a manifest parsed when missing or older than the project's files."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, target=target)
    if manifest_is_stale(project):
        dbt_cli_resource(target).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def build_dbt_assets(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> dg.AssetsDefinition:
    project = coffee_dbt_project(settings.target)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="coffee_dbt_models",
        dagster_dbt_translator=CoffeeDbtTranslator(
            settings=DagsterDbtTranslatorSettings(
                # Not the source tests: a step that carries checks on an upstream asset is
                # exempt from that asset's blocking checks (Dagster's build_node_deps), so dbt
                # would start on a raw table whose blocking checks failed. dbt build still runs
                # them; the raw tables' Dagster checks (coffee_assets/checks) report the rules.
                enable_asset_checks=True,
                enable_source_tests_as_checks=False,
            )
        ),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=pool,
    )
    def coffee_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ):
        first, last = partition_days(context)
        vars_ = {**dbt_vars(first, last, settings.start_date), **warehouse.dbt_vars()}
        context.log.info(f"dbt build for {first}...{last} with vars {vars_}")
        invocation = dbt.cli(dbt_build_args(vars_), context=context, raise_on_error=False)
        # The events are held until dbt exits: DuckDB's file lock lets the row counts be read
        # only then (dagster-dbt's fetch_row_counts would keep a connection open in this process).
        # Failed tests and models still reach Dagster as failed checks before the step fails.
        events = list(invocation.stream())
        for event in events:
            if isinstance(event, dg.Output):
                relation = ".".join(context.asset_key_for_output(event.output_name).path)
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
