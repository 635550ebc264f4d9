"""The original's files read into typed tables by the contract: every value that the contract
cannot hold is a finding naming its file, line and column. A cell reads as the `local` target's
loader reads it (core/csv_grammar.py), checked in an in-memory DuckDB."""

from __future__ import annotations

import csv
import io
from typing import Any

import duckdb
import pyarrow as pa

from coffee_assets.core import contract as c
from coffee_assets.core import csv_grammar as grammar
from coffee_assets.core.csv_grammar import q
from coffee_assets.core.importer.model import Finding, ImportProblem, Row, Table


def _judged(
    columns: list[c.Column], cells: dict[str, list[str | None]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each row's values and the problem of each of its cells that breaks the contract, by the
    loader's grammar (core/csv_grammar.py), in an in-memory DuckDB: a cell is reported by the
    first check it breaks. Money is read in cents and rates in hundredths (0.05 -> 5)."""
    count = len(next(iter(cells.values()), []))
    stage = pa.table(  # noqa: F841 (read by DuckDB by name)
        {"_row": pa.array(range(count), pa.int64())}
        | {col.name: pa.array(cells[col.name], pa.string()) for col in columns}
    )
    problems: list[dict[str, str]] = [{} for _ in range(count)]
    values: list[dict[str, Any]] = [{} for _ in range(count)]
    with duckdb.connect() as con:
        for col in columns:
            for check in grammar.checks(col):
                hits = con.execute(
                    f"select _row, {q(col.name)} from stage where {check.predicate}"
                ).fetchall()
                for row, cell in hits:
                    problems[row].setdefault(col.name, f"{grammar.shown(cell)} {check.problem}")
        if columns:
            read = ", ".join(
                f"try_cast({grammar.value_text(col, q(col.name))} as {col.type.duckdb})"
                for col in columns
            )
            for row, *typed in con.execute(f"select _row, {read} from stage").fetchall():
                for col, value in zip(columns, typed, strict=True):
                    if col.name not in problems[row]:
                        values[row][col.name] = _exact(col, value)
    return values, problems


def _exact(col: c.Column, value: Any) -> Any:
    """A value as the importer holds it: money in cents and rates in hundredths, as integers."""
    if value is not None and col.type in (c.MONEY, c.RATE):
        return int(value * 100)
    return value


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
    present = [col for col in contract.columns if col.name in positions]  # the others: later
    extra = [i for i, h in enumerate(header) if h not in contract.column_names]
    table = Table(contract, [header[i] for i in extra], [])
    lines: list[int] = []
    extras: list[list[str] | None] = []  # None: a malformed row (its fields cannot be placed)
    cells: dict[str, list[str | None]] = {col.name: [] for col in present}
    malformed: dict[int, Finding] = {}
    for fields in reader:
        if not fields:
            continue
        lines.append(reader.line_num)
        if len(fields) == len(header):
            extras.append([fields[i] for i in extra])
            for col in present:  # an empty field is NULL, as DuckDB's CSV reader has it
                cells[col.name].append(fields[positions[col.name]] or None)
            continue
        # Only its key is read, so that a reference to the row is not reported as dangling.
        words = f"{len(fields)} fields, the header has {len(header)}"
        malformed[len(extras)] = Finding("malformed", name, reader.line_num, words)
        extras.append(None)
        key_at = positions.get(contract.key, len(fields))
        for col in present:
            cell = fields[key_at] if col.name == contract.key and key_at < len(fields) else None
            cells[col.name].append(cell or None)
    values, problems = _judged(present, cells)
    for i, line in enumerate(lines):
        row_extra = extras[i]
        if row_extra is None:
            findings.append(malformed[i])
            readable = {k: v for k, v in values[i].items() if k == contract.key}
            table.refused.append(Row(line, readable, []))
            continue
        for col in present:
            if col.name in problems[i]:
                findings.append(
                    Finding("bad_value", name, line, f"column {col.name}: {problems[i][col.name]}")
                )
        (table.refused if problems[i] else table.rows).append(Row(line, values[i], row_extra))
    return table
