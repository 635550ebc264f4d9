"""Checks on the raw tables: keys and dates over the whole table, and each day's rules.

All blocking: a raw table that fails an ERROR rule holds corrupt data, so dbt must not build on
it (the marts keep their last good content). The loader already guarantees types, required
values, what a sale can be and each file's dates; these rules span rows, days and tables.

- `unique_key` (every table) and `dates_inside_partitions` (daily tables): one verdict per run
  over the whole table; a duplicate or a stray date is a property of the table, not of a day.
- `daily_rules` (orders, order lines): one verdict per day of the run, covering every rule a
  single day can break on its own (core/rules.py, which coffee-import runs too); the day's
  metadata names each failed rule with its offending rows. Its severity is ERROR when an ERROR
  rule fails (blocking what is downstream), WARN when only an implausible but consistent volume
  does.
"""

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core import contract as c
from coffee_assets.core.dates import as_date, days_between
from coffee_assets.core.generator import VolumeProfile, get_profile
from coffee_assets.core.project import RAW_SCHEMA
from coffee_assets.core.rules import Rule, Tables, duplicated_keys, rules_of
from coffee_assets.core.sql import between
from coffee_assets.defs.raw.assets import raw_asset_key
from coffee_assets.defs.runs.books import RunBooks
from coffee_assets.platform.checks import (
    ERROR,
    WARN,
    Verdict,
    check_metadata,
    emit,
    offenders,
    offenders_per_day,
)
from coffee_assets.platform.partitions import run_days
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
        description=f"{key} is unique across the whole table (ids never repeat, also across days).",
        blocking=True,
        pool=pool,
        metadata=check_metadata(ERROR, layer="raw"),
    )
    def _unique_key(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, run_books: RunBooks
    ):
        hits = offenders(
            warehouse.query, duplicated_keys(table, raw_tables(warehouse)[table.table]), columns
        )
        verdict = Verdict(
            hits.count == 0,
            f"every {key} is unique"
            if not hits.count
            else f"{hits.count} duplicated {key} value(s)",
            {"table": raw_name(table), **hits.metadata()},
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


VOLUME = "orders_per_day_plausible"


def plausible_range(mean: float) -> tuple[int, int]:
    """Counts a Poisson(mean) day falls outside with negligible probability (6 sigma)."""
    spread = 6 * math.sqrt(mean) + 3
    return max(0, math.floor(mean - spread)), math.ceil(mean + spread)


def volume_findings(
    profile: VolumeProfile, warehouse: Warehouse, first: date, last: date
) -> dict[date, DayFinding]:
    """The day's order count against the volume profile. An empty day where the profile makes
    one impossible (a header-only or lost delivery) is an ERROR; a count outside 6 standard
    deviations but not zero (a truncated or doubled delivery, or a real odd day) is a WARN."""
    rows = warehouse.query(
        f"SELECT OrderDate, COUNT(*) FROM {raw_tables(warehouse)['orders']} "
        f"WHERE {between('OrderDate', first, last)} GROUP BY OrderDate"
    )
    counts = {as_date(day): int(n) for day, n in rows}
    found = {}
    for day in days_between(first, last):
        count, mean = counts.get(day, 0), profile.mean_for(day)
        low, high = plausible_range(mean)
        if low <= count <= high:
            continue
        empty = count == 0
        found[day] = DayFinding(
            f"{count} orders, outside the plausible {low}..{high} for a mean of {mean:.1f}"
            + (" (an empty delivery?)" if empty else ""),
            {"orders": count, "plausible_min": low, "plausible_max": high},
            ERROR if empty else WARN,
        )
    return found


def build_daily_rules_check(
    table: c.TableContract,
    settings: Settings,
    partitions_def: dg.PartitionsDefinition,
    *,
    pool: str | None,
) -> dg.AssetChecksDefinition:
    rules = rules_of(table)
    profile = get_profile(settings.volume_profile, settings.orders_per_day)
    volume = table == c.ORDERS
    asserts = [f"{rule.name}: {rule.asserts}" for rule in rules]
    if volume:
        asserts.insert(
            0,
            f"{VOLUME}: the day has a number of orders the volume profile ({profile.name}) "
            "makes plausible (within 6 standard deviations; an empty day is an error, another "
            "odd count a warning)",
        )
    names = [VOLUME] * volume + [rule.name for rule in rules]
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
        if volume:
            findings = {VOLUME: volume_findings(profile, warehouse, first, last), **findings}
        verdicts: dict[str | None, Verdict] = {}
        for day in days:
            failed = {name: found[day] for name, found in findings.items() if day in found}
            metadata: dict[str, Any] = {"table": raw_name(table), "partition": day.isoformat()}
            for name, finding in failed.items():
                metadata[name] = finding.summary
                metadata |= {f"{name}.{key}": value for key, value in finding.metadata.items()}
            severity = ERROR if any(f.severity == ERROR for f in failed.values()) else WARN
            verdicts[day.isoformat()] = Verdict(
                not failed,
                (
                    "; ".join(f"{name}: {finding.summary}" for name, finding in failed.items())
                    + f" on {day}"
                )
                if failed
                else f"all {len(names)} rules hold on {day}",
                metadata,
                severity if failed else None,
            )
        yield from emit(context, verdicts)

    return _daily_rules


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
            build_daily_rules_check(t, settings, partitions_def, pool=pool)
            for t in (c.ORDERS, c.ORDER_DETAILS)
        ),
    ]
