"""What every check shares: one verdict per partition, offending rows as metadata, portable SQL.

A partitioned check evaluates the run's whole partition range (single-run backfills) but records
one evaluation per day, so the UI shows which day is bad and an alert names it. `AssetCheckResult`
cannot carry a partition, so the checks yield `AssetCheckEvaluation`s (with the partition) and
then the op's output themselves; Dagster still raises on a failed blocking ERROR evaluation and
skips everything downstream of the check.

Each evaluation is an event Dagster stores one by one, so only rules a single day can break on its
own are evaluated per day; rules over a whole table (unique keys, dates) give one verdict a run.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from coffee_assets.core.dates import as_date
from coffee_assets.core.sql import date_literal
from coffee_assets.platform.metadata import markdown_table

# A failed evaluation's metadata naming the incidents it fails on ("store 3 since 2025-03-01"):
# the alert sensor announces each incident once, however many days it fails.
INCIDENTS = "incidents"
# A failed evaluation whose incidents last (a store's shift, day after day): the alert sensor
# keeps each open until an evaluation of a later partition names it in ENDED, and announces the
# end once.
LASTING = "incidents last"
ENDED = "incidents ended"
SAMPLE_ROWS = 5  # offending rows shown in a check's metadata (the count is always exact)

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class Verdict:
    """One check's outcome for one partition (or for an unpartitioned asset)."""

    passed: bool
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # The spec's severity (None), or this verdict's own: a check whose rules differ in weight
    # fails with ERROR (and blocks) only when an ERROR rule fails.
    severity: dg.AssetCheckSeverity | None = None


@dataclass(frozen=True)
class Offenders:
    """Rows that break a rule: the exact count and the first few, for the UI and alerts."""

    count: int
    columns: Sequence[str]
    sample: Sequence[Sequence[Any]]

    def metadata(self) -> dict[str, Any]:
        return {
            "offending_rows": self.count,
            "sample": markdown_table(self.columns, self.sample)
            if self.count
            else dg.MetadataValue.md("(none)"),
        }


def offenders_per_day(
    query: Callable[[str], list[tuple]],
    sql: str,
    columns: Sequence[str],
    money: Sequence[str] = (),
) -> dict[date, Offenders]:
    """Run `sql`, whose first column is the day and the others `columns` (the first of which
    orders the sample), and return per day the count and first rows. Portable SQL: no QUALIFY.
    `money`: columns the SQL computes in integer cents, shown as amounts (8.50)."""
    key = columns[0]
    wrapped = f"""
        SELECT * FROM (
            SELECT offending.*,
                   ROW_NUMBER() OVER (PARTITION BY day ORDER BY {key}) AS sample_rank,
                   COUNT(*) OVER (PARTITION BY day) AS day_count
            FROM ({sql}) AS offending
        ) AS ranked
        WHERE sample_rank <= {SAMPLE_ROWS}
        ORDER BY day, sample_rank
    """
    found: dict[date, list[tuple]] = {}
    counts: dict[date, int] = {}
    for row in query(wrapped):
        day = as_date(row[0])
        values = [
            f"{value / 100:.2f}" if name in money and value is not None else value
            for name, value in zip(columns, row[1 : 1 + len(columns)])
        ]
        found.setdefault(day, []).append(tuple(values))
        counts[day] = int(row[-1])
    return {day: Offenders(counts[day], columns, rows) for day, rows in found.items()}


def offenders(query: Callable[[str], list[tuple]], sql: str, columns: Sequence[str]) -> Offenders:
    """Like offenders_per_day, for a rule over a whole (unpartitioned) table."""
    per_day = offenders_per_day(
        query, f"SELECT {date_literal(date(2000, 1, 1))} AS day, x.* FROM ({sql}) AS x", columns
    )
    return next(iter(per_day.values()), Offenders(0, columns, []))


def emit(
    context: dg.AssetCheckExecutionContext,
    verdicts: Mapping[str | None, Verdict],
) -> Iterator[Any]:
    """Yield one evaluation per partition key (None: unpartitioned), then the op's output."""
    [spec] = context.check_specs
    if len(verdicts) > 1:  # each evaluation is a stored event: a long range takes a while
        context.log.info(f"Recording {len(verdicts)} daily results of {spec.name}")
    for partition, verdict in verdicts.items():
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=verdict.passed,
            partition=partition,
            metadata=dict(verdict.metadata),
            description=verdict.description,
            severity=verdict.severity or spec_severity(spec),
            blocking=spec.blocking,
        )
    # The op's own output: an @asset_check op has one, named like any single output ("result").
    yield dg.Output(None)


def spec_severity(spec: dg.AssetCheckSpec) -> dg.AssetCheckSeverity:
    """The severity a check declares in its spec metadata (ERROR unless it says WARN)."""
    return WARN if (spec.metadata or {}).get("severity") == "WARN" else ERROR


def check_metadata(severity: dg.AssetCheckSeverity, **extra: Any) -> dict[str, Any]:
    """Spec metadata: the severity the check reports, shown in the UI before it ever runs."""
    return {"severity": severity.value, **extra}
