"""How a CSV cell reads, written once in DuckDB's SQL from the contract: what the `local` target's
loader and coffee-import both check and cast (the gcp target's load jobs read the same files
with BigQuery's own reader: platform/bigquery_warehouse.py says the same in BigQuery's SQL).

A cell is text as the file wrote it, NULL when the field is empty. The grammar:

* Spaces around a value are not part of it; a cell of spaces only is empty.
* An empty cell is NULL, and an error where the column requires a value.
* A value has its type's exact text form (contract.ColumnType.pattern) and casts to its type.
* A rate is a fraction (0.05) or a percentage ('5%', as the original showcase writes it), and
  the original's `None` is no discount (0). A percentage must name a whole hundredth.
* What the business allows beyond the type (contract.Column.value_rules) holds.

Each check is a predicate over a staged text column, true where the cell breaks it; an error
quotes the cell as the file wrote it ("value ' 5x' is not an integer").
"""

from __future__ import annotations

from dataclasses import dataclass

from coffee_assets.core import contract as c

REQUIRED = "where a value is required"  # after "empty"


def q(identifier: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class ValueCheck:
    column: str
    predicate: str  # DuckDB SQL, true where a staged row's cell breaks the check
    problem: str  # completes "value '<cell>' ..." (or "empty ..." for REQUIRED)
    business: bool = False  # a rule of the business's (value_rules), not of the type


def blank(cell: str) -> str:
    """True where a cell is empty or only spaces. `cell < '!'` first: a value's first character
    is printable (above '!') unless it starts with a space, so the trim runs on almost nothing
    (trimming every value cost a third of a load's validation)."""
    return f"({cell} is null or ({cell} < '!' and trim({cell}) = ''))"


def value_text(col: c.Column, cell: str) -> str:
    """A cell as its type's cast reads it: NULL when blank; a rate's percentage as its fraction.
    DuckDB's casts to numbers and dates ignore surrounding spaces; text and booleans are
    trimmed here."""
    if col.type == c.RATE:
        trimmed = f"trim({cell})"
        return (
            f"(case when {blank(cell)} then null "
            f"when regexp_full_match({trimmed}, '{c.PERCENT}') "
            f"then cast(cast(rtrim({trimmed}, '%') as decimal(18, 6)) / 100 as varchar) "
            f"when {trimmed} = '{c.NO_RATE}' then '0' "
            f"else {trimmed} end)"
        )
    if col.type in (c.STRING, c.BOOL):  # trimmed where it starts or ends with a space
        spaced = f"{cell} < '!' or ends_with({cell}, ' ')"
        return f"(case when {spaced} then nullif(trim({cell}), '') else {cell} end)"
    return f"(case when {blank(cell)} then null else {cell} end)"


def typed(col: c.Column, cell: str) -> str:
    """A checked cell as its column's value (cast: the checks ensure it holds)."""
    return f"cast({value_text(col, cell)} as {col.type.duckdb})"


def checks(col: c.Column) -> list[ValueCheck]:
    """The column's checks over its staged text column (named as the column), in the order a
    cell is judged: a value is reported by the first it breaks."""
    cell = q(col.name)
    found = []
    if not col.nullable:
        found.append(ValueCheck(col.name, blank(cell), REQUIRED))
    text = value_text(col, cell)
    unparsable = f"try_cast({text} as {col.type.duckdb}) is null"
    if col.type.pattern:
        # The cell as written first, trimmed only if that fails: a value the pattern matches
        # has no surrounding spaces, so it is its trimmed self.
        pattern = col.type.pattern
        unparsable += (
            f" or (not regexp_full_match({text}, '{pattern}')"
            f" and not regexp_full_match(trim({text}), '{pattern}'))"
        )
    present = f"not {blank(cell)}"
    found.append(ValueCheck(col.name, f"{present} and ({unparsable})", f"is not {col.type.words}"))
    for kind, words in col.value_rules():
        violated = col.rule_violated(kind, f"try_cast({text} as {col.type.duckdb})", text)
        found.append(ValueCheck(col.name, f"{present} and {violated}", words, business=True))
    return found


def shown(cell: str | None) -> str:
    """How an error names a cell: "empty", or its value as the file wrote it."""
    return "empty" if cell is None or not cell.strip(" ") else f"value {cell!r}"
