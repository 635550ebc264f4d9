"""Checks on the raw tables: keys and dates over the whole table, each day's rules, the prices.

Blocking but for `price_list_moves`: a raw table that fails an ERROR rule holds corrupt data, so
dbt must not build on it (the marts keep their last good content). The loader already guarantees
types, required values, what a sale can be and each file's dates; these rules span rows, days
and tables.

- `unique_key` (every table) and `dates_inside_partitions` (daily tables): one verdict per run;
  a duplicate or a stray date is a property of the table, not of a day. A daily table's run
  checks the keys of its days against the whole table (a new row repeating any older one); the
  weekly whole-table pass (defs/schedules) checks every key.
- `daily_rules` (orders, order lines): one verdict per day of the run, covering every rule a
  single day can break on its own (core/rules.py, which coffee-import runs too); the day's
  metadata names each failed rule with its offending rows. All ERROR, blocking what is
  downstream.
- `price_list_moves` (product prices): one verdict per run, WARN and not blocking: a price list
  entry whose price moved more than half from the product's previous one (a price entered
  wrong, 35.00 for 3.50) is reference data a dashboard should not meet unannounced, though it
  may be right. Each entry is an incident of its own, announced once.

Whether a day's volume is plausible is the business layer's question, judged by each store's own
history (defs/business).
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.core import price_list as pl
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.core.rules import Rule, Tables, duplicated_keys, rules_of
from coffee_assets.core.sql import between
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.raw.quarantine import ACCEPT_TAG, ACCEPTED
from coffee_assets.operations.books import RunBooks
from coffee_assets.platform.checks import (
    ERROR,
    INCIDENTS,
    WARN,
    Verdict,
    check_metadata,
    emit,
    offenders,
    offenders_per_day,
)
from coffee_assets.platform.metadata import markdown_table
from coffee_assets.platform.partitions import run_days, run_window
from coffee_assets.platform.warehouse import Warehouse
from coffee_assets.settings import Settings


def raw_name(table: c.TableContract) -> str:
    return f"{RAW_SCHEMA}.{table.table}"


def raw_tables(warehouse: Warehouse) -> Tables:
    """Each raw table's name in the warehouse's SQL, as the rules take them."""
    return {t.table: warehouse.table_ref(raw_name(t)) for t in c.ALL_TABLES}


# ------------------------------------------------------------------------ whole-table checks
def build_unique_key_check(table: c.TableContract, *, pool: str | None) -> dg.AssetChecksDefinition:
    key = table.key
    columns = [key, "copies", "first_day", "last_day"] if table.partitioned else [key, "copies"]

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="unique_key",
        description=(
            f"{key} is unique across the whole table (ids never repeat, also across days): a "
            "run checks its days' keys against every row; a run without partitions, every key."
        ),
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _unique_key(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        # A daily table's run checks the keys of its days against the whole table; a run
        # without partitions (the weekly whole-table pass) checks every key.
        window = run_window(context) if table.partitioned else None
        sql = duplicated_keys(table, raw_tables(warehouse)[table.table], window)
        hits = offenders(warehouse.query, sql, columns)
        scope = f" among the keys of {window[0]}...{window[1]}" if window else ""
        verdict = Verdict(
            hits.count == 0,
            f"every {key} is unique{scope}"
            if not hits.count
            else f"{hits.count} duplicated {key} value(s){scope}",
            {
                "table": raw_name(table),
                "scope": f"{window[0]}...{window[1]}" if window else "the whole table",
                **hits.metadata(),
            },
        )
        yield from emit(context, {None: verdict})

    return _unique_key


def build_history_dates_check(
    table: c.TableContract,
    settings: Settings,
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
) -> dg.AssetChecksDefinition:
    """Rows dated outside the partitions (before the history or in an unfinished day) would
    never be replaced or checked by any partition's run: the table holds nothing there."""
    column = table.day_column

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="dates_inside_partitions",
        description=(
            f"No row's {column} lies outside the daily partitions (before the history's start "
            f"{settings.start_date} or after the last complete day): each row belongs to a "
            "partition that loads and checks it."
        ),
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _dates_inside_partitions(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        last_key = partitions_def.get_last_partition_key()
        last = date.fromisoformat(last_key) if last_key else settings.start_date
        hits = offenders(
            warehouse.query,
            f"SELECT {table.key}, {column} FROM {raw_tables(warehouse)[table.table]} "
            f"WHERE NOT ({between(column, settings.start_date, last)})",
            [table.key, column],
        )
        verdict = Verdict(
            hits.count == 0,
            f"every {column} lies within {settings.start_date}...{last}"
            if not hits.count
            else f"{hits.count} row(s) dated outside {settings.start_date}...{last}",
            {
                "table": raw_name(table),
                "partitions": f"{settings.start_date}...{last}",
                **hits.metadata(),
            },
        )
        yield from emit(context, {None: verdict})

    return _dates_inside_partitions


# ------------------------------------------------------------------------------ daily rules
@dataclass(frozen=True)
class DayFinding:
    """What one rule found wrong on one day."""

    summary: str  # e.g. "1 order(s) whose amounts do not reconcile"
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: dg.AssetCheckSeverity = ERROR


def rule_findings(
    rule: Rule, warehouse: Warehouse, first: date, last: date
) -> dict[date, DayFinding]:
    """The days of first...last on which a rule of core/rules.py fails (all of them ERROR)."""
    hits = offenders_per_day(
        warehouse.query,
        rule.query(raw_tables(warehouse), first, last),
        rule.columns,
        money=rule.money,
    )
    return {
        day: DayFinding(f"{found.count} {rule.problem}", found.metadata())
        for day, found in hits.items()
    }


def build_daily_rules_check(
    table: c.TableContract,
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
) -> dg.AssetChecksDefinition:
    rules = rules_of(table)
    asserts = [f"{rule.name}: {rule.asserts}" for rule in rules]
    names = [rule.name for rule in rules]
    reads = sorted(
        {t.table: t for rule in rules for t in rule.reads}.values(), key=lambda t: t.table
    )

    @dg.asset_check(
        asset=raw_asset_key(table),
        name="daily_rules",
        description=(
            f"Each day of {raw_name(table)}: "
            + "; ".join(asserts)
            + ". One result per day; the day's metadata names each failed rule."
        ),
        blocking=True,
        partitions_def=partitions_def,
        additional_deps=[raw_asset_key(other) for other in reads if other != table],
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw", rules=", ".join(names)),
    )
    def _daily_rules(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        days = run_days(context)
        first, last = days[0], days[-1]
        findings = {rule.name: rule_findings(rule, warehouse, first, last) for rule in rules}
        # A run tagged coffee/accept takes its days as they are (quarantine.py): what fails is
        # recorded, as WARN, and does not block.
        accept = (context.run.tags.get(ACCEPT_TAG) or "").strip()
        verdicts: dict[str | None, Verdict] = {}
        for day in days:
            failed = {name: found[day] for name, found in findings.items() if day in found}
            metadata: dict[str, Any] = {"table": raw_name(table), "partition": day.isoformat()}
            for name, finding in failed.items():
                metadata[name] = finding.summary
                metadata |= {f"{name}.{key}": value for key, value in finding.metadata.items()}
            severity = ERROR if any(f.severity == ERROR for f in failed.values()) else WARN
            what = "; ".join(f"{name}: {finding.summary}" for name, finding in failed.items())
            if failed:
                # One incident per day and table, however often the day is evaluated again (or
                # accepted after): the alert sensor announces it once, and once more when lifted.
                metadata[INCIDENTS] = f"{raw_name(table)} {day}"
            if failed and accept:
                severity = WARN
                metadata[ACCEPTED] = accept
                what = f"accepted as it is ({accept}): {what}"
            verdicts[day.isoformat()] = Verdict(
                not failed,
                f"{what} on {day}" if failed else f"all {len(names)} rules hold on {day}",
                metadata,
                severity if failed else None,
            )
        yield from emit(context, verdicts)

    return _daily_rules


def build_price_list_check(*, pool: str | None) -> dg.AssetChecksDefinition:
    limit = f"{pl.MOVE_LIMIT:.0%}"

    @dg.asset_check(
        asset=raw_asset_key(c.PRODUCT_PRICES),
        name="price_list_moves",
        description=(
            f"No price list entry moves its product's price by more than {limit} from the "
            "entry before it (up or down): such a move is more likely a price entered wrong "
            "than a business decision. WARN, not blocking; each entry is one incident."
        ),
        blocking=False,
        additional_deps=[raw_asset_key(c.PRODUCTS)],
        pool=pool,
        metadata=check_metadata(WARN, layer="raw", limit=limit),
    )
    def _price_list_moves(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        tables = raw_tables(warehouse)
        prices, products = tables[c.PRODUCT_PRICES.table], tables[c.PRODUCTS.table]
        found = pl.read_moves(warehouse.query, prices, products)
        too_far = [m for m in found if m.too_far]
        largest = max((abs(m.change) for m in found), default=0.0)
        metadata: dict[str, Any] = {
            "table": raw_name(c.PRODUCT_PRICES),
            "price_moves": len(found),
            "moves_beyond_limit": len(too_far),
            "largest_move_pct": dg.MetadataValue.float(round(100 * largest, 1)),
        }
        if too_far:
            metadata["entries"] = markdown_table(
                ["entry", "product", "valid from", "previous", "price", "move"],
                [
                    (
                        m.entry.price_id,
                        m.entry.product,
                        m.entry.valid_from.isoformat(),
                        f"{m.previous_cents / 100:.2f}",
                        f"{m.entry.price_cents / 100:.2f}",
                        f"{m.change:+.0%}",
                    )
                    for m in too_far
                ],
            )
            metadata[INCIDENTS] = ", ".join(f"price list entry {m.entry.price_id}" for m in too_far)
        verdict = Verdict(
            not too_far,
            f"{len(too_far)} price list entr{'y' if len(too_far) == 1 else 'ies'} moved more "
            f"than {limit}: " + "; ".join(m.words() for m in too_far)
            if too_far
            else f"every one of {len(found)} price moves within {limit} of the price before",
            metadata,
        )
        yield from emit(context, {None: verdict})

    return _price_list_moves


def build_raw_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition, *, pool: str | None
) -> list[dg.AssetChecksDefinition]:
    return [
        *(build_unique_key_check(t, pool=pool) for t in c.ALL_TABLES),
        *(
            build_history_dates_check(t, settings, partitions_def, pool=pool)
            for t in c.DAILY_TABLES
        ),
        *(
            build_daily_rules_check(t, partitions_def, pool=pool)
            for t in (c.ORDERS, c.ORDER_DETAILS)
        ),
        build_price_list_check(pool=pool),
    ]
