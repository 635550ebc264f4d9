"""The original's files read into typed tables by the contract: every value that the contract
cannot hold is a finding naming its file, line and column."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

from coffee_assets.core import contract as c
from coffee_assets.core.importer.model import Finding, ImportProblem, Row, Table

_PERCENT = re.compile(c.PERCENT)


def _parse(col: c.Column, text: str) -> Any:
    """The value of one field, or raise ValueError with the reason (the contract's words)."""
    value = _typed(col, text)
    if value is not None:
        # Money in cents and rates in hundredths are compared as the amounts they stand for.
        number = Decimal(value) / 100 if col.type in (c.MONEY, c.RATE) else value
        problem = col.value_problem(number)
        if problem:
            raise ValueError(f"value {text!r} {problem}")
    return value


def _typed(col: c.Column, text: str) -> Any:
    """The value of one field as its type says, or raise ValueError with the contract's words."""
    value = text.strip()
    if value == "":
        if col.nullable:
            return None
        raise ValueError("empty where a value is required")
    kind = col.type
    if kind == c.RATE and value == c.NO_RATE:
        return 0  # the original's generator: a customer without a discount level
    if kind == c.RATE and _PERCENT.fullmatch(value):
        hundredths = _cents(value[:-1])  # '5%' -> 5 hundredths; '2.5%' has no exact hundredth
        if hundredths is None or hundredths % 100 or not 0 <= hundredths <= 10000:
            raise ValueError(f"value {text!r} is not {kind.words}")
        return hundredths // 100
    if kind.pattern and not re.fullmatch(kind.pattern, value):
        raise ValueError(f"value {text!r} is not {kind.words}")
    try:
        if kind == c.INT:
            return int(value)
        if kind in (c.MONEY, c.RATE):
            return _cents(value)  # money in cents, a rate in hundredths (0.05 -> 5)
        if kind == c.DATE:
            return date.fromisoformat(value)
        if kind == c.BOOL:
            return value.lower() == "true"
        if kind == c.FLOAT:
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
    except ValueError:
        raise ValueError(f"value {text!r} is not {kind.words}") from None
    return value


def _cents(text: str) -> int | None:
    """'10.5' -> 1050 (exact, no float); None when it has more than 2 decimals."""
    sign = -1 if text.startswith("-") else 1
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > 2 or not (whole + fraction).isdigit():
        return None
    return sign * (int(whole or "0") * 100 + int(fraction.ljust(2, "0")))


def read_table(contract: c.TableContract, data: bytes, findings: list[Finding]) -> Table:
    """Parse a whole file; rows with a bad value become findings and are kept apart (refused),
    with the values that could be read, so that the rules over the other rows neither use them
    nor report what follows from them (a reference to a refused row is not dangling)."""
    name = contract.file_name
    if not data:
        raise ImportProblem(f"{name}: {c.EMPTY_FILE}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, words = c.utf8_problem(data, exc)
        raise ImportProblem(f"{name} line {line}: {words}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ImportProblem(f"{name}: line 1 is empty: expected the header (the column names)")
    problem = contract.header_problem(header)
    if problem:
        raise ImportProblem(f"{name}: {problem}")
    positions = {col.name: header.index(col.name) for col in contract.columns if col.name in header}
    extra = [i for i, h in enumerate(header) if h not in contract.column_names]
    table = Table(contract, [header[i] for i in extra], [])
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(header):
            findings.append(
                Finding("malformed", name, line, f"{len(fields)} fields, the header has "
                        f"{len(header)}")
            )  # fmt: skip
            key = contract.key
            readable = {}
            if key in positions and positions[key] < len(fields):
                try:
                    readable[key] = _parse(contract.column(key), fields[positions[key]])
                except ValueError:
                    pass
            table.refused.append(Row(line, readable, []))
            continue
        values: dict[str, Any] = {}
        ok = True
        for col in contract.columns:
            if col.name not in positions:  # from_partition_if_missing: filled in later
                continue
            try:
                values[col.name] = _parse(col, fields[positions[col.name]])
            except ValueError as exc:
                findings.append(Finding("bad_value", name, line, f"column {col.name}: {exc}"))
                ok = False
        (table.rows if ok else table.refused).append(Row(line, values, [fields[i] for i in extra]))
    return table
