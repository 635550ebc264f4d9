"""Public holidays by country and subdivision, from the `holidays` library.

The calendar every business knows without keeping a file: the generator's chain lives by it
(Ukraine's), and the anomaly check reads it for whatever data it judges (the setting
COFFEE_HOLIDAYS_COUNTRY / COFFEE_HOLIDAYS_SUBDIVISION), so an imported or a real history knows its
holidays with no events file. Where the library keeps holidays that are working days apart
(its "workday" category: Ukraine's holidays since martial law began in 2022), they count too: a
coffee shop's customers keep them whether or not they are days off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays

DEFAULT_COUNTRY = "UA"
PUBLIC_HOLIDAY = "public_holiday"  # the calendar's event type (core/contract.py's BusinessEvents)
_CATEGORIES = (holidays.PUBLIC, holidays.WORKDAY)


@dataclass(frozen=True)
class HolidayCalendar:
    """A country's public holidays (ISO 3166-1 alpha-2 code), optionally of one subdivision (its
    ISO 3166-2 code without the country, e.g. "BY" for Bavaria in "DE")."""

    country: str = DEFAULT_COUNTRY
    subdivision: str | None = None

    def __post_init__(self) -> None:
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(
                f"{self.country!r} is not a country the holidays library knows (an ISO 3166-1 "
                f"alpha-2 code such as UA, PL, DE, US)"
            )
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            known = ", ".join(supported[self.country]) or "none"
            raise ValueError(
                f"{self.subdivision!r} is not a subdivision of {self.country} (known: {known})"
            )

    def between(self, first: date, last: date) -> dict[date, str]:
        """{day: its holiday's name (several joined by '; ')} for first...last."""
        if last < first:
            return {}
        found = _by_year(self.country, self.subdivision, tuple(range(first.year, last.year + 1)))
        return {day: name for day, name in found.items() if first <= day <= last}

    def describe(self) -> str:
        """How the settings name it: "UA", "DE-BY"."""
        return self.country + (f"-{self.subdivision}" if self.subdivision else "")


@lru_cache(maxsize=64)
def _by_year(country: str, subdivision: str | None, years: tuple[int, ...]) -> dict[date, str]:
    cls = holidays.country_holidays(country).__class__
    language = "en_US" if "en_US" in cls.supported_languages else None
    categories = tuple(c for c in _CATEGORIES if c in cls.supported_categories)
    found = holidays.country_holidays(
        country, subdiv=subdivision, years=years, language=language, categories=categories
    )
    return dict(sorted(found.items()))


def missing_holidays(
    calendar: HolidayCalendar,
    first: date,
    last: date,
    listed: Iterable[tuple[str, int | None, date]],
) -> dict[date, str]:
    """The calendar's holidays on days the business's own calendar lists no chain-wide public
    holiday on: what the library adds to it. `listed`: the business calendar's (event type,
    store or None for the whole chain, day)."""
    have = {day for kind, store, day in listed if kind == PUBLIC_HOLIDAY and store is None}
    return {day: name for day, name in calendar.between(first, last).items() if day not in have}
