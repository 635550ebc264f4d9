"""Small builders for the metadata the assets show in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from coffee_assets import contract as c

# How each logical column type reads in the UI's column schema.
SCHEMA_TYPES = {
    c.INT: "integer",
    c.MONEY: "decimal(12,2)",
    c.RATE: "decimal(4,2)",
    c.STRING: "string",
    c.DATE: "date",
    c.BOOL: "boolean",
    c.FLOAT: "double",
}


def column_schema(table: c.TableContract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=col.name,
                type=SCHEMA_TYPES[col.type],
                constraints=dg.TableColumnConstraints(nullable=col.nullable),
            )
            for col in table.columns
        ]
    )


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> dg.MetadataValue:
    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def days_label(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first}...{last}"
