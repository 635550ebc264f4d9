"""Arrow schemas for the raw layer's contract (coffee_assets/core/contract.py)."""

from __future__ import annotations

import pyarrow as pa

from coffee_assets.core import contract


def arrow_schema(table: contract.TableContract) -> pa.Schema:
    """The Arrow schema of a contract table: same columns, order, types and nullability."""
    return pa.schema(
        [pa.field(c.name, getattr(pa, c.type.arrow)(), nullable=c.nullable) for c in table.columns]
    )
