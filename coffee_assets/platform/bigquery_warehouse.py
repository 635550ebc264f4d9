"""The gcp target's warehouse: BigQuery through dagster-gcp's BigQueryResource.

A load is validate-then-swap, as on DuckDB (duckdb_warehouse.py), built from what BigQuery does
well:

1. each file's header is read from GCS and checked against the contract (missing file, missing
   or renamed columns: the error names the file and partition);
2. the files are loaded by BigQuery load jobs from their gs:// URIs into a staging table with an
   explicit schema (typed contract columns, REQUIRED where a value is required, extra columns as
   STRING; one load job per distinct header), so BigQuery's CSV parser rejects bad values and
   the error names the file, row and column it reports;
3. the staged rows are checked for what a load job accepts but the contract does not (more than
   2 decimals on money, rates outside 0..1, dates outside the partition);
4. one MERGE replaces the partition's days (daily tables) or every row (reference tables) of the
   raw table with the staged rows. A single DML statement is atomic in BigQuery: a failed or
   interrupted load leaves the previous rows. (Loading straight into a partition decorator,
   `table$20250101`, with WRITE_TRUNCATE would be atomic too, but it replaces one day per job
   and the BigQuery emulator the tests use cannot do it.)

Datasets and raw tables are created when missing; daily raw tables are partitioned by day on
their date column, and clustered (RAW_CLUSTERING). Staging tables expire after a day even if a
crash skips their cleanup.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pyarrow as pa
from google.api_core import exceptions as gexc
from google.cloud import bigquery
from google.cloud.bigquery import Client as BigQueryClient

from coffee_assets.core import contract as c
from coffee_assets.core.project import DBT_SCHEMA, RAW_SCHEMA
from coffee_assets.core.sql import date_literal
from coffee_assets.platform.bigquery import (
    CoffeeBigQueryResource,
    JobRecorder,
    bq,
    load_error_summary,
    run_with_retry,
)
from coffee_assets.platform.bigquery_schema import (
    TEXT_PREFIX,
    query_param,
    raw_schema,
    shown_text,
    staged_select,
    staging_schema,
)
from coffee_assets.platform.costs import LOADED_BYTES, cost_metadata
from coffee_assets.platform.gcs import CoffeeGCSResource, split_uri
from coffee_assets.platform.retry import TRANSIENT_RETRY
from coffee_assets.platform.warehouse import (
    LoadResult,
    RawLoadError,
    TableSummary,
    Warehouse,
    scope_text,
    where_text,
)
from coffee_assets.settings import GcpSettings

STAGING_TTL = timedelta(days=1)
# Within each day's partition, the raw tables are clustered by what their readers filter on
# beyond the day: a store (the orders: store-day questions, the dashboards' store filter) and
# a product (the order lines). The pipeline's own queries prune by day already; clustering costs
# nothing to write on-demand and an existing table takes it for its new data.
RAW_CLUSTERING: dict[str, list[str]] = {"orders": ["StoreId"], "order_details": ["ProductId"]}


def _files_label(uris: Sequence[str]) -> str:
    return f"file {uris[0]}" if len(uris) == 1 else f"{len(uris)} files ({uris[0]} ... {uris[-1]})"


class BigQueryWarehouse(Warehouse):
    """The gcp target's warehouse: raw tables in `raw_dataset`, dbt models in `dbt_dataset`."""

    bigquery: CoffeeBigQueryResource
    gcs: CoffeeGCSResource  # reads the CSV headers before the load jobs
    raw_dataset: str = RAW_SCHEMA
    dbt_dataset: str = DBT_SCHEMA
    # What a load's queries cost (costs.py): the price per TiB billed, COFFEE_BQ_USD_PER_TIB.
    usd_per_tib: float = GcpSettings.default_of("COFFEE_BQ_USD_PER_TIB")

    # ------------------------------------------------------------------ names
    @property
    def project(self) -> str:
        if not self.bigquery.project:
            raise ValueError("the BigQuery resource needs a project (COFFEE_GCP_PROJECT)")
        return self.bigquery.project

    def dataset_of(self, schema: str) -> str:
        """The dataset of a logical schema: coffee_shop -> raw dataset, dbt_models -> dbt's."""
        return {RAW_SCHEMA: self.raw_dataset, DBT_SCHEMA: self.dbt_dataset}.get(schema, schema)

    def table_id(self, relation: str) -> str:
        """project.dataset.table of a logical `schema.table` (or `project.dataset.table`)."""
        parts = relation.split(".")
        if len(parts) == 2:
            return f"{self.project}.{self.dataset_of(parts[0])}.{parts[1]}"
        if len(parts) == 3:
            return relation
        raise ValueError(f"{relation!r} is not schema.table")

    def qualified(self, table: c.TableContract) -> str:
        return f"{self.project}.{self.raw_dataset}.{table.table}"

    def table_ref(self, relation: str) -> str:
        return bq(self.table_id(relation))

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of a query as tuples; `params` are positional (`?`) query parameters."""
        config = bigquery.QueryJobConfig(query_parameters=[query_param(v) for v in params or []])

        def run() -> list[tuple]:
            with self.bigquery.get_client() as client:
                job = client.query(sql, job_config=config, job_retry=None)
                return [tuple(row.values()) for row in job.result()]

        return run_with_retry(run)

    def query_arrow(self, sql: str) -> pa.Table:
        def run() -> pa.Table:
            with self.bigquery.get_client() as client:
                job = client.query(sql, job_retry=None)
                return job.result().to_arrow(create_bqstorage_client=False)

        return run_with_retry(run)

    def summary(self, relation: str, limit: int = 5) -> TableSummary:
        table_id = self.table_id(relation)

        def run() -> TableSummary:
            with self.bigquery.get_client() as client:
                count = client.query(f"select count(*) from {bq(table_id)}", job_retry=None)
                rows = next(iter(count.result()))[0]
                preview = client.list_rows(table_id, max_results=int(limit))
                columns = [field.name for field in preview.schema]
                return TableSummary(
                    relation, int(rows), columns, [tuple(r.values()) for r in preview]
                )

        return run_with_retry(run)

    # ------------------------------------------------------------------ loading
    def _load(self, table: c.TableContract, files: Mapping[str, date | None]) -> LoadResult:
        headers = {uri: self._header(table, uri, day) for uri, day in files.items()}
        # Files that share a header share a load job; a file without a column that takes its
        # partition's day (the original's OrderDetails.csv) is staged alone, with its day.
        groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
        for uri, header in headers.items():
            alone = any(col.name not in header for col in table.columns)
            groups.setdefault((tuple(header), uri if alone else ""), []).append(uri)
        days = sorted(d for d in files.values() if d is not None)
        run_id = uuid.uuid4().hex[:12]
        staging = [
            f"{self.project}.{self.raw_dataset}._staging_{table.table}_{run_id}_{i}"
            for i in range(len(groups))
        ]
        with self.bigquery.get_client() as bigquery_client:
            recorder = JobRecorder(bigquery_client)
            client = cast(BigQueryClient, recorder)
            self._ensure_raw_table(client, table)
            try:
                selects = []
                for table_id, ((shared, _), uris) in zip(staging, groups.items(), strict=True):
                    self._stage(client, table, table_id, list(shared), uris, files)
                    selects.append(staged_select(table, table_id, list(shared), files[uris[0]]))
                staged = " union all ".join(selects)
                loaded = self._validate(client, table, staged, files)
                self._swap(client, table, staged, days)
            finally:
                for table_id in staging:
                    client.delete_table(table_id, not_found_ok=True, retry=TRANSIENT_RETRY)
            name = self.qualified(table)
            total = self._scalar(client, f"select count(*) from {bq(name)}")
            where = ""
            if table.partitioned:
                first, last = date_literal(days[0]), date_literal(days[-1])
                where = f"where {bq(table.day_column)} between {first} and {last} "
            preview = run_with_retry(
                lambda: client.query(
                    f"select * from {bq(name)} {where}order by {bq(table.key)} limit 5",
                    job_retry=None,
                ).result()
            )
            return LoadResult(
                name,
                loaded,
                total,
                [field.name for field in preview.schema],
                [tuple(row.values()) for row in preview],
                {
                    **cost_metadata(recorder.responses(), self.usd_per_tib),
                    LOADED_BYTES: recorder.loaded_bytes(),
                },
            )

    def _header(self, table: c.TableContract, uri: str, day: date | None) -> list[str]:
        """The file's header line, read from GCS; RawLoadError when missing or off-contract."""
        bucket, name = split_uri(uri)
        blob = self.gcs.get_client().bucket(bucket).blob(name)
        try:
            head = blob.download_as_bytes(start=0, end=c.HEADER_BYTES - 1, retry=TRANSIENT_RETRY)
        except gexc.NotFound:
            raise RawLoadError(
                f"{table.table}: {where_text(uri, day)}: the file does not exist"
            ) from None
        except gexc.RequestRangeNotSatisfiable:  # GCS's answer to a range of an empty object
            head = b""
        try:
            header = c.parse_header(head)
        except c.HeaderError as exc:
            raise RawLoadError(f"{table.table}: {where_text(uri, day)}: {exc}") from None
        problem = table.header_problem(header)
        if problem:
            raise RawLoadError(f"{table.table}: {where_text(uri, day)}: {problem}")
        return header

    def _ensure_raw_table(self, client: BigQueryClient, table: c.TableContract) -> None:
        dataset = bigquery.Dataset(f"{self.project}.{self.raw_dataset}")
        dataset.location = self.bigquery.location
        client.create_dataset(dataset, exists_ok=True, retry=TRANSIENT_RETRY)
        raw = bigquery.Table(self.qualified(table), schema=raw_schema(table))
        if table.partitioned:
            raw.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=table.date_column
            )
        raw.clustering_fields = RAW_CLUSTERING.get(table.table)
        raw.description = f"Raw {table.table}, loaded by Dagster from {table.file_name}"
        existing = client.create_table(raw, exists_ok=True, retry=TRANSIENT_RETRY)
        if existing.clustering_fields != raw.clustering_fields:  # made before it was clustered
            existing.clustering_fields = raw.clustering_fields
            client.update_table(existing, ["clustering_fields"], retry=TRANSIENT_RETRY)

    def _stage(
        self,
        client: BigQueryClient,
        table: c.TableContract,
        table_id: str,
        header: list[str],
        uris: list[str],
        files: Mapping[str, date | None],
    ) -> None:
        """Load files that share a header into a fresh staging table (typed, by position)."""
        schema = staging_schema(table, header)
        stage = bigquery.Table(table_id, schema=schema)
        stage.expires = datetime.now(UTC) + STAGING_TTL
        client.create_table(stage, exists_ok=True, retry=TRANSIENT_RETRY)
        config = bigquery.LoadJobConfig(
            schema=schema,
            source_format=bigquery.SourceFormat.CSV,
            skip_leading_rows=1,
            field_delimiter=",",
            quote_character='"',
            encoding="UTF-8",
            max_bad_records=0,
            allow_jagged_rows=False,
            allow_quoted_newlines=False,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        job: list[bigquery.LoadJob] = []

        def load() -> None:
            job[:] = [client.load_table_from_uri(uris, table_id, job_config=config)]
            job[0].result()

        try:
            run_with_retry(load)
        except gexc.GoogleAPICallError as exc:
            scope = scope_text({u: files[u] for u in uris})
            raise RawLoadError(
                f"{table.table}: {_files_label(uris)} ({scope}): the BigQuery load job "
                f"rejected the CSV: {load_error_summary(job[0] if job else None, exc, uris)}"
            ) from None

    def _validate(
        self,
        client: BigQueryClient,
        table: c.TableContract,
        staged: str,
        files: Mapping[str, date | None],
    ) -> int:
        """What a load job lets through but the contract forbids. Raises on the first hit;
        returns the number of staged rows."""
        checks: list[tuple[str, str, str]] = []  # (column, predicate, problem)
        business: list[tuple[str, str, str]] = []
        for col in table.columns:
            ident = bq(col.name)
            if not col.nullable:  # REQUIRED in the staging schema, which some loaders ignore
                checks.append((col.name, f"{ident} is null", "where a value is required"))
            if col.type == c.STRING:
                # BigQuery loads bytes that are not UTF-8 as U+FFFD instead of failing.
                checks.append(
                    (col.name, f"strpos({ident}, '\ufffd') > 0",
                     "is not UTF-8 text (BigQuery replaced a byte with U+FFFD); save the file "
                     "as UTF-8")
                )  # fmt: skip
            for kind, words in col.value_rules():
                violated = col.rule_violated(kind, ident, ident)
                business.append((col.name, f"{ident} is not null and {violated}", words))
            if col.type == c.MONEY:
                checks.append(
                    (col.name, f"{ident} != round({ident}, 2)", "has more than 2 decimals")
                )
            elif col.type == c.RATE:
                text = bq(TEXT_PREFIX + col.name)
                wrong = f"{ident} != round({ident}, 2) or {ident} < 0 or {ident} > 1"
                checks.append(
                    (col.name, f"({text} is not null and {ident} is null) or {wrong}",
                     f"is not {col.type.words}")
                )  # fmt: skip
        days = sorted(d for d in files.values() if d is not None)
        if table.partitioned:
            ident = bq(table.day_column)
            checks.append(
                (
                    table.day_column,
                    f"{ident} not in ({', '.join(date_literal(d) for d in days)})",
                    "lies outside the file's partition"
                    if len(days) == 1
                    else f"lies outside the partition range {days[0]}...{days[-1]}",
                )
            )
        uris = list(files)
        scope = scope_text(files)
        rules = checks + business
        # One scan counts every rule's offenders (one job, one 10 MB minimum billed, seconds
        # instead of one job a rule); only a rule that found some is asked for its first one.
        rows, *counts = self._scalar_row(
            client,
            "select count(*), "
            + ", ".join(f"countif({p})" for _, p, _ in rules)
            + f" from ({staged})",
        )
        for (column, predicate, problem), found in zip(rules, counts, strict=True):
            if not found:
                continue
            sql = (
                f"select {shown_text(table, column)}, {bq(table.key)} from ({staged}) "
                f"where {predicate} order by {bq(table.key)} limit 1"
            )
            rows = run_with_retry(
                lambda sql=sql: list(  # type: ignore[misc]
                    client.query(
                        sql,
                        job_retry=None,
                    ).result()
                )
            )
            if rows:
                value, key = rows[0].values()
                shown = "empty" if value is None else f"value {value!r}"
                raise RawLoadError(
                    f"{table.table}: {_files_label(uris)} ({scope}): column {column}, "
                    f"row with {table.key}={key}: {shown} {problem}"
                )
        return int(rows)

    def _swap(self, client: BigQueryClient, table: c.TableContract, staged: str, days: list[date]):
        """Replace the days (or the whole reference table) with the staged rows: one MERGE."""
        names = [bq(col.name) for col in table.columns]
        if table.partitioned:
            in_window = f"T.{bq(table.day_column)} in ({', '.join(date_literal(d) for d in days)})"
            delete = f"when not matched by source and {in_window} then delete"
        else:
            delete = "when not matched by source then delete"
        sql = (
            f"merge {bq(self.qualified(table))} T using ({staged}) S on false "
            f"{delete} "
            f"when not matched by target then insert ({', '.join(names)}) "
            f"values ({', '.join('S.' + n for n in names)})"
        )
        run_with_retry(lambda: client.query(sql, job_retry=None).result())

    @staticmethod
    def _scalar(client: BigQueryClient, sql: str) -> Any:
        return BigQueryWarehouse._scalar_row(client, sql)[0]

    @staticmethod
    def _scalar_row(client: BigQueryClient, sql: str) -> tuple:
        rows = run_with_retry(lambda: list(client.query(sql, job_retry=None).result()))
        return tuple(rows[0].values())
