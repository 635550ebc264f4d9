"""CSV output: header row, quoting only when needed, files laid out Hive-style and written
atomically (temp file + os.replace) so a reader never sees half a file.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from coffee_assets.core import contract
from coffee_assets.core.dates import as_date
from coffee_assets.core.files import atomic_write
from coffee_assets.core.generator.core import (
    DayData,
    GeneratorConfig,
    generate_range,
    reference_tables_for,
)

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")

# pyarrow's "needed" style quotes every string value of a file, so files whose strings need no
# quoting (all daily files) are written with "none"; a file with a comma, quote or newline in a
# string (Stores.csv: "1 Shevchenko St, Kyiv") falls back to "needed". Header names never need it.
_PLAIN = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=65536)
_QUOTED = pacsv.WriteOptions(quoting_style="needed", quoting_header="none", batch_size=65536)


def _write(table: pa.Table, sink: Callable[[], object]) -> None:
    """Write `table` to a fresh sink from `sink()`, quoting strings only if the data needs it."""
    try:
        pacsv.write_csv(table, sink(), _PLAIN)
    except pa.ArrowInvalid:
        pacsv.write_csv(table, sink(), _QUOTED)


def to_csv_bytes(table: pa.Table) -> bytes:
    """The CSV text of `table` (header row, "\\n" line ends, nulls as empty fields)."""
    streams: list[pa.BufferOutputStream] = []

    def sink() -> pa.BufferOutputStream:
        streams.append(pa.BufferOutputStream())
        return streams[-1]

    _write(table, sink)
    return streams[-1].getvalue().to_pybytes()


def write_table(path: Path, table: pa.Table) -> Path:
    """Write `table` as CSV to `path` atomically (parent folders created)."""
    return atomic_write(Path(path), lambda tmp: _write(table, lambda: str(tmp)))


def day_paths(out_dir: Path, data: DayData) -> list[tuple[Path, pa.Table]]:
    """(path, table) of a day's three files, paths from contract.<T>.object_key(day)."""
    day = data.day.isoformat()
    return [(Path(out_dir) / c.object_key(day), table) for c, table in data.tables().items()]


def write_day(out_dir: Path, data: DayData) -> list[Path]:
    """Write a day's Customers.csv, Orders.csv and OrderDetails.csv under `out_dir`.

    Paths follow contract.<T>.object_key(day), e.g. orders/date=2025-01-01/Orders.csv.
    """
    return [write_table(path, table) for path, table in day_paths(out_dir, data)]


def write_reference(
    out_dir: Path, config: GeneratorConfig | None = None, until: date | None = None
) -> list[Path]:
    """Write the reference files (products, stores, prices, the calendar: events.py) under
    `out_dir`, as known on `until`."""
    tables = reference_tables_for(config or GeneratorConfig(), until)
    return [
        write_table(Path(out_dir) / c.object_key(), tables[c.table])
        for c in contract.REFERENCE_TABLES
    ]


@dataclass(frozen=True)
class RangeSummary:
    """What write_range wrote."""

    out_dir: Path
    start: date
    end: date
    days: int
    customers: int
    orders: int
    order_lines: int
    seconds: float


def write_range(
    out_dir: Path,
    config: GeneratorConfig,
    start: date,
    end: date,
    *,
    reference: bool = True,
    workers: int = 2,
    on_day: Callable[[DayData], None] | None = None,
) -> RangeSummary:
    """Generate and write every day from `start` to `end` (inclusive) under `out_dir`.

    Days are generated in this thread while `workers` threads write the CSV files (pyarrow
    releases the GIL), at most a few days ahead. `workers=0` writes in this thread.
    `on_day` is called after each day is generated (a progress bar, say).
    """
    start, end = as_date(start, "start"), as_date(end, "end")
    out_dir = Path(out_dir)
    began = time.perf_counter()
    if reference:
        write_reference(out_dir, config, end)
    days = customers = orders = lines = 0

    def count(data: DayData) -> None:
        nonlocal days, customers, orders, lines
        days += 1
        customers += data.customers.num_rows
        orders += data.orders.num_rows
        lines += data.order_details.num_rows
        if on_day is not None:
            on_day(data)

    _write_all(out_dir, _tap(generate_range(config, start, end), count), workers)
    return RangeSummary(
        out_dir, start, end, days, customers, orders, lines, time.perf_counter() - began
    )


def _tap(items: Iterable[DayData], callback: Callable[[DayData], None]) -> Iterable[DayData]:
    for item in items:
        callback(item)
        yield item


def _write_all(out_dir: Path, days: Iterable[DayData], workers: int) -> None:
    """Write the days' files, with `workers` writer threads (0: in this thread)."""
    files = (item for data in days for item in day_paths(out_dir, data))
    for _ in write_files(files, write_table, workers):
        pass


def write_files(
    files: Iterable[tuple[K, T]], write: Callable[[K, T], R], workers: int = 2
) -> Iterator[R]:
    """`write(key, content)` for each file (a table, usually), in `workers` threads (0: in
    this thread), yielding the results in the files' order. `files` is consumed at most a few
    files ahead of the writes (bounding the memory held by generated days); pyarrow's CSV
    writer and a bucket's upload release the GIL, so generating the next day overlaps writing
    this one, and uploads overlap each other."""
    if workers <= 0:
        for key, table in files:
            yield write(key, table)
        return
    pending: deque[Future[R]] = deque()
    limit = 6 * workers  # files in flight
    with ThreadPoolExecutor(workers, thread_name_prefix="coffee-csv") as pool:
        try:
            for key, table in files:
                pending.append(pool.submit(write, key, table))
                while len(pending) > limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
