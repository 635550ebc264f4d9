"""Small builders for the metadata the assets show in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.platform.warehouse import LoadResult


def column_schema(table: c.TableContract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=col.name,
                type=col.type.ui,
                constraints=dg.TableColumnConstraints(nullable=col.nullable),
            )
            for col in table.columns
        ]
    )


def markdown_table(
    columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> dg.MarkdownMetadataValue:
    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def days_label(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first}...{last}"


def load_metadata(table: c.TableContract, result: LoadResult, scope: str) -> dict[str, Any]:
    """What a table's load shows in the UI: its name, rows, the rows loaded, the days (`scope`),
    its columns, a preview and what the load cost where the warehouse bills for it."""
    return {
        "dagster/table_name": result.table,
        "dagster/row_count": result.table_rows,
        "rows_loaded": result.rows_loaded,
        "days": scope,
        "dagster/column_schema": column_schema(table),
        "preview": markdown_table(result.preview_columns, result.preview_rows),
        **result.metadata,
    }
