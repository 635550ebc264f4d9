"""Raw tables in the warehouse, one asset per table, loaded from the CSV files.

A daily table's run replaces exactly its partition range's days; a reference table is replaced
whole. The warehouse resource validates every file before it touches the table (see
platform/duckdb_warehouse.py and bigquery_warehouse.py), so a bad file fails the run and leaves
the table as it was.
"""

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.defs.sources.assets import csv_asset_key
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.freshness import DAILY_BY_NINE
from coffee_assets.platform.metadata import column_schema, days_label, load_metadata
from coffee_assets.platform.partitions import run_days
from coffee_assets.platform.storage import Bucket
from coffee_assets.platform.warehouse import RawLoadError, Warehouse

GROUP = "raw"
OWNERS = ["team:data-platform"]


def raw_asset_key(table: c.TableContract) -> dg.AssetKey:
    """[schema, table]: also how dagster-dbt names the dbt source `coffee_shop`'s tables."""
    return dg.AssetKey([RAW_SCHEMA, table.table])


def build_raw_table_asset(
    table: c.TableContract,
    partitions_def: dg.PartitionsDefinition,
    *,
    kind: str,
    pool: str | None,
) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(table),
        deps=[csv_asset_key(table)],
        description=(
            f"Raw `{table.table}` table, typed as the contract says, loaded from {table.file_name}."
        ),
        group_name=GROUP,
        kinds={kind},
        partitions_def=partitions_def if table.partitioned else None,
        # Also on reference tables: `--partition-range` on the CLI wants it on every asset of
        # the job, and an unpartitioned asset runs once per run anyway.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=pool,
        metadata={"dagster/column_schema": column_schema(table)},
        # Both ends of the warehouse have a deadline: the daily raw tables and the marts.
        freshness_policy=DAILY_BY_NINE if table.partitioned else None,
        owners=OWNERS,
    )
    def _raw_table(
        context: dg.AssetExecutionContext,
        storage: Bucket,
        warehouse: Warehouse,
        run_books: RunBooks,
    ):
        days = run_days(context) if table.partitioned else []
        files = {day: storage.uri(c.bucket_key(table, day.isoformat())) for day in days}
        scope = days_label(days[0], days[-1]) if days else "whole table"
        context.log.info(
            f"Loading {len(files) or 1} file(s) into {warehouse.qualified(table)} ({scope})"
        )
        try:
            if table.partitioned:
                result = warehouse.load_days(table, files)
            else:
                result = warehouse.load_reference(table, storage.uri(c.bucket_key(table)))
        except RawLoadError as exc:
            raise dg.Failure(
                description=str(exc),
                metadata={"table": warehouse.qualified(table), "partition": scope},
            ) from None
        if table.partitioned:
            context.log.info(
                f"Loaded {result.rows_loaded} rows; recording {len(files)} daily "
                f"materialization(s) of {warehouse.qualified(table)}"
            )
        return dg.MaterializeResult(metadata=load_metadata(table, result, scope))

    return _raw_table


def build_raw_table_assets(
    partitions_def: dg.PartitionsDefinition, *, kind: str, pool: str | None
) -> list[dg.AssetsDefinition]:
    return [
        build_raw_table_asset(table, partitions_def, kind=kind, pool=pool) for table in c.ALL_TABLES
    ]
