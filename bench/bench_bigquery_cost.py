"""What one more day would cost on BigQuery, estimated from a history built on the local target.

The BigQuery emulator the tests use bills nothing (its jobs report 0 bytes), so the bytes of a
real day are estimated here from real data: a history built at the volume in question (e.g.
`bench_pipeline.py --orders-per-day 44000 --keep DIR`, or `scripts/run-local.sh` with
COFFEE_ORDERS_PER_DAY) in its DuckDB warehouse. For every table it computes BigQuery's logical
size, column by column, with BigQuery's sizes of the types (8 bytes an INT64, FLOAT64, DATE or
TIMESTAMP, 16 a NUMERIC, 1 a BOOL, 2 + the UTF-8 length a STRING): for the whole table and for
the newest day's partition.

Each job of a daily run is then billed as BigQuery bills it on demand: the bytes of every
column of every table it reads (an upper bound: a query reads only the columns it names), the
day's partition of a table partitioned by day when the job filters on the day (BigQuery prunes
through views), the whole table otherwise, and at least 10 MB per table a query reads. The
jobs: the raw loads' queries (platform/bigquery_warehouse.py: one validation scan, one MERGE,
one preview per table), the Dagster checks' queries, each dbt model and data test of the day's
`dbt build` (from the manifest, views resolved to the tables under them) and the reports'
queries.

    python bench/bench_bigquery_cost.py --warehouse DIR/history-365/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from coffee_assets.core import contract as c
from coffee_assets.core.project import DBT_PROJECT_DIR, DBT_SCHEMA, RAW_SCHEMA
from coffee_assets.platform.costs import usd

MB = 2**20
MIN_BILLED_PER_TABLE = 10 * MB
MANIFEST = DBT_PROJECT_DIR / "target" / "local" / "manifest.json"
DAY_COLUMN = "order_date"  # the dbt models' partition column (meta.window_column)


@dataclass(frozen=True)
class TableSize:
    name: str
    whole: int  # logical bytes of the whole table
    day: int | None  # of the newest day's partition; None: not partitioned by day


def column_bytes(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> int:
    """The table's logical size in BigQuery's accounting (rows matching `where`)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema || '.' || table_name = ?",
        [table],
    ).fetchall()
    terms = []
    for name, kind in columns:
        ident = '"' + name + '"'
        kind = kind.upper()
        if kind.startswith("VARCHAR"):
            terms.append(f"coalesce(sum(2 + strlen({ident})), 0)")
        elif kind.startswith("DECIMAL"):
            terms.append(f"16 * count({ident})")
        elif kind == "BOOLEAN":
            terms.append(f"count({ident})")
        else:  # integers, doubles, dates, timestamps
            terms.append(f"8 * count({ident})")
    row = con.execute(f"select {' + '.join(terms)} from {table} {where}").fetchone()
    return int(row[0] or 0) if row else 0


def table_sizes(con: duckdb.DuckDBPyConnection, day: str) -> dict[str, TableSize]:
    sizes: dict[str, TableSize] = {}
    day_columns = {f"{RAW_SCHEMA}.{t.table}": t.date_column for t in c.DAILY_TABLES}
    tables = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema in (?, ?)",
        [RAW_SCHEMA, DBT_SCHEMA],
    ).fetchall()
    for (name,) in tables:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema || '.' || table_name = ?",
                [name],
            ).fetchall()
        }
        day_column = day_columns.get(name) or (DAY_COLUMN if DAY_COLUMN in columns else None)
        whole = column_bytes(con, name)
        part = None
        if day_column:
            part = column_bytes(con, name, f"where \"{day_column}\" = date '{day}'")
        sizes[name] = TableSize(name, whole, part)
    return sizes


def billed(reads: Iterable[tuple[str, int | None]], sizes: dict[str, TableSize]) -> int:
    """One query's bytes billed: (table, days read, None for the whole table) for each table
    it reads; a day's partition is as large as the newest day's."""
    total = 0
    for table, days in reads:
        size = sizes[table]
        read = days * size.day if days is not None and size.day is not None else size.whole
        total += max(read, MIN_BILLED_PER_TABLE)
    return total


Job = tuple[str, list[tuple[str, int | None]]]  # (name, (table, days or None) for each read)


# The model carried on from its previous build (models/marts/reporting/agg_customers.sql).
CARRIED_ON = "agg_customers"


def dbt_jobs(manifest: dict) -> list[Job]:
    """Each model (not views: they run no query) and each data test of a day's build, with the
    tables it reads. A node reads its parents; a view is read through to the tables under it."""
    nodes = {**manifest["nodes"], **manifest["sources"]}

    def table_of(unique_id: str) -> str | None:
        node = nodes[unique_id]
        if node["resource_type"] == "source":
            return f"{RAW_SCHEMA}.{node['name']}"
        if node["config"]["materialized"] == "view":
            return None
        return f"{DBT_SCHEMA}.{node['name']}"

    def tables_under(unique_id: str) -> set[str]:
        own = table_of(unique_id)
        if own is not None:
            return {own}
        parents = nodes[unique_id]["depends_on"]["nodes"]
        return {t for parent in parents for t in tables_under(parent)}

    jobs = []
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"]["materialized"] == "view":
            continue
        if node["resource_type"] not in ("model", "test"):
            continue
        reads = {t for parent in node["depends_on"]["nodes"] for t in tables_under(parent)}
        # The models and tests of a day's run filter every day-partitioned input to the window;
        # tables without day partitions (reference tables, agg_customers) are read whole.
        days: dict[str, int | None] = {t: 1 for t in reads}
        own: list[Job] = []
        if node["name"] == CARRIED_ON:
            # its previous build (whole), the rollup's new day and the day that leaves the
            # 180-day window, and the newest day of agg_store_days (its whole date column);
            # before it runs, its as-of day and the pending changes, and after, clearing them
            # (macros/customer_days_changes.sql; agg_customer_days' insert reads no table)
            this, changes = f"{DBT_SCHEMA}.{CARRIED_ON}", f"{DBT_SCHEMA}.agg_customer_days_changes"
            days |= {this: None, f"{DBT_SCHEMA}.agg_customer_days": 2,
                     f"{DBT_SCHEMA}.agg_store_days": None}  # fmt: skip
            own = [
                (f"dbt {CARRIED_ON}: its as-of day", [(this, None)]),
                (f"dbt {CARRIED_ON}: pending changes", [(changes, None)]),
                (f"dbt {CARRIED_ON}: clear the pending changes", [(changes, None)]),
            ]
        jobs.append((f"dbt {node['resource_type']} {node['name']}", sorted(days.items())))
        jobs.extend(own)
    return jobs


def pipeline_jobs(sizes: dict[str, TableSize]) -> list[Job]:
    """The raw loads', the Dagster checks' and the reports' queries of a day."""
    raw = {t.table: f"{RAW_SCHEMA}.{t.table}" for t in c.ALL_TABLES}
    jobs: list[Job] = []
    for table in c.ALL_TABLES:
        daily = 1 if table.partitioned else None
        name = raw[table.table]
        # validation scan of the staged day (the size of the day's partition), the MERGE
        # (staged rows + the day's partition), the preview (the day's partition)
        jobs.append((f"load {table.table}: validate", [(name, daily)]))
        jobs.append((f"load {table.table}: merge", [(name, daily), (name, daily)]))
        jobs.append((f"load {table.table}: preview", [(name, daily)]))
        jobs.append((f"check {table.table}: unique_key", [(name, daily)]))
    jobs.append(("check orders: daily_rules", [(raw["orders"], 1), (raw["stores"], None),
                                               (raw["customers"], None)]))  # fmt: skip
    jobs.append(("check order_details: daily_rules", [(raw["order_details"], 1),
                                                      (raw["orders"], 1),
                                                      (raw["product_prices"], None)]))  # fmt: skip
    # the day judged against the same weekday's eight weeks before it (core/anomalies.py)
    jobs.append(("check orders: store_days_as_usual", [(raw["orders"], 57)]))
    marts = [
        t for t in sizes
        if t.startswith(f"{DBT_SCHEMA}.agg_") and t != f"{DBT_SCHEMA}.{CARRIED_ON}"
    ]  # fmt: skip
    marts.append(f"{DBT_SCHEMA}.flat_customer_metrics")
    jobs.append(("reports: read the rollups", [(t, None) for t in marts if t in sizes]))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a history's DuckDB file")
    parser.add_argument("--usd-per-tib", type=float, default=6.25)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    con = duckdb.connect(str(args.warehouse), read_only=True)
    (day,) = con.execute(f"select max(OrderDate) from {RAW_SCHEMA}.orders").fetchone() or (None,)
    sizes = table_sizes(con, str(day))
    manifest = json.loads(MANIFEST.read_text())
    jobs = pipeline_jobs(sizes) + dbt_jobs(manifest)
    rows = sorted(((billed(reads, sizes), name) for name, reads in jobs), reverse=True)
    total = sum(b for b, _ in rows)
    print(f"Newest day {day}; tables (logical bytes, whole / the day's partition):")
    for size in sorted(sizes.values(), key=lambda s: -s.whole):
        part = f"{size.day / MB:,.1f} MB" if size.day is not None else "-"
        print(f"  {size.name:45s} {size.whole / MB:>10,.1f} MB  {part:>10s}")
    print(f"\n{len(rows)} jobs; the ten largest (bytes billed):")
    for b, name in rows[:10]:
        print(f"  {b / MB:>10,.1f} MB  {name}")
    at_minimum = sum(1 for b, _ in rows if b <= MIN_BILLED_PER_TABLE * 3)
    print(
        f"\nOne more day: {total / 2**30:,.2f} GiB billed, ${usd(total, args.usd_per_tib):.4f} "
        f"at ${args.usd_per_tib}/TiB ({at_minimum} of {len(rows)} jobs at or near BigQuery's "
        f"10 MB minimum); 30 days ${30 * usd(total, args.usd_per_tib):.2f}"
    )
    # The weekly whole_table_tests run: the same tests, every table read whole.
    tests = [reads for name, reads in dbt_jobs(manifest) if name.startswith("dbt test")]
    weekly = sum(billed([(t, None) for t, _ in reads], sizes) for reads in tests)
    print(
        f"The weekly whole_table_tests run: {weekly / 2**30:,.2f} GiB billed, "
        f"${usd(weekly, args.usd_per_tib):.4f}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "day": str(day),
                    "bytes_billed": total,
                    "usd": usd(total, args.usd_per_tib),
                    "weekly_whole_table_tests_bytes_billed": weekly,
                    "jobs": [{"name": n, "bytes_billed": b} for b, n in rows],
                    "tables": {s.name: {"whole": s.whole, "day": s.day} for s in sizes.values()},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
