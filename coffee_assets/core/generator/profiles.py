"""Volume profiles: how many orders and new loyalty customers a day brings.

A day's order count is Poisson with mean `VolumeProfile.mean_for(day)`: the season's mean if the
day falls in a season (else `base_mean`), times the weekday's multiplier. New registrations are
Poisson(`registrations_per_day`) every day, plus `initial_customers` on the history's first day.

Named profiles (PROFILES):

- "original": the original showcase. 10 orders/day, low season 3/day from 2022-02-25 to
  2022-05-31, no weekday pattern; 500 initial customers, 0.2 new registrations/day (about one a
  week: the original's 500 customers were a fixed base).
- "realistic" (default): 400 orders on Monday-Thursday, x1.1 on Friday, x1.35 on Saturday,
  x1.25 on Sunday (440/day on average over a week); 500 initial customers, 8 new
  registrations/day (about 1.8 per 100 orders).

`get_profile(name, orders_per_day)` rescales a profile so its weekly average outside seasons is
`orders_per_day`; season means and the registration rate scale by the same factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from coffee_assets.core.generator.ids import CUSTOMER_CAPACITY, ORDER_CAPACITY

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Season(NamedTuple):
    """Days from `start` to `end` (inclusive) have `mean` orders/day before weekday multipliers."""

    start: date
    end: date
    mean: float


def poisson_upper_bound(mean: float) -> float:
    """A count a Poisson(mean) draw exceeds with negligible probability (< 1e-20)."""
    return mean + 10.0 * math.sqrt(mean) + 10.0


@dataclass(frozen=True)
class VolumeProfile:
    """Daily volume of orders and customer registrations (see the module docstring)."""

    name: str
    base_mean: float
    weekday_multipliers: tuple[float, ...] = (1.0,) * 7  # Monday first
    seasons: tuple[Season, ...] = ()
    initial_customers: int = 500
    registrations_per_day: float = 0.0
    # A year's business events (events.py): a store opening, outages, promotions, price
    # changes, public holidays.
    events: bool = False
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        seasons = tuple(Season(*s) for s in self.seasons)
        object.__setattr__(self, "seasons", seasons)
        object.__setattr__(self, "weekday_multipliers", tuple(map(float, self.weekday_multipliers)))
        if len(self.weekday_multipliers) != 7:
            raise ValueError("weekday_multipliers needs 7 values, Monday first")
        for label, value in [
            ("base_mean", self.base_mean),
            ("registrations_per_day", self.registrations_per_day),
            *((f"{WEEKDAYS[i]} multiplier", m) for i, m in enumerate(self.weekday_multipliers)),
            *((f"season {s.start}..{s.end} mean", s.mean) for s in seasons),
        ]:
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
        for s in seasons:
            if not (isinstance(s.start, date) and isinstance(s.end, date) and s.start <= s.end):
                raise ValueError(f"season {s} needs dates with start <= end")
        if not 0 <= self.initial_customers <= CUSTOMER_CAPACITY:
            raise ValueError(f"initial_customers must be within 0..{CUSTOMER_CAPACITY}")
        peak = self.max_daily_mean
        if poisson_upper_bound(peak) > ORDER_CAPACITY:
            raise ValueError(
                f"profile {self.name!r} could overflow the order id capacity: its busiest day "
                f"averages {peak:,.0f} orders, at most about "
                f"{max_safe_mean(ORDER_CAPACITY):,.0f} fit a day's {ORDER_CAPACITY:,} OrderIds"
            )
        first_day = self.initial_customers + poisson_upper_bound(self.registrations_per_day)
        if first_day > CUSTOMER_CAPACITY:
            raise ValueError(
                f"profile {self.name!r} could overflow the customer id capacity: "
                f"{self.initial_customers} initial customers + {self.registrations_per_day:,.1f} "
                f"registrations/day do not safely fit a day's {CUSTOMER_CAPACITY:,} CustomerIds"
            )

    @property
    def max_daily_mean(self) -> float:
        """The largest mean any day can have."""
        means = [self.base_mean, *(s.mean for s in self.seasons)]
        return max(means) * max(self.weekday_multipliers)

    @property
    def min_daily_mean(self) -> float:
        """The smallest mean any day can have (the quietest weekday of the quietest season)."""
        means = [self.base_mean, *(s.mean for s in self.seasons)]
        return min(means) * min(self.weekday_multipliers)

    @property
    def average_orders_per_day(self) -> float:
        """Mean orders/day over a week outside seasons."""
        return self.base_mean * sum(self.weekday_multipliers) / 7

    def mean_for(self, day: date) -> float:
        """Mean number of orders on `day`."""
        mean = self.base_mean
        for season in self.seasons:
            if season.start <= day <= season.end:
                mean = season.mean
                break
        return mean * self.weekday_multipliers[day.weekday()]

    def scaled(self, orders_per_day: float) -> VolumeProfile:
        """This profile rescaled to `orders_per_day` on average (seasons, registrations too)."""
        if not (math.isfinite(orders_per_day) and orders_per_day > 0):
            raise ValueError(f"orders per day must be a finite number > 0, got {orders_per_day!r}")
        factor = orders_per_day / self.average_orders_per_day
        limit = max_safe_mean(ORDER_CAPACITY) * self.average_orders_per_day / self.max_daily_mean
        if orders_per_day > limit:
            raise ValueError(
                f"{orders_per_day:,.0f} orders/day is too many for profile {self.name!r}: at most "
                f"{math.floor(limit):,} (its busiest day must fit a day's "
                f"{ORDER_CAPACITY:,} OrderIds)"
            )
        return replace(
            self,
            base_mean=self.base_mean * factor,
            seasons=tuple(s._replace(mean=s.mean * factor) for s in self.seasons),
            registrations_per_day=self.registrations_per_day * factor,
        )


def max_safe_mean(capacity: int) -> float:
    """Largest Poisson mean whose `poisson_upper_bound` fits `capacity`."""
    # Solve m + 10 sqrt(m) + 10 = capacity for sqrt(m).
    root = (-10.0 + math.sqrt(100.0 + 4.0 * (capacity - 10.0))) / 2.0
    return root * root


ORIGINAL = VolumeProfile(
    name="original",
    base_mean=10.0,
    seasons=(Season(date(2022, 2, 25), date(2022, 5, 31), 3.0),),
    initial_customers=500,
    registrations_per_day=0.2,
    description="The original showcase: 10 orders/day, low season 3/day (2022-02-25..05-31).",
)

REALISTIC = VolumeProfile(
    name="realistic",
    base_mean=400.0,
    weekday_multipliers=(1.0, 1.0, 1.0, 1.0, 1.1, 1.35, 1.25),
    initial_customers=500,
    registrations_per_day=8.0,
    events=True,
    description=(
        "400 orders on weekdays, more on Friday and the weekend (440/day on average), and a "
        "year's business events."
    ),
)

PROFILES: dict[str, VolumeProfile] = {p.name: p for p in (ORIGINAL, REALISTIC)}
DEFAULT_PROFILE = REALISTIC.name


def get_profile(name: str = DEFAULT_PROFILE, orders_per_day: float | None = None) -> VolumeProfile:
    """A named profile, rescaled to `orders_per_day` on average when given."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}: choose one of {', '.join(sorted(PROFILES))}"
        ) from None
    return profile if orders_per_day is None else profile.scaled(orders_per_day)
