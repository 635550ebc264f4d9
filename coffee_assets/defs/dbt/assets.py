"""The dbt project's models as assets, built by one dbt invocation per run.

How a model is materialized decides how Dagster partitions it:

- incremental models (fact_order_details, flat_order_details) grow by day: daily partitions,
  single-run backfills, and a run replaces exactly its window's days (`window_env`: passed in
  dbt's environment, so dbt's parsed project stays valid from one window to the next);
- views (staging, dimensions), agg_customers and flat_customer_metrics (tables as of the newest
  day) are unpartitioned: one materialization per run, whatever the range.

A run of a 700-day range therefore records 700 materializations of each incremental model and
one of everything else. dbt tests become asset checks.
"""

import functools
import json
import shutil
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslatorSettings,
    dbt_assets,
    get_asset_key_for_model,
)

from coffee_assets.core.dates import as_date
from coffee_assets.defs.dbt.coverage import Coverage, coverage, held_days
from coffee_assets.defs.dbt.project import prepared_dbt_project
from coffee_assets.defs.dbt.resources import CoffeeDbtCliResource
from coffee_assets.defs.dbt.translator import CoffeeDbtTranslator
from coffee_assets.defs.raw.quarantine import DayStates, day_states
from coffee_assets.operations.books import RunBooks
from coffee_assets.operations.dagster_internals import column_lineage_kept
from coffee_assets.platform.costs import cost_metadata
from coffee_assets.platform.metadata import markdown_table
from coffee_assets.platform.partitions import daily_partitions, run_days, run_window
from coffee_assets.platform.target import GCP, target_of
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import GcpSettings, Settings

# The models built whole as of one day from every day the rollups hold, and their as-of column:
# their metadata names the days they are built without.
CUMULATIVE = {"agg_customers": "as_of_date", "flat_customer_metrics": "as_of_date"}
# The lineage's last daily model (a day is built once it is materialized) and the rollup whose
# days are the days the marts hold.
LAST_DAILY_MODEL = "flat_order_details"
STORE_DAYS_MODEL = "agg_store_days"
# The window's environment variables: COFFEE_DBT_MIN_DATE, ... (coffee_dbt/macros/window.sql).
WINDOW_ENV_PREFIX = "COFFEE_DBT_"


def dbt_vars(history_start: date, warehouse: Warehouse) -> dict[str, str]:
    """The dbt vars of every run: the same from one run to the next (a changed var makes dbt
    parse the whole project again)."""
    return {"start_date": history_start.isoformat(), **warehouse.dbt_vars()}


def window_env(window: tuple[date, date] | None, states: DayStates | None = None) -> dict[str, str]:
    """What changes from run to run, as the environment variables dbt reads while the models run
    (coffee_dbt/macros/window.sql): the partition window (both ends inclusive), if the run has
    one, and the days the data tests leave out: the quarantined days (their raw rows are kept
    out of the marts on purpose) and the days accepted as they are (defs/raw/quarantine.py).
    Every variable is set, empty when it does not apply, so nothing is left from another run."""
    values = {
        "min_date": window[0].isoformat() if window else "",
        "max_date": window[1].isoformat() if window else "",
        "skip_days": ",".join(str(day) for day in states.quarantined_days()) if states else "",
        "accepted_days": ",".join(str(day) for day in sorted(states.accepted)) if states else "",
    }
    return {f"{WINDOW_ENV_PREFIX}{name.upper()}": value for name, value in values.items()}


def dbt_build_args(vars_: Mapping[str, str], *, run_results: bool = False) -> list[str]:
    """dbt build with these vars. dbt writes its JSON artifacts (manifest.json, run_results.json,
    graph.gpickle: half a second of every invocation) only when `run_results` is wanted: on
    BigQuery, for the jobs' costs (node_costs)."""
    return [
        "build",
        "--vars",
        json.dumps(dict(vars_)),
        *([] if run_results else ["--no-write-json"]),
    ]


@functools.cache
def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    """The dbt models of the settings' target, one definition whichever layer asks (their keys
    come from it: `mart_key`)."""
    target = target_of(settings)
    project = prepared_dbt_project(target.dbt_target)
    usd_per_tib = (settings.gcp or GcpSettings.from_env()).usd_per_tib if target is GCP else 0.0
    partitions_def = daily_partitions(settings.start_date)

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
                # Dagster checks (defs/raw/checks.py) guard the sources.
                enable_asset_checks=True,
                enable_source_tests_as_checks=False,
                # Each model links to its SQL file (Dagster's code references).
                enable_code_references=True,
            ),
        ),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=target.pool,
    )
    def coffee_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: CoffeeDbtCliResource,
        warehouse: Warehouse,
        run_books: RunBooks,
    ):
        # A run of one partition (the UI, `dg launch --partition`) has a window too: one day.
        window = run_window(context)
        states = day_states(context.instance)
        vars_ = dbt_vars(settings.start_date, warehouse)
        environment = window_env(window, states)
        shown = {name: value for name, value in environment.items() if value}
        context.log.info(f"dbt build with vars {vars_} and window {shown or 'none'}")
        invocation = dbt.cli(
            dbt_build_args(vars_, run_results=target is GCP),
            context=context,
            raise_on_error=False,
            environment=environment,
        )
        # The events are held until dbt exits: DuckDB's file lock lets the row counts be read
        # only then (dagster-dbt's fetch_row_counts would keep a connection open in this process).
        # Failed tests and models still reach Dagster as failed checks before the step fails.
        # Each model's column lineage is built once, then read from the cache (dagster_internals).
        with column_lineage_kept(dbt.lineage_cache()):
            events = list(invocation.stream())
        dbt.keep_parse(invocation)
        days = len(run_days(context)) if window else 0
        costs = node_costs(invocation, usd_per_tib) if target is GCP else {}
        coverages: dict[date, Coverage] = {}  # the cumulative marts share their as-of day
        for event in events:
            cost = costs.get(_unique_id(event) or "", {})
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                relation = ".".join(key.path)
                if days and context.assets_def.specs_by_key[key].partitions_def is not None:
                    context.log.info(f"Recording {days} daily materialization(s) of {relation}")
                table = warehouse.summary(relation)
                held = (
                    held_by(context, warehouse, key, settings.start_date, states, coverages)
                    if key.path[-1] in CUMULATIVE
                    else {}
                )
                event = event.with_metadata(
                    {
                        **event.metadata,
                        **cost,
                        **held,
                        "dagster/row_count": table.rows,
                        "preview": markdown_table(table.preview_columns, table.preview_rows),
                        "window": f"{window[0]}...{window[1]}" if window else "the whole history",
                    }
                )
            elif isinstance(event, dg.AssetCheckResult) and cost:
                event = event.with_metadata({**event.metadata, **cost})
            yield event
        error = invocation.get_error()
        if error is not None:
            raise error
        # Each invocation gets its own target folder (compiled SQL, logs); keep failed ones only.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    return coffee_dbt_models


def held_by(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    key: dg.AssetKey,
    first: date,
    states: DayStates,
    coverages: dict[date, Coverage],
) -> dict[str, Any]:
    """A cumulative mart's coverage (defs/dbt/coverage.py): as of which day, built without
    which days and why. Worked out once per as-of day of a step (`coverages`): the marts built
    as of the same day are built without the same days."""
    relation = warehouse.table_ref(".".join(key.path))
    [(as_of,)] = warehouse.query(f"SELECT MAX({CUMULATIVE[key.path[-1]]}) FROM {relation}")
    if as_of is None:
        return {}
    day = as_date(as_of)
    if day not in coverages:
        by_name = {k.path[-1]: k for k in context.assets_def.keys}
        store_days = warehouse.table_ref(".".join(by_name[STORE_DAYS_MODEL].path))
        coverages[day] = coverage(
            context.instance,
            by_name[LAST_DAILY_MODEL],
            first,
            day,
            held_days(warehouse.query, store_days, first, day),
            states=states,
        )
    held = coverages[day]
    if not held.complete:
        context.log.warning(f"{key.to_user_string()}: {held.note()}")
    return held.metadata()


def _unique_id(event: Any) -> str | None:
    value = (getattr(event, "metadata", None) or {}).get("unique_id")
    return str(getattr(value, "value", value)) if value is not None else None


def node_costs(invocation: Any, usd_per_tib: float) -> dict[str, dict[str, dg.MetadataValue]]:
    """unique_id -> what dbt's adapter says the node's job cost (dbt-bigquery: bytes processed
    and billed, slot time, the job; platform/costs.py). dagster-dbt's events do not carry the
    adapter response; dbt's run_results.json does. (BigQuery only: DuckDB bills nothing.)"""
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except (OSError, ValueError):  # dbt died before writing it: its error says why
        return {}
    costs = {}
    for result in results:
        metadata = cost_metadata([result.get("adapter_response") or {}], usd_per_tib)
        if metadata:
            costs[result["unique_id"]] = metadata
    return costs


def mart_key(settings: Settings, model: str) -> dg.AssetKey:
    """The asset key of a dbt model, as the dbt assets name it."""
    return get_asset_key_for_model([build_dbt_assets(settings)], model)
