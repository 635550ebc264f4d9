"""Readable ids that stay unique across days: the day's yyyymmdd followed by a 1-based sequence.

CustomerId = yyyymmdd * 100_000 + seq, OrderId = yyyymmdd * 100_000 + seq,
OrderDetailId = yyyymmdd * 1_000_000 + seq (all int64).
"""

from __future__ import annotations

from datetime import date

import numpy as np

CUSTOMER_FACTOR = 100_000
ORDER_FACTOR = 100_000
LINE_FACTOR = 1_000_000

# Largest sequence number a single day can hold for each id.
CUSTOMER_CAPACITY = CUSTOMER_FACTOR - 1
ORDER_CAPACITY = ORDER_FACTOR - 1

_EPOCH = np.datetime64("1970-01-01", "D")


def yyyymmdd(day: date) -> int:
    """20250131 for 2025-01-31."""
    return day.year * 10_000 + day.month * 100 + day.day


def yyyymmdd_array(days: np.ndarray) -> np.ndarray:
    """Vectorized yyyymmdd for a datetime64[D] array (int64)."""
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = months.astype(np.int64) - (y - 1970) * 12 + 1
    d = (days - months).astype(np.int64) + 1
    return y * 10_000 + m * 100 + d


def sequential_ids(day: date, count: int, factor: int) -> np.ndarray:
    """The day's ids 1..count as int64 (`factor` is one of the *_FACTOR constants)."""
    if count > factor - 1:
        raise ValueError(
            f"{count} ids on {day} exceed the per-day capacity of {factor - 1} "
            "(lower the volume: --orders-per-day)"
        )
    return np.arange(yyyymmdd(day) * factor + 1, yyyymmdd(day) * factor + count + 1, dtype=np.int64)


def epoch_days(day: date) -> int:
    """Days since 1970-01-01 (the date32 storage value)."""
    return int((np.datetime64(day, "D") - _EPOCH).astype(np.int64))
