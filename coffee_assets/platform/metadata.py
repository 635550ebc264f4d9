"""Small builders for the metadata the assets show in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from coffee_assets.core import contract as c


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
