"""The raw tables' BigQuery schemas from the contract, and the SQL that reads a staged load in
the contract's spelling."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from google.cloud import bigquery

from coffee_assets.core import contract as c
from coffee_assets.core.sql import date_literal
from coffee_assets.platform.bigquery import bq


def raw_schema(table: c.TableContract) -> list[bigquery.SchemaField]:
    return [
        bigquery.SchemaField(
            col.name, col.type.bigquery, mode="NULLABLE" if col.nullable else "REQUIRED"
        )
        for col in table.columns
    ]


def staging_schema(table: c.TableContract, header: list[str]) -> list[bigquery.SchemaField]:
    """The file's columns in its header's order: the contract's typed, any extra one as text,
    named by its position (a name from a file is data, never an identifier of ours)."""
    by_name = {col.name: col for col in table.columns}
    fields = []
    for position, name in enumerate(header):
        col = by_name.get(name)
        if col is None:
            fields.append(bigquery.SchemaField(f"extra_{position}", "STRING", mode="NULLABLE"))
        elif col.type == c.RATE:  # '5%' or '0.05': converted by staged_select
            fields.append(bigquery.SchemaField(name, "STRING", mode="NULLABLE"))
        else:
            mode = "NULLABLE" if col.nullable else "REQUIRED"
            fields.append(bigquery.SchemaField(name, col.type.bigquery, mode=mode))
    return fields


TEXT_PREFIX = "_text_"  # a rate's staged text, as the file wrote it, for error messages


def staged_select(
    table: c.TableContract, table_id: str, header: list[str], day: date | None
) -> str:
    """The contract's columns from one staging table: a rate written as a percentage ('5%', as
    the original's files have it) becomes its fraction, with the file's text kept beside it for
    error messages; a column the file lacks takes the file's day."""
    exprs = []
    for col in table.columns:
        ident = bq(col.name)
        if col.name not in header and col.empty_if_missing:
            exprs.append(f"cast(null as {col.type.bigquery}) as {ident}")
        elif col.name not in header:  # from_partition_if_missing (header_problem checked)
            assert day is not None  # only a daily table's column is ever filled in
            exprs.append(f"{date_literal(day)} as {ident}")
        elif col.type == c.RATE:
            text = f"trim({ident})"
            fraction = (
                f"case when regexp_contains({text}, r'^{c.PERCENT}$') "
                f"then safe_cast(rtrim({text}, '%') as numeric) / 100 "
                f"when {text} = '{c.NO_RATE}' then numeric '0' "
                f"else safe_cast({text} as numeric) end"
            )
            exprs.append(f"{fraction} as {ident}, {ident} as {bq(TEXT_PREFIX + col.name)}")
        else:
            exprs.append(ident)
    return f"select {', '.join(exprs)} from {bq(table_id)}"


def shown_text(table: c.TableContract, column: str) -> str:
    """What an error message quotes for a column: the file's text where it was converted."""
    col = next(col for col in table.columns if col.name == column)
    if col.type == c.RATE:
        return bq(TEXT_PREFIX + column)
    return f"cast({bq(column)} as string)"


def query_param(value: Any) -> bigquery.ScalarQueryParameter:
    # bool before int (a bool is an int), datetime before date (a datetime is a date).
    if isinstance(value, bool):
        kind = "BOOL"
    elif isinstance(value, int):
        kind = "INT64"
    elif isinstance(value, float):
        kind = "FLOAT64"
    elif isinstance(value, datetime):
        kind = "TIMESTAMP"
    elif isinstance(value, date):
        kind = "DATE"
    else:
        kind = "STRING"
    return bigquery.ScalarQueryParameter(None, kind, value)
