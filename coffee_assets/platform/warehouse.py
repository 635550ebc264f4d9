"""The warehouse's interface, what every target's loader shares: the `Warehouse` resource the
layers use, the load results and errors, and how a load error names its files.

The targets' warehouses: DuckDB (duckdb_warehouse.py, the `local` target) and BigQuery
(bigquery_warehouse.py, the `gcp` target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
import pyarrow as pa

from coffee_assets.core import contract as c


class RawLoadError(Exception):
    """A CSV file breaks the raw layer's contract; nothing was written."""


@dataclass(frozen=True)
class TableSummary:
    """A table's size and first rows, for the UI."""

    table: str
    rows: int
    preview_columns: list[str]
    preview_rows: list[tuple]


@dataclass(frozen=True)
class LoadResult:
    table: str
    rows_loaded: int
    table_rows: int
    preview_columns: list[str] = field(default_factory=list)
    preview_rows: list[tuple] = field(default_factory=list)
    # What the load cost where the warehouse bills for it (BigQuery: platform/costs.py).
    metadata: dict[str, Any] = field(default_factory=dict)


def read_header(path: str) -> list[str]:
    """The header row (contract.parse_header); HeaderError says why it cannot be read."""
    with open(path, "rb") as handle:
        return c.parse_header(handle.read(c.HEADER_BYTES))


class Warehouse(dg.ConfigurableResource):
    """What the assets and checks need of a warehouse: load raw tables, name and query tables.
    (What a run does around its steps, the warehouse's lock included, is the run books':
    coffee_assets/operations/books.py.)"""

    def qualified(self, table: c.TableContract) -> str:
        """The raw table's name as users query it."""
        raise NotImplementedError

    def load_days(self, table: c.TableContract, files: Mapping[date, str]) -> LoadResult:
        """Replace exactly the given days of a daily table with their files' rows, atomically."""
        if not table.partitioned:
            raise ValueError(f"{table.table} is not daily-partitioned")
        if not files:
            raise ValueError("no files to load")
        return self._load(table, {uri: day for day, uri in files.items()})

    def load_reference(self, table: c.TableContract, uri: str) -> LoadResult:
        """Replace a reference table whole, atomically."""
        if table.partitioned:
            raise ValueError(f"{table.table} is daily-partitioned: use load_days")
        return self._load(table, {uri: None})

    def _load(self, table: c.TableContract, files: Mapping[str, date | None]) -> LoadResult:
        """Validate the files ({uri: day, or None for a reference table}), then swap them in."""
        raise NotImplementedError

    def dbt_vars(self) -> dict[str, str]:
        """What dbt's profile needs to know about this warehouse, passed as dbt vars."""
        return {}

    def table_ref(self, relation: str) -> str:
        """A table named by its logical `schema.table` (`coffee_shop.orders`,
        `dbt_models.flat_order_details`), quoted for use in this warehouse's SQL."""
        raise NotImplementedError

    def query(self, sql: str) -> list[tuple]:
        """Rows of a read-only query. Write it in SQL both DuckDB and BigQuery accept (date
        literals as `date '2025-01-01'`, tables through `table_ref`)."""
        raise NotImplementedError

    def query_arrow(self, sql: str) -> pa.Table:
        """A read-only query's result as columns: for results of millions of rows, which as
        Python tuples would cost seconds a million."""
        raise NotImplementedError

    def summary(self, relation: str, limit: int = 5) -> TableSummary:
        """Row count and first rows of a table, e.g. `dbt_models.fact_order_details`."""
        raise NotImplementedError


def where_text(uri: str, day: date | None) -> str:
    """A file as load errors name it: its URI and, for a daily file, its partition."""
    return f"file {uri} (partition {day})" if day else f"file {uri}"


def scope_text(files: Mapping[str, date | None]) -> str:
    """The partitions a set of files covers, as load errors name them."""
    days = sorted(d for d in files.values() if d is not None)
    if not days:
        return "reference file"
    return f"partition {days[0]}" if days[0] == days[-1] else f"partition {days[0]}...{days[-1]}"
