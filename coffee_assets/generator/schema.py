"""Arrow schemas for the raw layer's contract (coffee_assets/contract.py)."""

from __future__ import annotations

import pyarrow as pa

from coffee_assets import contract

# Logical contract type -> Arrow type. MONEY and RATE are float64 holding exact cents / 100 and
# pct / 100, which print as plain decimals (12.5, 7.35, 0.05) in the CSV files.
ARROW_TYPES: dict[str, pa.DataType] = {
    contract.INT: pa.int64(),
    contract.MONEY: pa.float64(),
    contract.RATE: pa.float64(),
    contract.STRING: pa.string(),
    contract.DATE: pa.date32(),
    contract.BOOL: pa.bool_(),
    contract.FLOAT: pa.float64(),
}


def arrow_schema(table: contract.TableContract) -> pa.Schema:
    """The Arrow schema of a contract table: same columns, order, types and nullability."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns]
    )
