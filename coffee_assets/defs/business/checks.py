"""`store_days_as_usual`: each store's day judged by the store's own history (core/anomalies.py).

A check of the raw orders, one result per day, run after the raw tables load and before dbt. It
reads the store-day counts and revenue of the run's days and the nine weeks before (a bounded
window, whatever the history's length), the stores' opening days and the chain's calendar, with
what it does not list added: the public holidays of the settings' country (the holidays library)
and the price changes and promotions the price list shows (core/price_list.py). Without a
calendar file (imported data) every day is still judged, and a failed day says so.

- WARN, not blocking: a store-day outside its band (an unexplained drop or rise), or a store
  that should have been busy with no order at all (a POS down all day). The data may well be
  right: the marts and reports go on, and the alert names the store, day, metric, actual,
  expected and band.
- ERROR, blocking: no store of the chain recorded anything while they were expected busy (an
  empty or lost delivery): that cannot be a business day.
- A day the calendar explains (a holiday, a promotion, an opening's first weeks) is judged and
  reported, never failed; a store with too little history is judged leniently and says so.
- A failed day names what the data shows as its likely cause: a price list entry valid that day
  that moved more than half (a price entered wrong). Orders whose lines are missing or off the
  list price are the order lines' `daily_rules` finding (lines_add_up_to_subtotal, an ERROR).

Each evaluation carries every store's actual, expected, low and high (orders and revenue) as
numbers the UI plots per partition, and the incidents it fails on: a shift that lasts several
days is one incident (named by its first day, its days judged against the store's days before
it: core/anomalies.py), announced once by the alert sensor; the evaluation of the day the store
is back names it as ended, and the sensor announces that once too. Each evaluation records every
judgement of its day (`judgements`): the `store_day_verdicts` asset (verdicts.py) writes them as
a table, which the sales report reads instead of judging again.
"""

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import dagster as dg

from coffee_assets.core import anomalies as a
from coffee_assets.core import contract as c
from coffee_assets.core import price_list as pl
from coffee_assets.core import verdict_table as vt
from coffee_assets.core.business_calendar import completed, events_from_rows, known_days
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.public_holidays import HolidayCalendar
from coffee_assets.core.sql import between, cents, date_literal
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.raw.checks import raw_name
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.checks import (
    ENDED,
    ERROR,
    INCIDENTS,
    LASTING,
    WARN,
    Verdict,
    check_metadata,
    emit,
)
from coffee_assets.platform.metadata import markdown_table
from coffee_assets.platform.partitions import run_days
from coffee_assets.platform.warehouse import Warehouse

CHECK = "store_days_as_usual"
# What the judgement of a day reads before it: its eight same weekdays and the revenue days.
LOOKBACK = timedelta(weeks=a.WEEKS) + timedelta(days=7)


def _table(warehouse: Warehouse, table: c.TableContract) -> str:
    return warehouse.table_ref(raw_name(table))


def store_day_history(
    warehouse: Warehouse, first: date, last: date
) -> dict[int, dict[date, a.StoreDay]]:
    """{store: {day: orders and revenue}} of first...last, from the raw orders."""
    rows = warehouse.query(
        f"SELECT StoreId, OrderDate, COUNT(*), SUM({cents('TotalAmount')}) "
        f"FROM {_table(warehouse, c.ORDERS)} WHERE {between('OrderDate', first, last)} "
        f"GROUP BY StoreId, OrderDate"
    )
    history: dict[int, dict[date, a.StoreDay]] = defaultdict(dict)
    for store, day, orders, revenue in rows:
        history[int(store)][as_date(day)] = a.StoreDay(int(orders), int(revenue or 0))
    return history


def stores(warehouse: Warehouse) -> dict[int, tuple[str, date | None]]:
    """{store: (name, opening day or None)}."""
    rows = warehouse.query(
        f"SELECT StoreId, StoreName, OpeningDate FROM {_table(warehouse, c.STORES)}"
    )
    return {int(s): (str(n), as_date(o) if o is not None else None) for s, n, o in rows}


NO_CALENDAR = (
    "No business calendar explained it (Events.csv lists no event): judged with the public "
    "holidays of {holidays} and the price list's changes and promotions only"
)


def calendar_rows(warehouse: Warehouse) -> int:
    """How many events the business's calendar (Events.csv) holds: 0 for imported data."""
    [(count,)] = warehouse.query(f"SELECT COUNT(*) FROM {_table(warehouse, c.BUSINESS_EVENTS)}")
    return int(count)


def price_moves(warehouse: Warehouse) -> list[pl.PriceMove]:
    """Every move of the price list (raw ProductPrices.csv), with the products' names."""
    prices, products = _table(warehouse, c.PRODUCT_PRICES), _table(warehouse, c.PRODUCTS)
    return pl.read_moves(warehouse.query, prices, products)


def calendar(
    warehouse: Warehouse,
    first: date,
    last: date,
    holidays: HolidayCalendar,
    moves: list[pl.PriceMove] | None = None,
    known_stores: dict[int, tuple[str, date | None]] | None = None,
) -> a.Known:
    """The chain's known events by (store, or None for every store) and day, first...last: the
    business's calendar (raw Events.csv) completed with what it does not list of the public
    holidays, the price list's changes and promotions, and the stores' opening weeks (their
    OpeningDate): core/business_calendar.py."""
    rows = warehouse.query(
        f"SELECT EventType, Name, StartDate, EndDate, StoreId "
        f"FROM {_table(warehouse, c.BUSINESS_EVENTS)} "
        f"WHERE StartDate <= {date_literal(last)} AND EndDate >= {date_literal(first)}"
    )
    listed = events_from_rows(rows)
    found = price_moves(warehouse) if moves is None else moves
    openings = stores(warehouse) if known_stores is None else known_stores
    events = completed(listed, holidays, found, first, last, openings)
    return known_days(events, first, last)


def likely_causes(failed: list[a.Judgement], moves: list[pl.PriceMove]) -> dict[date, list[str]]:
    """What the data shows that probably explains a failed day, by day: a price list entry
    valid that day that moved more than half (a price entered wrong?). Orders whose lines are
    missing or off the list price are the order lines' `daily_rules` finding (an ERROR, named
    there with the orders): this check runs before the lines load."""
    causes: dict[date, list[str]] = defaultdict(list)
    for day in sorted({j.day for j in failed}):
        for move in moves:
            if move.too_far and move.covers(day):
                causes[day].append(f"a price list entry that moved more than half: {move.words()}")
    return causes


def incident_name(store: int, since: date) -> str:
    """What an incident is called in the evaluations' metadata and the alerts: `store 3 since
    2025-03-01`, `chain since ...` (its first day: the same name for all its days)."""
    return f"{'chain' if store == a.CHAIN else f'store {store}'} since {since}"


def judge_days(
    warehouse: Warehouse,
    first: date,
    last: date,
    known_stores: dict[int, tuple[str, date | None]],
    holidays: HolidayCalendar,
    moves: list[pl.PriceMove],
) -> list[a.DayVerdict]:
    """first...last judged, with the week before (an incident that began before the run keeps
    its name, and one that ends on the run's first day is seen to end); when a store is in an
    incident on that week's first day, judged again from INCIDENT_DAYS_MAX days before, so
    that a lasting incident is known from its first day (and its days stay out of the
    baselines). A normal day reads nine weeks of store-days; only a lasting incident more."""
    back = timedelta(days=7)
    while True:
        judged = days_between(first - back, last)
        # An incident's baseline reaches back past it, never before its first day's LOOKBACK.
        since = judged[0] - LOOKBACK
        history = store_day_history(warehouse, since, last)
        for store in known_stores:
            history.setdefault(store, {})
        verdicts = a.judge(
            history,
            judged,
            opened={store: opened for store, (_, opened) in known_stores.items()},
            known=calendar(warehouse, since, last, holidays, moves, known_stores),
        )
        if back.days >= a.INCIDENT_DAYS_MAX or not verdicts[0].incidents:
            return verdicts
        back = timedelta(days=a.INCIDENT_DAYS_MAX)


def _metadata(verdict: a.DayVerdict, names: dict[int, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"partition": verdict.day.isoformat()}
    for j in verdict.judgements:
        label = f"{names.get(j.store_id, j.store_id)} {j.metric}"
        scale = 100 if j.metric == "revenue" else 1
        for name, value in (("", j.actual), (" expected", j.expected), (" low", j.low),
                            (" high", j.high)):  # fmt: skip
            if value is not None:
                metadata[f"{label}{name}"] = dg.MetadataValue.float(round(value / scale, 2))
    rows = [
        (
            names.get(j.store_id, j.store_id),
            j.metric,
            j.text(names.get(j.store_id, str(j.store_id))),
        )
        for j in verdict.judgements
        if j.verdict != "ok" or j.lenient or j.known
    ]
    if rows:
        metadata["notes"] = markdown_table(["store", "metric", "judgement"], rows)
    # Every judgement of the day, as the store_day_verdicts table's rows (verdicts.py).
    metadata[vt.ROWS_METADATA] = dg.MetadataValue.json(vt.rows(verdict, names))
    return metadata


def build_store_day_check(
    partitions_def: dg.PartitionsDefinition, *, pool: str | None, holidays: HolidayCalendar
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(c.ORDERS),
        name=CHECK,
        description=(
            "Each store's day judged by the store's own history: orders and revenue against "
            f"the median of the same weekday in the {a.WEEKS} weeks before, within a robust "
            "band. WARN for an unusual store-day or a store without orders that should have "
            "had them (a POS down); ERROR, blocking, for a day no store recorded anything on (a "
            "lost delivery). The chain's calendar explains what it holds (holidays, "
            "promotions, openings); where it is silent (imported data has none), the public "
            f"holidays of {holidays.describe()} (the holidays library) and the price list's "
            "changes and promotions explain their days. A failed day names its likely cause "
            "where the data shows one (a price list entry that moved more than half); a store "
            "with little history is judged leniently. An incident lasts, one name from its "
            "first day, until the store is back to its usual (or five weeks, its new usual): "
            "announced once when it starts and once when it ends."
        ),
        blocking=True,
        partitions_def=partitions_def,
        additional_deps=[
            raw_asset_key(t) for t in (c.STORES, c.BUSINESS_EVENTS, c.PRODUCT_PRICES, c.PRODUCTS)
        ],
        pool=pool,
        metadata=check_metadata(ERROR, layer="business"),
    )
    def _store_days_as_usual(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        days = run_days(context)
        first, last = days[0], days[-1]
        known_stores = stores(warehouse)
        names = {store: name for store, (name, _) in known_stores.items()}
        names[a.CHAIN] = "The whole chain"
        moves = price_moves(warehouse)
        verdicts = judge_days(warehouse, first, last, known_stores, holidays, moves)
        failed_now = [j for v in verdicts if v.day >= first for j in v.failed]
        causes = likely_causes(failed_now, moves)
        without_calendar = bool(failed_now) and not calendar_rows(warehouse)
        results: dict[str | None, Verdict] = {}
        for verdict in verdicts:
            if verdict.day < first:
                continue
            failed = verdict.failed
            metadata = _metadata(verdict, names)
            back = [
                f"{names.get(store, store)} back to its usual (the incident "
                f"{incident_name(store, since)}, {(verdict.day - since).days} day(s))"
                for store, since in verdict.ended
            ]
            if back:
                metadata[ENDED] = ", ".join(incident_name(s, d) for s, d in verdict.ended)
            if verdict.chain_empty:
                description = (
                    f"no store recorded an order on {verdict.day} (an empty or lost delivery?)"
                )
                results[verdict.day.isoformat()] = Verdict(False, description, metadata, ERROR)
                continue
            if not failed:
                description = "; ".join([f"every store's day as usual on {verdict.day}", *back])
                results[verdict.day.isoformat()] = Verdict(True, description, metadata)
                continue
            metadata[INCIDENTS] = ", ".join(
                incident_name(store, since) for store, since in verdict.incidents
            )
            # The sensor announces each incident once, and once more when an evaluation of a
            # later day names it in ENDED (the store back to its usual).
            metadata[LASTING] = "until the store is back to its usual"
            description = "; ".join(
                [*(j.text(names.get(j.store_id, str(j.store_id))) for j in failed), *back]
            )
            probable = causes.get(verdict.day, [])
            if probable:
                description += f". Probably: {'; '.join(probable)}"
                metadata["likely causes"] = dg.MetadataValue.md(
                    "\n".join(f"- {cause}" for cause in probable)
                )
            if without_calendar:
                description += f". {NO_CALENDAR.format(holidays=holidays.describe())}"
                metadata["calendar"] = NO_CALENDAR.format(holidays=holidays.describe())
            results[verdict.day.isoformat()] = Verdict(False, description, metadata, WARN)
        yield from emit(context, results)

    return _store_days_as_usual
