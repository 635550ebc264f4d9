"""The store-day verdicts as a table: what the judge (anomalies.py) said of each store, day and
metric, judged once (the `store_days_as_usual` check records a day's rows in its evaluation)
and read twice (the alerts, from the evaluation; the sales report, from the table).

One row per judgement, with what its day says besides (an incident the store is in, one that
ended, a chain without any order). A day's rows are one CSV file in the bucket, loaded by the
raw tables' loader (validate, then replace the day's rows), so a re-judged day replaces its
rows on either warehouse. `rows` and `day_verdicts` turn verdicts into rows and back, exactly:
what the report reads is what the judge said.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from coffee_assets.core import anomalies as a
from coffee_assets.core.contract import BOOL, DATE, FLOAT, INT, STRING, Column, TableContract
from coffee_assets.core.dates import as_date

VERDICTS = TableContract(
    table="store_day_verdicts",
    file_name="StoreDayVerdicts.csv",
    key="VerdictId",
    date_column="OrderDate",
    columns=(
        Column("VerdictId", STRING),  # day/store/metric
        Column("OrderDate", DATE),
        Column("StoreId", INT),  # 0: the whole chain (anomalies.CHAIN)
        Column("Metric", STRING, accepted=a.METRICS),
        Column("Verdict", STRING, accepted=("ok", "unusual", "no_orders")),
        Column("Failed", BOOL),  # unusual or no orders, and no known event explains it
        Column("Actual", FLOAT),  # orders, or revenue in cents
        Column("Expected", FLOAT, nullable=True),  # empty: nothing to compare with
        Column("Low", FLOAT, nullable=True),
        Column("High", FLOAT, nullable=True),
        Column("Lenient", BOOL),
        Column("Samples", INT),
        Column("Context", STRING, nullable=True),
        Column("Known", STRING, nullable=True),  # the calendar's events, a JSON list
        Column("IncidentSince", DATE, nullable=True),  # the incident the store is in
        # The incidents that ended this day, a JSON list of [store, first day] (the same on
        # each of the day's rows: the whole chain's can end on a day it is not judged).
        Column("EndedIncidents", STRING, nullable=True),
        Column("ChainEmpty", BOOL),  # no store recorded anything while expected busy
        Column("Text", STRING),  # the judgement in words, as the alerts say it
    ),
)
# The check evaluation's metadata entry that holds its day's rows (a JSON list of `rows`).
ROWS_METADATA = "judgements"
# The bucket's folder of the verdicts' files, beside the sources' (csv_sources/).
PREFIX = "checks/"


def object_key(day: str) -> str:
    """checks/store_day_verdicts/date=2025-03-01/StoreDayVerdicts.csv"""
    return PREFIX + VERDICTS.object_key(day)


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def rows(verdict: a.DayVerdict, names: dict[int, str]) -> list[dict[str, str]]:
    """The day's judgements as the table's rows (CSV text)."""
    incident = dict(verdict.incidents)
    ended = json.dumps([[store, since.isoformat()] for store, since in verdict.ended])
    out = []
    for j in verdict.judgements:
        since = incident.get(j.store_id)
        out.append(
            {
                "VerdictId": f"{j.day}/{j.store_id}/{j.metric}",
                "OrderDate": j.day.isoformat(),
                "StoreId": str(j.store_id),
                "Metric": j.metric,
                "Verdict": j.verdict,
                "Failed": str(j.failed).lower(),
                "Actual": _number(j.actual),
                "Expected": _number(j.expected),
                "Low": _number(j.low),
                "High": _number(j.high),
                "Lenient": str(j.lenient).lower(),
                "Samples": str(j.samples),
                "Context": j.context,
                "Known": json.dumps(list(j.known), ensure_ascii=False) if j.known else "",
                "IncidentSince": since.isoformat() if since else "",
                "EndedIncidents": ended if verdict.ended else "",
                "ChainEmpty": str(verdict.chain_empty).lower(),
                "Text": j.text(names.get(j.store_id, str(j.store_id))),
            }
        )
    return out


def csv_bytes(day_rows: Sequence[dict[str, str]]) -> bytes:
    """A day's file: the header, then its rows (quoted where a value needs it)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=VERDICTS.column_names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(day_rows)
    return text.getvalue().encode()


# What a reader selects, in this order, for `day_verdicts`.
SELECTED = (
    "OrderDate", "StoreId", "Metric", "Verdict", "Actual", "Expected", "Low", "High", "Lenient",
    "Samples", "Context", "Known", "IncidentSince", "EndedIncidents", "ChainEmpty",
)  # fmt: skip


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def day_verdicts(selected: Iterable[Sequence[Any]], days: Sequence[date]) -> list[a.DayVerdict]:
    """The verdicts of `days` from the table's rows (the columns of SELECTED): a day without
    rows had nothing to judge (no store open), as the judge says of it."""
    judgements: dict[date, list[a.Judgement]] = defaultdict(list)
    incidents: dict[date, dict[int, date]] = defaultdict(dict)
    ended: dict[date, tuple[tuple[int, date], ...]] = {}
    empty: set[date] = set()
    for (day, store, metric, verdict, actual, expected, low, high, lenient, samples, context,
         known, since, back, chain_empty) in selected:  # fmt: skip
        day, store = as_date(day), int(store)
        judgements[day].append(
            a.Judgement(
                store_id=store,
                day=day,
                metric=str(metric),
                actual=float(actual),
                expected=_float(expected),
                low=_float(low),
                high=_float(high),
                verdict=str(verdict),
                lenient=bool(lenient),
                known=tuple(json.loads(known)) if known else (),
                samples=int(samples),
                context=context or "",
            )
        )
        if since is not None:
            incidents[day][store] = as_date(since)
        if back:
            ended[day] = tuple((int(s), date.fromisoformat(d)) for s, d in json.loads(back))
        if chain_empty:
            empty.add(day)
    order = {metric: i for i, metric in enumerate(a.METRICS)}
    return [
        a.DayVerdict(
            day=day,
            judgements=sorted(judgements[day], key=lambda j: (j.store_id, order[j.metric])),
            chain_empty=day in empty,
            ended=ended.get(day, ()),
            incidents=tuple(sorted(incidents[day].items())),
        )
        for day in days
    ]
