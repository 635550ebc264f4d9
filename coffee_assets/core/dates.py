"""Days: the history's ranges and the dates warehouses and files give back. Pure Python."""

from __future__ import annotations

from datetime import date, datetime, timedelta


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included (none when last is before first)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def as_date(value: object, what: str = "day") -> date:
    """`value` as a date: a date, a datetime (its date), or ISO text (a timestamp's date part,
    as a warehouse may give it back); ValueError naming `what` otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value[:10] if len(value) > 10 and value[10] in "T " else value
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{what} must be a date (YYYY-MM-DD), got {value!r}")
