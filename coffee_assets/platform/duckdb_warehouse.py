"""The DuckDB warehouse of the `local` target and its raw-table loader.

A load is validate-then-swap: every CSV file is read with DuckDB's own CSV reader into a staging
table (all columns as text, so nothing is guessed), checked against the contract (header, types,
required values, dates inside the partition), and only then are the partition's days replaced
in the raw table, in one transaction. A bad file therefore raises a `RawLoadError` naming the
file, column, row and partition, and the raw table keeps its previous contents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from coffee_assets.core import contract as c
from coffee_assets.core import csv_grammar as grammar
from coffee_assets.core.csv_grammar import q
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.platform.warehouse import (
    LoadResult,
    RawLoadError,
    TableSummary,
    Warehouse,
    read_header,
    scope_text,
    where_text,
)


@contextmanager
def kept_open(path: str) -> Iterator[None]:
    """Keep the DuckDB file open in this process meanwhile. Every connection to it (the
    warehouse's, dbt-duckdb's in the run's process) then joins the database already open
    (DuckDB's instance cache): about 0.4 ms instead of the 15-25 ms it takes to open the file,
    read its catalog and, when the last connection closes, checkpoint it. A one-day run opens the
    warehouse over a hundred times. Held for as long as the run holds the file's run lock
    (operations/books.py): no other process may open the file meanwhile anyway."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(path)
    try:
        yield
    finally:
        con.close()


class DuckDBWarehouse(Warehouse):
    """The `local` target's warehouse: one DuckDB file, one writing process at a time (a run
    holds the file's run lock from its start to its end: the run books, operations/books.py)."""

    path: str
    raw_schema: str = RAW_SCHEMA

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def qualified(self, table: c.TableContract) -> str:
        # catalog.schema.table, as dagster-dbt names the models (DuckDB's catalog: the file's stem)
        return f"{Path(self.path).stem}.{self.raw_schema}.{table.table}"

    def dbt_vars(self) -> dict[str, str]:
        return {"duckdb_path": self.path}

    def table_ref(self, relation: str) -> str:
        return ".".join(q(part) for part in relation.split("."))

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        # Not read-only: DuckDB refuses connections with different configurations to one file
        # in one process, and the loaders' connections are read-write.
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str) -> pa.Table:
        with self.connect() as con:
            return con.sql(sql).to_arrow_table()

    def summary(self, relation: str, limit: int = 5) -> TableSummary:
        name = self.table_ref(relation)
        with self.connect() as con:
            rows = _one(con, f"select count(*) from {name}")
            preview = con.execute(f"select * from {name} limit {int(limit)}")
            columns = [d[0] for d in preview.description]
            return TableSummary(relation, rows, columns, preview.fetchall())

    # ------------------------------------------------------------------ loading
    def _load(self, table: c.TableContract, files: Mapping[str, date | None]) -> LoadResult:
        name = self.qualified(table)
        days = sorted(d for d in files.values() if d is not None)
        with self.connect() as con:
            # The staging table's rowid order is the files' order (see _stage): DuckDB's default,
            # stated here because the line numbers of error messages depend on it.
            con.execute("set preserve_insertion_order = true")
            self._stage(con, table, files)
            self._validate(con, table)
            columns = ", ".join(q(col.name) for col in table.columns)
            casts = ", ".join(
                f"{grammar.typed(col, q(col.name))} as {q(col.name)}" for col in table.columns
            )
            con.execute("begin transaction")
            try:
                con.execute(f"create schema if not exists {self.raw_schema}")
                con.execute(f"create table if not exists {name} ({self._ddl(table)})")
                if table.partitioned:
                    con.execute(
                        f"delete from {name} where {q(table.day_column)} "
                        f"in (select unnest(?::DATE[]))",
                        [days],
                    )
                else:
                    con.execute(f"delete from {name}")
                # In file order without a sort: _stage holds its rows in that order.
                con.execute(f"insert into {name} ({columns}) select {casts} from _stage")
                con.execute("commit")
            except BaseException:
                try:
                    con.execute("rollback")
                except duckdb.Error:
                    pass  # the transaction is already gone; the original error matters
                raise
            loaded = _one(con, "select count(*) from _stage")
            total = _one(con, f"select count(*) from {name}")
            preview = con.execute(
                f"select * from {name} "
                + (f"where {q(table.day_column)} between ? and ? " if table.partitioned else "")
                + f"order by {q(table.key)} limit 5",
                [days[0], days[-1]] if table.partitioned else [],
            )
            preview_columns = [d[0] for d in preview.description]
            return LoadResult(name, loaded, total, preview_columns, preview.fetchall())

    @staticmethod
    def _ddl(table: c.TableContract) -> str:
        return ", ".join(
            f"{q(col.name)} {col.type.duckdb}{'' if col.nullable else ' NOT NULL'}"
            for col in table.columns
        )

    def _stage(
        self,
        con: duckdb.DuckDBPyConnection,
        table: c.TableContract,
        files: Mapping[str, date | None],
    ) -> None:
        """Read every file as text into the temp table `_stage`, in the files' order and each
        file's rows in its order, so `rowid` order is file order; `_file_index` names each row's
        file. A row's number in its file is counted only for a row an error names (_validate)."""
        text_columns = ", ".join(f"{q(col.name)} VARCHAR" for col in table.columns)
        con.execute(f"create temp table _stage ({text_columns}, _file_index INTEGER)")
        con.execute("create temp table _files (_file_index INTEGER, uri VARCHAR, day DATE)")
        con.executemany(
            "insert into _files values (?, ?, ?)",
            [[i, uri, day] for i, (uri, day) in enumerate(files.items())],
        )
        # Consecutive files that share a header are read by one read_csv call (a whole history,
        # usually); the calls follow the files' order, so the rows land in it.
        runs: list[tuple[list[str], int, list[str]]] = []  # (header, first file index, uris)
        for index, uri in enumerate(files):
            day = files[uri]
            if not Path(uri).is_file():
                raise RawLoadError(
                    f"{table.table}: {where_text(uri, day)}: the file does not exist"
                )
            try:
                header = read_header(uri)
            except c.HeaderError as exc:
                raise RawLoadError(f"{table.table}: {where_text(uri, day)}: {exc}") from None
            problem = table.header_problem(header)
            if problem:
                raise RawLoadError(f"{table.table}: {where_text(uri, day)}: {problem}")
            if runs and runs[-1][0] == header:
                runs[-1][2].append(uri)
            else:
                runs.append((header, index, [uri]))
        for header, first, uris in runs:
            # Columns by position, named by us (c0, c1, ...): the names in a file's header are
            # data, matched against the contract in Python, and never reach the SQL text.
            reader_columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
            selected = ", ".join(_staged_text(col, header) for col in table.columns)
            params: dict[str, list] = {"uris": uris}
            if _FILE_DAY in selected:  # DuckDB refuses a parameter the query does not use
                params["days"] = [files[uri] for uri in uris]
            try:
                # No window, join or sort: DuckDB keeps the reader's order (insertion order)
                # and `file_index` is the file's place in $uris.
                con.execute(
                    f"""
                    insert into _stage
                    select {selected}, {first} + file_index
                    from read_csv($uris, header = true, delim = ',', quote = '"', escape = '"',
                                  auto_detect = false, columns = {reader_columns},
                                  strict_mode = true)
                    """,
                    params,
                )
            except duckdb.Error as exc:
                raise RawLoadError(f"{table.table}: {_csv_error(exc, files)}") from None

    def _validate(self, con: duckdb.DuckDBPyConnection, table: c.TableContract) -> None:
        """Raise on the first cell that breaks the contract (core/csv_grammar.py: empty where
        required, unparsable, what the business does not allow), or whose day lies outside its
        file's partition.

        One query per check, as a filter: DuckDB then skips a check its statistics rule out
        (no NULLs) and stops evaluating a row's conditions at the first that decides it, which
        a single scan computing every check (as aggregates' filters) does not; the scans
        themselves are cheap next to the regular expressions."""
        checks = [check for col in table.columns for check in grammar.checks(col)]
        if table.partitioned:
            ident = q(table.day_column)
            checks.append(
                grammar.ValueCheck(
                    table.day_column,
                    f"try_cast({ident} as DATE) is distinct from f.day",
                    "lies outside the file's partition",
                )
            )
        # Every type first, then the business's rules: a file's unparsable value is named
        # before a value out of bounds on an earlier line (a stable sort keeps the rest).
        checks.sort(key=lambda check: check.business)
        for check in checks:
            # The lowest rowid is the first offending row in file order (_stage's order).
            hit = con.execute(
                f"select f.uri, f.day, s._file_index, s.rowid, s.{q(check.column)} from _stage s "
                f"join _files f using (_file_index) where {check.predicate} "
                f"order by s.rowid limit 1"
            ).fetchone()
            if hit:
                uri, day, file_index, rowid, value = hit
                row = _one(
                    con,
                    "select count(*) from _stage where _file_index = ? and rowid <= ?",
                    [file_index, rowid],
                )
                raise RawLoadError(
                    f"{table.table}: {where_text(uri, day)}: column {check.column}, row {row} "
                    f"(line {row + 1}): {grammar.shown(value)} {check.problem}"
                )


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    """The one value a query returns."""
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


# A staged row's file's day, as text: $days lists the days of the files a read_csv call reads,
# in its order, and `file_index` is the row's file's place in that list.
_FILE_DAY = "cast($days[cast(file_index as BIGINT) + 1] as varchar)"


def _staged_text(col: c.Column, header: list[str]) -> str:
    """The text a staged column holds: the file's value by position; for a column the file
    does not have, its day (`from_partition_if_missing`) or nothing (`empty_if_missing`)."""
    if col.name not in header:
        return "cast(NULL as varchar)" if col.empty_if_missing else _FILE_DAY
    return f"c{header.index(col.name)}"


_CSV_ERROR_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_ERROR_FILE = re.compile(r"^\s*file = (.+?)\s*$", re.MULTILINE)


def _csv_error(exc: duckdb.Error, files: Mapping[str, date | None]) -> str:
    """DuckDB's CSV error as the other load errors read: the file and its partition, the line,
    the problem (without DuckDB's list of reader options)."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found_file = _CSV_ERROR_FILE.search(text)
    found_line = _CSV_ERROR_LINE.search(text)
    uri = found_file.group(1) if found_file else None
    where = (
        where_text(uri, files.get(uri)) if uri else f"{len(files)} file(s) ({scope_text(files)})"
    )
    if found_line and "Invalid unicode" in text:
        return f"{where}: line {found_line.group(1)}: not UTF-8 text; save the file as UTF-8"
    summary = [line for line in lines[:3] if not line.startswith("file =")]
    at = f"line {found_line.group(1)}: " if found_line else ""
    return f"{where}: {at}could not parse the CSV: {' | '.join(summary)}"
