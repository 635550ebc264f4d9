"""Checks on the CSV files in the bucket: the header contract (blocking: a file that breaks it
must not be loaded) and the orders' day counts against the volume profile (a warning)."""

import csv
import io
import math
from datetime import date

import dagster as dg

from coffee_assets import contract as c
from coffee_assets.assets.csv_files import csv_asset_key, object_key
from coffee_assets.checks.common import (
    ERROR,
    WARN,
    Verdict,
    check_metadata,
    emit,
    window_days,
)
from coffee_assets.generator import get_profile
from coffee_assets.resources import Bucket
from coffee_assets.resources.warehouse import header_problem
from coffee_assets.settings import Settings


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def header_verdict(table: c.TableContract, storage: Bucket, day: date | None) -> Verdict:
    key = object_key(table, day.isoformat() if day else None)
    uri = storage.uri(key)
    try:
        body = storage.read_bytes(key)
    except FileNotFoundError:
        return Verdict(False, f"{uri} does not exist", {"file": uri, "problem": "missing file"})
    rows = _rows(body)
    header = rows[0] if rows else []
    problem = header_problem(table, header)
    metadata = {
        "file": uri,
        "header": ", ".join(header) or "(empty file)",
        "expected_columns": ", ".join(table.column_names),
        "data_rows": max(len(rows) - 1, 0),
    }
    if problem:
        missing = [name for name in table.column_names if name not in header]
        return Verdict(
            False,
            f"{table.file_name}: {problem}",
            {**metadata, "problem": problem, "missing_columns": ", ".join(missing) or "-"},
        )
    ragged = [i for i, row in enumerate(rows[1:], start=2) if len(row) != len(header)]
    if ragged:
        return Verdict(
            False,
            f"{table.file_name}: {len(ragged)} line(s) do not have {len(header)} fields",
            {
                **metadata,
                "problem": "ragged rows",
                "ragged_lines": len(ragged),
                "first_ragged_lines": ", ".join(map(str, ragged[:5])),
            },
        )
    return Verdict(True, f"{table.file_name}: header and field counts match the contract", metadata)


def build_header_check(
    table: c.TableContract, partitions_def: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=csv_asset_key(table),
        name="header_contract",
        description=(
            f"{table.file_name} exists, its header has every contract column "
            f"({', '.join(table.column_names)}; extra columns allowed) and every line has as many "
            "fields as the header. Blocking: the raw load never sees a file that breaks it."
        ),
        blocking=True,
        partitions_def=partitions_def if table.partitioned else None,
        metadata=check_metadata(ERROR, layer="csv"),
    )
    def _header_contract(context: dg.AssetCheckExecutionContext, storage: Bucket):
        if table.partitioned:
            verdicts = {
                day.isoformat(): header_verdict(table, storage, day) for day in window_days(context)
            }
        else:
            verdicts = {None: header_verdict(table, storage, None)}
        yield from emit(context, verdicts)

    return _header_contract


def plausible_range(mean: float) -> tuple[int, int]:
    """Counts a Poisson(mean) day falls outside with negligible probability (6 sigma)."""
    spread = 6 * math.sqrt(mean) + 3
    return max(0, math.floor(mean - spread)), math.ceil(mean + spread)


def build_order_volume_check(
    settings: Settings, partitions_def: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    profile = get_profile(settings.volume_profile, settings.orders_per_day)

    @dg.asset_check(
        asset=csv_asset_key(c.ORDERS),
        name="orders_per_day_plausible",
        description=(
            "Each day's Orders.csv has a number of orders the volume profile "
            f"({profile.name}) makes plausible: within 6 standard deviations of the day's mean. "
            "A warning: an odd volume is worth a look, not a reason to stop the marts."
        ),
        partitions_def=partitions_def,
        metadata=check_metadata(WARN, layer="csv", volume_profile=profile.name),
    )
    def _orders_per_day_plausible(context: dg.AssetCheckExecutionContext, storage: Bucket):
        verdicts = {}
        for day in window_days(context):
            key = object_key(c.ORDERS, day.isoformat())
            try:
                count = max(len(_rows(storage.read_bytes(key))) - 1, 0)
            except FileNotFoundError:
                count = 0  # the header check reports the missing file itself
            mean = profile.mean_for(day)
            low, high = plausible_range(mean)
            ok = low <= count <= high
            verdicts[day.isoformat()] = Verdict(
                ok,
                f"{count} orders on {day} ({'within' if ok else 'outside'} the plausible "
                f"{low}..{high} for a mean of {mean:.1f})",
                {
                    "orders": count,
                    "expected_mean": round(mean, 1),
                    "plausible_min": low,
                    "plausible_max": high,
                    "file": storage.uri(key),
                },
            )
        yield from emit(context, verdicts)

    return _orders_per_day_plausible


def build_csv_checks(
    settings: Settings, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    return [
        *(build_header_check(table, partitions_def) for table in c.ALL_TABLES),
        build_order_volume_check(settings, partitions_def),
    ]
