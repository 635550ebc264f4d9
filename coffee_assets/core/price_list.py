"""The chain's price list read as a calendar, and judged as reference data.

A point-of-sale system exports its price list (ProductPrices.csv: a product's price from
ValidFrom to ValidTo). Read entry by entry, it says what a business calendar would:

- a **price change**: an entry whose price differs from the product's previous entry explains the
  revenue of its first day (as the calendar's `price_change` does);
- a **promotion**: a lower price for a few days, after which the price returns at least to where
  it was, explains more orders and any revenue while it lasts (as the calendar's `promotion`);
- a **move of more than half** (a price that doubles, or falls under half, overnight) is no
  business event: most likely a price entered wrong (350.00 for 3.50). It explains nothing; the
  `price_list_moves` check warns on it, and the store-day check names it as the likely cause of
  a day's revenue.

So imported or real data with a price list but no events file still knows its price changes
and promotions. Pure code: the callers read the rows (raw or staged) and pass them in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.sql import cents

PRICE_CHANGE = "price_change"  # the calendar's event types (core/contract.py's BusinessEvents)
PROMOTION = "promotion"
# A move larger than this share of the previous price (up or down) is no business event.
MOVE_LIMIT = 0.5
# Longest lower price read as a promotion: longer, it is a price change (down) and its end one.
PROMOTION_DAYS = 31
SOURCE = "price list"


@dataclass(frozen=True)
class PriceEntry:
    """One row of the price list, money in integer cents."""

    price_id: int
    product_id: int
    product: str  # the product's name (its id when the products table does not know it)
    price_cents: int
    valid_from: date
    valid_to: date | None  # None: still valid


@dataclass(frozen=True)
class PriceMove:
    """An entry and the product's entry before it (by ValidFrom): a price that moved."""

    entry: PriceEntry
    previous_cents: int
    next_cents: int | None  # the product's following entry's price (None: none yet)

    @property
    def change(self) -> float:
        """The move as a share of the previous price (+0.10: up a tenth)."""
        return self.entry.price_cents / self.previous_cents - 1 if self.previous_cents else 0.0

    @property
    def too_far(self) -> bool:
        """More than MOVE_LIMIT either way, or from a price of 0 to any other."""
        return self.previous_cents == 0 or abs(self.change) > MOVE_LIMIT

    @property
    def promotion(self) -> bool:
        """A lower price for a bounded stretch, after which the price comes back."""
        e = self.entry
        return (
            e.price_cents < self.previous_cents
            and e.valid_to is not None
            and (e.valid_to - e.valid_from).days < PROMOTION_DAYS
            and self.next_cents is not None
            and self.next_cents >= self.previous_cents
        )

    def words(self) -> str:
        """`Latte 3.50 -> 35.00 (+900%) from 2025-03-02 (price list entry 17)`."""
        e = self.entry
        return (
            f"{e.product} {_money(self.previous_cents)} -> {_money(e.price_cents)} "
            f"({self.change:+.0%}) from {e.valid_from} (price list entry {e.price_id})"
        )

    def covers(self, day: date) -> bool:
        e = self.entry
        return e.valid_from <= day and (e.valid_to is None or day <= e.valid_to)


def _money(value: int) -> str:
    return f"{value / 100:,.2f}"


def moves(entries: Iterable[PriceEntry]) -> list[PriceMove]:
    """Every entry whose price differs from the product's previous entry's (by ValidFrom, then
    PriceId), in the order of their days."""
    by_product: dict[int, list[PriceEntry]] = defaultdict(list)
    for entry in entries:
        by_product[entry.product_id].append(entry)
    found = []
    for rows in by_product.values():
        rows.sort(key=lambda e: (e.valid_from, e.price_id))
        for i, (before, entry) in enumerate(zip(rows, rows[1:]), start=1):
            after = rows[i + 1].price_cents if i + 1 < len(rows) else None
            if entry.price_cents != before.price_cents:
                found.append(PriceMove(entry, before.price_cents, after))
    return sorted(found, key=lambda m: (m.entry.valid_from, m.entry.product, m.entry.price_id))


@dataclass(frozen=True)
class DerivedEvent:
    """A calendar event the price list implies, for the whole chain, start...end."""

    type: str  # price_change or promotion
    name: str
    start: date
    end: date


def derived_events(
    found: Sequence[PriceMove],
    first: date,
    last: date,
    listed: Iterable[tuple[str, date]] = (),
) -> list[DerivedEvent]:
    """The price changes and promotions the price list implies overlapping first...last, on
    days the business's calendar does not already list an event of that type on (`listed`:
    its (type, day) pairs). A move of more than half implies nothing (a price entered wrong is
    an incident, not an event). The products moving together (a category's promotion) are one
    event."""
    have = set(listed)
    kept = [m for m in found if not m.too_far]
    # A promotion's end (the price back where it was) is part of the promotion, no change.
    ends = {
        (m.entry.product_id, m.entry.valid_to + timedelta(days=1), m.previous_cents)
        for m in kept
        if m.promotion and m.entry.valid_to is not None
    }
    grouped: dict[tuple[str, date, date], list[tuple[str, int]]] = defaultdict(list)
    for move in kept:
        e = move.entry
        if (e.product_id, e.valid_from, e.price_cents) in ends:
            continue
        if move.promotion and e.valid_to is not None:
            grouped[(PROMOTION, e.valid_from, e.valid_to)].append(
                (e.product, round(-move.change * 100))
            )
        else:
            grouped[(PRICE_CHANGE, e.valid_from, e.valid_from)].append(
                (e.product, round(move.change * 100))
            )
    events = []
    for (kind, start, end), touched in sorted(grouped.items()):
        if end < first or start > last:
            continue
        if all((kind, day) in have for day in days_between(max(start, first), min(end, last))):
            continue
        events.append(DerivedEvent(kind, _name(kind, touched), start, end))
    return events


def _name(kind: str, touched: Sequence[tuple[str, int]]) -> str:
    """`Latte, Mocha at 20% off (price list)`, `Espresso up 10% (price list)`."""
    products = ", ".join(sorted({product for product, _ in touched}))
    low, high = min(p for _, p in touched), max(p for _, p in touched)
    if kind == PROMOTION:
        share = f"{low}%" if low == high else f"{low}-{high}%"
        return f"{products} at {share} off ({SOURCE})"
    if low == high:
        share = f"{'up' if low > 0 else 'down'} {abs(low)}%"
    else:
        share = f"{low:+d}% to {high:+d}%"
    return f"{products} {share} ({SOURCE})"


# The price list's columns in the raw tables (the files' names) and in dbt's staging models.
RAW_COLUMNS = ("PriceId", "ProductId", "Price", "ValidFrom", "ValidTo", "ProductName")
STAGED_COLUMNS = ("price_id", "product_id", "price", "valid_from", "valid_to", "product_name")


def price_list_sql(prices: str, products: str, columns: Sequence[str] = RAW_COLUMNS) -> str:
    """The whole price list with its products' names (portable SQL: DuckDB and BigQuery), rows
    for entries_from_rows. `prices`, `products`: the tables as the warehouse names them; the
    products' names are one per id (a duplicated id, the unique_key check's finding, repeats
    no entry)."""
    price_id, product_id, price, valid_from, valid_to, name = columns
    return f"""
        SELECT pp.{price_id}, pp.{product_id}, p.product_name, {cents(f"pp.{price}")},
               pp.{valid_from}, pp.{valid_to}
        FROM {prices} AS pp
        LEFT JOIN (
            SELECT {product_id} AS product_id, MIN({name}) AS product_name
            FROM {products} GROUP BY {product_id}
        ) AS p ON p.product_id = pp.{product_id}
    """


def read_moves(
    query: Callable[[str], list[tuple]],
    prices: str,
    products: str,
    columns: Sequence[str] = RAW_COLUMNS,
) -> list[PriceMove]:
    """Every move of the price list, read through `query` (a warehouse's)."""
    return moves(entries_from_rows(query(price_list_sql(prices, products, columns))))


def entries_from_rows(rows: Iterable[Sequence]) -> list[PriceEntry]:
    """PriceEntry from price_list_sql's rows: (price id, product id, product name or None,
    price in cents, valid from, valid to)."""
    return [
        PriceEntry(
            int(price_id),
            int(product_id),
            str(name) if name is not None else f"product {product_id}",
            int(price),
            as_date(valid_from),
            as_date(valid_to) if valid_to is not None else None,
        )
        for price_id, product_id, name, price, valid_from, valid_to in rows
    ]
