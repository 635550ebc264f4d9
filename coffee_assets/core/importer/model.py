"""What an import is made of: the tables as parsed, what breaks the rules (findings), the
repairs made (changes), the plan; the rules a repair can fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coffee_assets.core import contract as c
from coffee_assets.core import rules as r
from coffee_assets.core.dates import days_between

REGISTERED_AFTER_ORDER = r.REGISTERED_BY_ORDER_DATE
HALF_CENT_DOWN = "discount_half_cent_down"
REPAIRABLE = {
    REGISTERED_AFTER_ORDER: "the customer's RegistrationDate moves back to their first order",
    HALF_CENT_DOWN: "DiscountAmount rounded half up, TotalAmount = SubTotal - DiscountAmount",
}


class ImportProblem(ValueError):
    """The files cannot be imported at all (a file missing, a header off the contract)."""


@dataclass(frozen=True)
class Finding:
    """A row that breaks a rule."""

    rule: str
    file: str
    line: int
    message: str

    @property
    def repairable(self) -> bool:
        return self.rule in REPAIRABLE

    def __str__(self) -> str:
        fix = f" [repair: {REPAIRABLE[self.rule]}]" if self.repairable else " [not repairable]"
        return f"{self.file} line {self.line}: {self.rule}: {self.message}{fix}"


@dataclass(frozen=True)
class Change:
    """One value a repair changed."""

    file: str
    line: int
    key: str  # e.g. "CustomerId=17"
    column: str
    old: str
    new: str
    rule: str

    def __str__(self) -> str:
        return (
            f"{self.file} line {self.line} ({self.key}): {self.column} {self.old} -> {self.new}"
            f" ({self.rule})"
        )


@dataclass
class Row:
    """A parsed row: contract values (typed) plus the file's extra columns (text)."""

    line: int
    values: dict[str, Any]
    extra: list[str]


@dataclass
class Table:
    contract: c.TableContract
    extra_columns: list[str]
    rows: list[Row]
    # Rows with a value the contract refuses (each a finding already), with the values that
    # could be read: another row that names one of them is not a dangling reference.
    refused: list[Row] = field(default_factory=list)

    def refused_keys(self) -> set[Any]:
        key = self.contract.key
        return {row.values[key] for row in self.refused if key in row.values}

    def refused_without_key(self) -> bool:
        """Some refused row's key cannot be read: what it was is unknown."""
        return any(self.contract.key not in row.values for row in self.refused)


@dataclass
class ImportPlan:
    findings: list[Finding]
    changes: list[Change]
    tables: dict[str, Table]
    repaired: bool = False
    first_day: date | None = None
    last_day: date | None = None
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Finding]:
        """Findings that stop the import: all of them without repair, else the unrepairable."""
        return [f for f in self.findings if not (self.repaired and f.repairable)]

    @property
    def days(self) -> list[date]:
        if self.first_day is None or self.last_day is None:
            return []
        return days_between(self.first_day, self.last_day)
