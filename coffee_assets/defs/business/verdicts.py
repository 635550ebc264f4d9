"""`store_day_verdicts`: what the store-day judge (core/anomalies.py) said of each store, day and
metric, as a table (core/verdict_table.py) the sales report reads: one judgement, read twice.

The judge runs once, in the `store_days_as_usual` check (checks.py), which records each day's
judgements in its evaluation; this asset writes its run's evaluations as rows, one CSV a day in
the bucket loaded as the raw tables are (each day's rows replaced: a re-run day replaces its
verdicts). The table cannot be the check's input: the check is a blocking check of the raw
orders, so Dagster runs everything downstream of the raw orders after it, this table included.

Unpartitioned, like the reports: one materialization a run, whatever its range. A day the
check failed with ERROR (no store recorded anything) blocks what is downstream of the raw
orders, this table too: that day keeps its previous verdicts, as the marts keep theirs.
"""

from collections.abc import Sequence
from datetime import date
from typing import cast

import dagster as dg

from coffee_assets.core import anomalies as a
from coffee_assets.core import contract as c
from coffee_assets.core import verdict_table as vt
from coffee_assets.core.generator.writer import write_files
from coffee_assets.core.sql import between
from coffee_assets.defs.business.checks import CHECK
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.raw.checks import raw_name
from coffee_assets.operations.books import RunBooks
from coffee_assets.operations.dagster_internals import run_check_evaluations
from coffee_assets.platform.metadata import column_schema, days_label, load_metadata
from coffee_assets.platform.storage import Bucket
from coffee_assets.platform.warehouse import RawLoadError, Warehouse

KEY = raw_asset_key(vt.VERDICTS)
CHECK_KEY = dg.AssetCheckKey(raw_asset_key(c.ORDERS), CHECK)
GROUP = "business"
UPLOADS = 8  # the days' files written at once


def read(warehouse: Warehouse, days: Sequence[date]) -> list[a.DayVerdict]:
    """The judge's verdicts of `days` (consecutive), from the table."""
    selected = warehouse.query(
        f"SELECT {', '.join(vt.SELECTED)} FROM {warehouse.table_ref(raw_name(vt.VERDICTS))} "
        f"WHERE {between('OrderDate', days[0], days[-1])}"
    )
    return vt.day_verdicts(selected, days)


def build_verdicts_asset(*, kind: str, pool: str | None) -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        # After the raw orders' checks (Dagster runs what is downstream of a blocking check's
        # asset after it): the run's store_days_as_usual evaluations are this table's rows.
        deps=[raw_asset_key(c.ORDERS)],
        description=(
            "What the store-day judge said of each store, day and metric (orders, revenue): "
            "actual, expected and band, the verdict (ok, unusual, no orders), the calendar's "
            "events that explain it, the incident it belongs to. The `store_days_as_usual` "
            "check's judgements of its run's days, as a table: the sales report marks its "
            f"failed days. One CSV a day in the bucket ({vt.object_key('<day>')})."
        ),
        group_name=GROUP,
        kinds={kind},
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=pool,
        metadata={"dagster/column_schema": column_schema(vt.VERDICTS)},
        owners=["team:analytics"],
    )
    def store_day_verdicts(
        context: dg.AssetExecutionContext,
        storage: Bucket,
        warehouse: Warehouse,
        run_books: RunBooks,
    ):
        evaluations = run_check_evaluations(context.instance, context.run.run_id, CHECK_KEY)
        days = sorted(day for day in evaluations if day is not None)
        if not days:
            raise dg.Failure(
                description=(
                    f"{KEY.to_user_string()} writes the {CHECK} evaluations of its run, and "
                    f"this run has none: materialize it with the raw orders (and their checks)"
                )
            )
        judged = {
            day: cast(list[dict[str, str]], evaluations[day].metadata[vt.ROWS_METADATA].value)
            for day in days
        }
        failed = sum(1 for rows in judged.values() for row in rows if row["Failed"] == "true")

        def write(day: str, rows: list[dict[str, str]]) -> tuple[date, str]:
            return date.fromisoformat(day), storage.write_bytes(
                vt.object_key(day), vt.csv_bytes(rows)
            )

        # A day's file is small: on GCS each is a request, so they go several at a time.
        files = dict(write_files(judged.items(), write, workers=UPLOADS))
        scope = days_label(date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
        context.log.info(f"Writing the verdicts of {len(files)} day(s) ({scope})")
        try:
            result = warehouse.load_days(vt.VERDICTS, files)
        except RawLoadError as exc:
            raise dg.Failure(description=str(exc)) from None
        return dg.MaterializeResult(
            metadata={
                **load_metadata(vt.VERDICTS, result, scope),
                "failed_judgements": dg.MetadataValue.int(failed),
            }
        )

    return store_day_verdicts
