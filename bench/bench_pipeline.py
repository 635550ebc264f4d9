"""Pipeline benchmark: what Dagster costs on top of the data work, measured in the same run.

    .venv/bin/python bench/bench_pipeline.py [--history 30 365] [--repeat 3] [--json out.json]

For each history length H, on a fresh data folder and a fresh Dagster instance on disk (SQLite
under its own DAGSTER_HOME, as a user's; or the instance of `--dagster-home`):

1. **Backfill**: daily_refresh for H days as ONE run, in process. Reported: definitions load
   (in a new process, imports included), run start (until the first step starts), each step,
   after success (until the call returns), the events the run wrote by type, and events per
   partition-day.
2. **One more day**: daily_refresh for day H+1, `--repeat` times (re-running a day replaces it,
   so each repeat does the same work); median and min. Then the same day as a user runs it,
   `dg launch --job daily_refresh --partition <day>` in a new process, `--repeat` times: the
   run plus Python's start, the imports and the definitions load.
3. **Baseline**: the same data work without Dagster, on another fresh folder: the generator
   writing the H days' files, the raw loader, the checks' SQL, `dbt build` with the same
   arguments, the reports. Dagster's overhead is the backfill's time minus this.

Timings on a shared machine are noisy: compare the ratios of one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

PROJECT_INSTANCE = Path(__file__).resolve().parents[1] / "dagster_home" / "dagster.yaml"
# One planned-materialization event per asset and run, as the scripts set it (README).
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")

import dagster as dg  # noqa: E402

from coffee_assets.core import contract as c  # noqa: E402
from coffee_assets.core.dates import days_between  # noqa: E402
from coffee_assets.core.generator import generate_day, reference_tables, to_csv_bytes  # noqa: E402
from coffee_assets.core.reports import render_report  # noqa: E402
from coffee_assets.definitions import build_definitions  # noqa: E402
from coffee_assets.defs.dbt.assets import dbt_build_args, dbt_vars  # noqa: E402
from coffee_assets.defs.dbt.resources import dbt_executable  # noqa: E402
from coffee_assets.defs.raw.checks import daily_rules  # noqa: E402
from coffee_assets.defs.reports.data import Marts, load_report_data  # noqa: E402
from coffee_assets.defs.schedules.jobs import execute_daily_refresh  # noqa: E402
from coffee_assets.platform.storage import LocalFolderBucket  # noqa: E402
from coffee_assets.platform.warehouse import DuckDBWarehouse  # noqa: E402
from coffee_assets.settings import DBT_PROJECT_DIR, Settings  # noqa: E402

START = date(2025, 1, 1)
ROOT = Path(__file__).resolve().parents[1]
QUIET_LOGS = ROOT / "scripts" / "quiet-logs.yaml"


@dataclass
class RunFigures:
    seconds: float
    run_start: float
    after_success: float
    steps: dict[str, float]
    events: Counter = field(default_factory=Counter)


def timed_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, first: date, last: date
) -> RunFigures:
    began = time.time()
    result = execute_daily_refresh(defs, first, last, instance=instance)
    ended = time.time()
    records = instance.all_logs(result.run_id)
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    first_step = success = None
    events: Counter = Counter()
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        events[event.event_type_value] += 1
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
            first_step = first_step or record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps[event.step_key] = record.timestamp - starts[event.step_key]
        elif event.event_type_value == "RUN_SUCCESS":
            success = record.timestamp
    return RunFigures(
        seconds=ended - began,
        run_start=(first_step or began) - began,
        after_success=ended - (success or ended),
        steps=steps,
        events=events,
    )


def baseline(days: int, workdir: Path) -> dict[str, float]:
    """The data work of a backfill of `days` days, without Dagster."""
    settings = Settings(data_dir=workdir, start_date=START)
    first, last = START, START + timedelta(days=days - 1)
    bucket = LocalFolderBucket(root=str(settings.bucket_dir))
    warehouse = DuckDBWarehouse(path=str(settings.duckdb_path))
    config = build_definitions(settings).resources["generator"].config()
    times: dict[str, float] = {}

    began = time.perf_counter()
    for day in days_between(first, last):
        data = generate_day(config, day)
        for table in c.DAILY_TABLES:
            bucket.write_bytes(
                c.bucket_key(table, day.isoformat()), to_csv_bytes(getattr(data, table.table))
            )
    for table in c.REFERENCE_TABLES:
        bucket.write_bytes(c.bucket_key(table), to_csv_bytes(reference_tables()[table.table]))
    times["CSV files"] = time.perf_counter() - began

    began = time.perf_counter()
    for table in c.DAILY_TABLES:
        warehouse.load_days(
            table,
            {
                day: bucket.uri(c.bucket_key(table, day.isoformat()))
                for day in days_between(first, last)
            },
        )
    for table in c.REFERENCE_TABLES:
        warehouse.load_reference(table, bucket.uri(c.bucket_key(table)))
    times["raw tables"] = time.perf_counter() - began

    began = time.perf_counter()
    for rules in daily_rules(settings).values():
        for rule in rules:
            rule.find(warehouse, first, last)
    times["checks (SQL)"] = time.perf_counter() - began

    began = time.perf_counter()
    vars_ = {**dbt_vars((first, last), START), **warehouse.dbt_vars()}
    subprocess.run(
        [dbt_executable(), *dbt_build_args(vars_), "--target", "local", "--quiet"],
        cwd=DBT_PROJECT_DIR,
        check=True,
        env={**os.environ, "DBT_TARGET_PATH": str(workdir / "dbt-target")},
    )
    times["dbt build"] = time.perf_counter() - began

    began = time.perf_counter()
    data = load_report_data(
        warehouse, Marts("dbt_models.flat_order_details", "dbt_models.flat_customer_metrics")
    )
    for kind in ("sales", "customers"):
        bucket.write_bytes(f"reports/{kind}.html", render_report(kind, data))
    times["reports"] = time.perf_counter() - began
    return times


def timed_command(args: list[str], env: dict[str, str]) -> float:
    """Wall time of a command in a new process, from the project's folder; it must succeed."""
    began = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    return time.perf_counter() - began


def bench_history(days: int, repeat: int, workdir: Path, home: Path | None) -> dict:
    settings = Settings(data_dir=workdir / f"history-{days}", start_date=START)
    env = {"COFFEE_DATA_DIR": str(settings.data_dir), "COFFEE_START_DATE": START.isoformat()}
    load = timed_command(
        [sys.executable, "-c", "from coffee_assets.definitions import defs"], env=env
    )
    defs = build_definitions(settings)
    if home is None:  # a fresh instance with the project's settings (pool, run monitoring)
        home = Path(tempfile.mkdtemp(prefix=f"dagster-home-{days}-", dir=workdir))
        shutil.copy(PROJECT_INSTANCE, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        backfill = timed_run(defs, instance, START, START + timedelta(days=days - 1))
        day = START + timedelta(days=days)
        one_day = [timed_run(defs, instance, day, day).seconds for _ in range(repeat)]
    dg_cli = str(Path(sys.executable).with_name("dg"))
    launch = [dg_cli, "launch", "--job", "daily_refresh", "--partition", day.isoformat()]
    command = [timed_command([*launch, "-c", str(QUIET_LOGS)], env=env) for _ in range(repeat)]
    base = baseline(days, workdir / f"baseline-{days}")
    return {
        "days": days,
        "definitions_load": load,
        "backfill": backfill,
        "day_median": statistics.median(one_day),
        "day_min": min(one_day),
        "day_command_median": statistics.median(command),
        "baseline": base,
    }


def report(results: list[dict]) -> None:
    first = results[0]
    print()
    for r in results:
        b: RunFigures = r["backfill"]
        events = sum(b.events.values())
        data_work = sum(r["baseline"].values())
        print(f"== {r['days']} days as one run ==")
        load = r["definitions_load"]
        print(f"  definitions load      {load:7.1f} s  (a new process, imports included)")
        print(f"  run start             {b.run_start:7.1f} s  (until the first step starts)")
        for step, seconds in sorted(b.steps.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  step {step:<40} {seconds:7.1f} s")
        print(f"  after success         {b.after_success:7.1f} s")
        print(f"  backfill, whole run   {b.seconds:7.1f} s")
        print(
            f"  data work without Dagster {data_work:7.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in r["baseline"].items())
        )
        print(
            f"  Dagster's overhead    {b.seconds - data_work:7.1f} s "
            f"({(b.seconds - data_work) / data_work:.2f}x the data work)"
        )
        print(f"  events                {events:7d}  ({events / r['days']:.1f} per partition-day)")
        for kind, n in b.events.most_common():
            print(f"      {kind:<32} {n:6d}")
        print(
            f"  one more day          {r['day_median']:7.1f} s median, {r['day_min']:.1f} s min "
            f"({r['day_median'] / first['day_median']:.2f}x the {first['days']}-day figure)"
        )
        print(
            f"  one more day, dg launch {r['day_command_median']:5.1f} s median "
            f"({r['day_command_median'] / first['day_command_median']:.2f}x the "
            f"{first['days']}-day figure; a new process: imports, definitions, the run)"
        )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--dagster-home",
        type=Path,
        help="an instance to use (e.g. one on PostgreSQL) instead of a fresh SQLite one",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coffee-bench-") as tmp:
        results = [
            bench_history(days, args.repeat, Path(tmp), args.dagster_home) for days in args.history
        ]
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, default=lambda o: o.__dict__, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
