"""CSV files in the bucket, one asset per file: the raw layer's source of truth.

Daily files (customers, orders, order lines) come from one generator pass per day, so they are
one multi-asset with one asset per file; reference files (products, stores) are another.
"""

from collections import Counter
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa

from coffee_assets.core import contract as c
from coffee_assets.core.generator.core import generate_day, reference_tables_for
from coffee_assets.core.generator.writer import to_csv_bytes, write_files
from coffee_assets.core.importer.manifest import ImportManifest, read_manifest
from coffee_assets.defs.sources.resources import CoffeeGenerator
from coffee_assets.platform.metadata import days_label
from coffee_assets.platform.partitions import run_days
from coffee_assets.platform.storage import Bucket
from coffee_assets.settings import yesterday

GROUP = "csv_sources"
# Who answers for the files: the team that runs ingestion (Dagster's asset owners).
OWNERS = ["team:data-platform"]
LOG_EVERY_DAYS = 30
# How far ahead the chain's calendar and price list reach: what it has planned.
PLANNING = timedelta(days=90)


def csv_asset_key(table: c.TableContract) -> dg.AssetKey:
    return dg.AssetKey(["csv_sources", table.table])


def _spec(table: c.TableContract) -> dg.AssetSpec:
    cadence = "one file per day" if table.partitioned else "one file"
    return dg.AssetSpec(
        csv_asset_key(table),
        description=f"{table.file_name} in the bucket ({cadence}): {', '.join(table.column_names)}",
        group_name=GROUP,
        kinds={"csv"},
        owners=OWNERS,
    )


def build_csv_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        name="daily_csv_files",
        specs=[_spec(t) for t in c.DAILY_TABLES],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def daily_csv_files(
        context: dg.AssetExecutionContext, generator: CoffeeGenerator, storage: Bucket
    ):
        """Generate each day of the partition range and write its CSV files (or keep the files
        `coffee-import` wrote, when the bucket holds imported data)."""
        days = run_days(context)
        first, last = days[0], days[-1]
        tables = [t for t in c.DAILY_TABLES if csv_asset_key(t) in context.selected_asset_keys]
        manifest = read_manifest(storage)
        if manifest is not None:
            yield from _keep_imported(context, storage, manifest, tables, days)
            return
        config = generator.config()
        generator_label = (
            f"seed {config.seed}, profile {config.profile.name}, "
            f"~{config.profile.average_orders_per_day:.0f} orders/day, "
            f"history from {config.history_start}"
        )
        rows: Counter[str] = Counter()
        size: Counter[str] = Counter()
        last_uri: dict[str, str] = {}
        n_days = len(days)

        def files():  # each day's files as it is generated, the writes a few files behind
            for day in days:
                data = generate_day(config, day)
                for table in tables:
                    yield (table, day), getattr(data, table.table)

        def write(key: tuple[c.TableContract, date], arrow_table: pa.Table):
            table, day = key
            body = to_csv_bytes(arrow_table)
            uri = storage.write_bytes(c.bucket_key(table, day.isoformat()), body)
            return table, day, uri, arrow_table.num_rows, len(body)

        # Two writer threads: pyarrow's CSV writer and the file writes release the GIL, so the
        # next day is generated while this one is written (docs/performance.md, the generator).
        written = 0
        for table, day, uri, n_rows, n_bytes in write_files(files(), write, workers=2):
            last_uri[table.table] = uri
            rows[table.table] += n_rows
            size[table.table] += n_bytes
            written += 1
            if written % len(tables):
                continue
            done = written // len(tables)
            if done % LOG_EVERY_DAYS == 0 or done == n_days:
                context.log.info(
                    f"CSV files written for {done}/{n_days} days (up to {day}): "
                    + ", ".join(f"{t}={n}" for t, n in rows.items())
                )
        for table in tables:
            # Dagster records this result once per day of the range (each a stored event).
            context.log.info(f"Recording {n_days} daily materialization(s) of {table.file_name}")
            yield dg.MaterializeResult(
                asset_key=csv_asset_key(table),
                metadata={
                    "dagster/uri": last_uri[table.table],
                    "uri_pattern": storage.uri(c.bucket_key(table, "<YYYY-MM-DD>")),
                    "days": days_label(first, last),
                    "files": n_days,
                    # One day: its rows. A range: every day records the run's totals.
                    **(
                        {"dagster/row_count": rows[table.table]}
                        if n_days == 1
                        else {"rows_in_run": rows[table.table]}
                    ),
                    "bytes": size[table.table],
                    # What made the data: rebuilding some days with other settings would mix them.
                    "generator": generator_label,
                },
            )

    @dg.multi_asset(
        name="reference_csv_files",
        specs=[_spec(t) for t in c.REFERENCE_TABLES],
        can_subset=True,
        # Unpartitioned: written once per run. The policy lets `--partition-range` on the CLI
        # run the whole job, which it allows only when every asset has it.
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def reference_csv_files(
        context: dg.AssetExecutionContext, generator: CoffeeGenerator, storage: Bucket
    ):
        """Write the reference files as the chain knows them today: products, stores, prices
        with their valid dates, the calendar of the past and the next 90 days (or keep the
        imported ones)."""
        manifest = read_manifest(storage)
        tables = reference_tables_for(generator.config(), yesterday() + PLANNING)
        for table in c.REFERENCE_TABLES:
            if csv_asset_key(table) not in context.selected_asset_keys:
                continue
            if manifest is not None:
                context.log.info(f"Keeping {table.file_name}, {manifest.label}")
                yield dg.MaterializeResult(
                    asset_key=csv_asset_key(table),
                    metadata={
                        "dagster/uri": storage.uri(c.bucket_key(table)),
                        "dagster/row_count": manifest.reference_rows.get(table.table, 0),
                        "source": manifest.label,
                    },
                )
                continue
            body = to_csv_bytes(tables[table.table])
            uri = storage.write_bytes(c.bucket_key(table), body)
            yield dg.MaterializeResult(
                asset_key=csv_asset_key(table),
                metadata={
                    "dagster/uri": uri,
                    "dagster/row_count": tables[table.table].num_rows,
                    "bytes": len(body),
                },
            )

    return [daily_csv_files, reference_csv_files]


def _keep_imported(
    context: dg.AssetExecutionContext,
    storage: Bucket,
    manifest: ImportManifest,
    tables: list[c.TableContract],
    days: list[date],
):
    """The imported files stand as they are; a day outside the import fails the run, since
    generated days would reference customers and orders the imported ones do not have."""
    outside = [day for day in days if not manifest.covers(day)]
    if outside:
        imported = f"{manifest.first_day}...{manifest.last_day}"
        raise dg.Failure(
            description=(
                f"The bucket holds imported files ({manifest.label}) for {imported}; "
                f"{days_label(outside[0], outside[-1])} "
                f"lies outside it. Imported and generated days never mix: run inside that range, "
                f"import newer files with coffee-import, or use another bucket (COFFEE_DATA_DIR "
                f"or COFFEE_GCS_BUCKET) to generate data."
            )
        )
    context.log.info(
        f"Keeping the imported files for {days_label(days[0], days[-1])} ({manifest.label})"
    )
    for table in tables:
        counts = manifest.rows[table.table]
        rows = sum(counts.get(day.isoformat(), 0) for day in days)
        yield dg.MaterializeResult(
            asset_key=csv_asset_key(table),
            metadata={
                "dagster/uri": storage.uri(c.bucket_key(table, days[-1].isoformat())),
                "uri_pattern": storage.uri(c.bucket_key(table, "<YYYY-MM-DD>")),
                "days": days_label(days[0], days[-1]),
                "files": len(days),
                **({"dagster/row_count": rows} if len(days) == 1 else {"rows_in_run": rows}),
                "source": manifest.label,
            },
        )
