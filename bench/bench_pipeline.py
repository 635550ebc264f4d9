"""Pipeline benchmark: what Dagster costs on top of the data work, measured in the same run.

    .venv/bin/python bench/bench_pipeline.py [--history 30 365] [--repeat 3] [--json out.json]
    .venv/bin/python bench/bench_pipeline.py --orders-per-day 44000    # 100x the default volume

For each history length H, on a fresh data folder and a fresh Dagster instance on disk (SQLite
under its own DAGSTER_HOME, as a user's; or the instance of `--dagster-home`):

1. **Backfill**: daily_refresh for H days as ONE run, in process. Reported: definitions load
   (in a new process, imports included), run start (until the first step starts), each step,
   after success (until the call returns), the events the run wrote by type, and events per
   partition-day.
2. **One more day**: daily_refresh for day H+1, `--repeat` times (re-running a day replaces it,
   so each repeat does the same work); median and min, and the median of each kind of step
   (CSV files, raw loads, checks, dbt, reports; dbt split into its models and its tests by the
   execution times dbt reports). Then the same day as a user runs it,
   `dg launch --job daily_refresh --partition <day>` in a new process, `--repeat` times: the
   run plus Python's start, the imports and the definitions load.
3. **Baseline**: the same data work without Dagster, on another fresh folder: the generator
   writing the H days' files, the raw loader, the checks' SQL, `dbt build` with the same
   arguments, the reports. Dagster's overhead is the backfill's time minus this.
4. **Limits** (with `--limits`): the backfill's generator and loader throughput, in order lines
   a second, beside what the tools under them do alone: pyarrow's CSV writer writing the same
   tables (a sample of days, already generated), and DuckDB reading every OrderDetails file of
   the history into a table in one statement.

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
from coffee_assets.core.generator.core import generate_day, reference_tables_for  # noqa: E402
from coffee_assets.core.generator.writer import to_csv_bytes  # noqa: E402
from coffee_assets.core.project import DBT_PROJECT_DIR  # noqa: E402
from coffee_assets.core.reports import render_report  # noqa: E402
from coffee_assets.core.rules import duplicated_keys, rules_of  # noqa: E402
from coffee_assets.definitions import build_definitions  # noqa: E402
from coffee_assets.defs.dbt.assets import (  # noqa: E402
    dbt_build_args,
    dbt_vars,
    mart_key,
    window_env,
)
from coffee_assets.defs.dbt.resources import dbt_executable  # noqa: E402
from coffee_assets.defs.raw.checks import raw_tables, rule_findings  # noqa: E402
from coffee_assets.defs.reports.data import load_report_data  # noqa: E402
from coffee_assets.defs.reports.marts import Marts  # noqa: E402
from coffee_assets.defs.schedules.jobs import DAILY_REFRESH, partition_range_tags  # noqa: E402
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse  # noqa: E402
from coffee_assets.platform.storage import LocalFolderBucket  # noqa: E402
from coffee_assets.settings import Settings  # noqa: E402

START = date(2025, 1, 1)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the bench's own lines
ROOT = Path(__file__).resolve().parents[1]
QUIET_LOGS = ROOT / "scripts" / "quiet-logs.yaml"


@dataclass
class RunFigures:
    seconds: float
    run_start: float
    after_success: float
    steps: dict[str, float]
    events: Counter = field(default_factory=Counter)
    dbt_nodes: dict[str, float] = field(default_factory=dict)  # models / tests: dbt's seconds

    def by_kind(self) -> dict[str, float]:
        """Seconds per kind of step; the dbt step also split by what dbt says its nodes took."""
        kinds: Counter = Counter()
        for step, seconds in self.steps.items():
            kinds[step_kind(step)] += seconds
        if CUSTOMER_CHECK in self.steps:
            kinds["  customer metrics check"] = self.steps[CUSTOMER_CHECK]
        nodes = {f"  dbt {k}": v for k, v in self.dbt_nodes.items()}
        if "dbt" in kinds and nodes:  # dbt's start and parse, and the step's Dagster events
            nodes["  dbt, the rest"] = kinds["dbt"] - sum(self.dbt_nodes.values())
        return {**kinds, **nodes}


RAW_STEPS = {f"coffee_shop__{t.table}" for t in c.ALL_TABLES}
# The customer metrics' check on its own: it reads the run's days of the customer-day rollup and
# the mart (O(customers)), not every raw order of the history (docs/performance.md).
CUSTOMER_CHECK = "dbt_models__flat_customer_metrics_one_row_per_customer_with_orders"


def step_kind(step: str) -> str:
    if step.endswith("csv_files"):
        return "CSV files"
    if step in RAW_STEPS:
        return "raw loads"
    if step == "coffee_dbt_models":
        return "dbt"
    if step == "reports":
        return "reports"
    return "checks (Dagster)"


def timed_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, first: date, last: date
) -> RunFigures:
    began = time.time()
    result = defs.resolve_job_def(DAILY_REFRESH).execute_in_process(
        instance=instance, tags=partition_range_tags(first, last), run_config=QUIET
    )
    ended = time.time()
    records = instance.all_logs(result.run_id)
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    first_step = success = None
    events: Counter = Counter()
    dbt_nodes: dict[tuple[str, str], float] = {}
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        events[event.event_type_value] += 1
        if event.step_key == "coffee_dbt_models":
            # dbt's own time per node, on the node's first event (one per partition follows)
            data = event.event_specific_data
            entry = getattr(data, "materialization", None) or data  # or a check's evaluation
            metadata = getattr(entry, "metadata", None) or {}
            seconds = metadata.get("Execution Duration")
            unique_id = metadata.get("unique_id")
            if seconds is not None and unique_id is not None:
                kind = "tests" if str(unique_id.value).startswith("test.") else "models"
                dbt_nodes[(kind, unique_id.value)] = seconds.value
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
        dbt_nodes={
            kind: sum(v for (k, _), v in dbt_nodes.items() if k == kind)
            for kind in sorted({k for k, _ in dbt_nodes})
        },
    )


def bench_settings(data_dir: Path, orders_per_day: float | None) -> Settings:
    return Settings(data_dir=data_dir, start_date=START, orders_per_day=orders_per_day)


def baseline(days: int, workdir: Path, orders_per_day: float | None) -> dict[str, float]:
    """The data work of a backfill of `days` days, without Dagster."""
    settings = bench_settings(workdir, orders_per_day)
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
        reference = reference_tables_for(config, last)[table.table]
        bucket.write_bytes(c.bucket_key(table), to_csv_bytes(reference))
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
    for table in c.ALL_TABLES:
        warehouse.query(duplicated_keys(table, raw_tables(warehouse)[table.table]))
        for rule in rules_of(table):
            rule_findings(rule, warehouse, first, last)
    times["checks (SQL)"] = time.perf_counter() - began

    began = time.perf_counter()
    subprocess.run(
        [dbt_executable(), *dbt_build_args(dbt_vars(START, warehouse)), "--target", "local",
         "--quiet"],
        cwd=DBT_PROJECT_DIR,
        check=True,
        env={**os.environ, **window_env((first, last)),
             "DBT_TARGET_PATH": str(workdir / "dbt-target")},
    )  # fmt: skip
    times["dbt build"] = time.perf_counter() - began

    began = time.perf_counter()
    data = load_report_data(warehouse, report_marts(settings), settings.holidays)
    for kind in ("sales", "customers"):
        bucket.write_bytes(f"reports/{kind}.html", render_report(kind, data))
    times["reports"] = time.perf_counter() - began
    return times


def limits(settings: Settings, days: int, backfill: RunFigures, sample_days: int = 7) -> dict:
    """The backfill's generator and loader throughput (order lines a second) beside the tools'
    own: pyarrow's CSV writer on already generated tables, DuckDB reading every OrderDetails
    file of the history in one statement."""
    import duckdb
    import pyarrow.csv as pacsv

    config = build_definitions(settings).resources["generator"].config()
    history = days_between(START, START + timedelta(days=days - 1))
    bucket = LocalFolderBucket(root=str(settings.bucket_dir))
    files = [bucket.uri(c.bucket_key(c.ORDER_DETAILS, day.isoformat())) for day in history]
    con = duckdb.connect()
    lines = con.execute(
        "select count(*) from read_csv($files, header = true, union_by_name = true)",
        {"files": files},
    ).fetchone()[0]

    sample = [generate_day(config, day) for day in history[-sample_days:]]
    sample_lines = sum(d.order_details.num_rows for d in sample)
    with tempfile.TemporaryDirectory(prefix="bench-write-", dir=settings.data_dir) as tmp:
        began = time.perf_counter()
        for i, data in enumerate(sample):
            for table in c.DAILY_TABLES:
                pacsv.write_csv(getattr(data, table.table), f"{tmp}/{table.table}-{i}.csv")
        write_csv = time.perf_counter() - began

    began = time.perf_counter()
    con.execute(
        "create table order_details as "
        "select * from read_csv($files, header = true, union_by_name = true)",
        {"files": files},
    )
    duckdb_read = time.perf_counter() - began
    con.close()
    csv_seconds = sum(v for k, v in backfill.steps.items() if step_kind(k) == "CSV files")
    load_seconds = sum(v for k, v in backfill.steps.items() if step_kind(k) == "raw loads")
    return {
        "order_lines": lines,
        "generator": lines / csv_seconds,
        "pyarrow write_csv": sample_lines / write_csv,
        "raw loads": lines / load_seconds,
        "duckdb read_csv": lines / duckdb_read,
    }


def report_marts(settings: Settings) -> Marts:
    return Marts(*(".".join(mart_key(settings, model).path) for model in Marts.MODELS))


def timed_command(args: list[str], env: dict[str, str]) -> float:
    """Wall time of a command in a new process, from the project's folder; it must succeed."""
    began = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    return time.perf_counter() - began


def bench_history(
    days: int, repeat: int, workdir: Path, home: Path | None, args: argparse.Namespace
) -> dict:
    settings = bench_settings(workdir / f"history-{days}", args.orders_per_day)
    env = {"COFFEE_DATA_DIR": str(settings.data_dir), "COFFEE_START_DATE": START.isoformat()}
    if args.orders_per_day:
        env["COFFEE_ORDERS_PER_DAY"] = str(args.orders_per_day)
    load = timed_command(
        [sys.executable, "-c", "from coffee_assets.definitions import defs"], env=env
    )
    defs = build_definitions(settings)
    if home is None:  # a fresh instance with the project's settings (pool, run monitoring)
        home = Path(tempfile.mkdtemp(prefix=f"dagster-home-{days}-", dir=workdir))
        shutil.copy(PROJECT_INSTANCE, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    print(f"{days} days: backfill ...", flush=True)
    with dg.DagsterInstance.get() as instance:
        backfill = timed_run(defs, instance, START, START + timedelta(days=days - 1))
        print(f"{days} days: backfill {backfill.seconds:.1f} s; one more day ...", flush=True)
        day = START + timedelta(days=days)
        one_day = [timed_run(defs, instance, day, day) for _ in range(repeat)]
    dg_cli = str(Path(sys.executable).with_name("dg"))
    launch = [dg_cli, "launch", "--job", "daily_refresh", "--partition", day.isoformat()]
    print(f"{days} days: dg launch ...", flush=True)
    command = [timed_command([*launch, "-c", str(QUIET_LOGS)], env=env) for _ in range(repeat)]
    kinds = sorted({k for run in one_day for k in run.by_kind()}, key=KIND_ORDER.index)
    result = {
        "days": days,
        "orders_per_day": args.orders_per_day,
        "definitions_load": load,
        "backfill": backfill,
        "day_median": statistics.median(r.seconds for r in one_day),
        "day_min": min(r.seconds for r in one_day),
        "day_steps": {
            k: statistics.median(r.by_kind().get(k, 0.0) for r in one_day) for k in kinds
        },
        "day_command_median": statistics.median(command),
    }
    if args.limits:
        print(f"{days} days: limits ...", flush=True)
        result["limits"] = limits(settings, days, backfill)
    if not args.no_baseline:
        print(f"{days} days: the data work without Dagster ...", flush=True)
        result["baseline"] = baseline(days, workdir / f"baseline-{days}", args.orders_per_day)
    if args.keep:
        print(f"{days} days: kept {settings.data_dir} (instance: {home})", flush=True)
    else:
        shutil.rmtree(settings.data_dir, ignore_errors=True)  # 100x histories are gigabytes
    return result


KIND_ORDER = [
    "CSV files",
    "raw loads",
    "checks (Dagster)",
    "  customer metrics check",
    "dbt",
    "  dbt models",
    "  dbt tests",
    "  dbt, the rest",
    "reports",
]


def report(results: list[dict]) -> None:
    first = results[0]
    print()
    for r in results:
        b: RunFigures = r["backfill"]
        events = sum(b.events.values())
        volume = f", {r['orders_per_day']:g} orders a day" if r["orders_per_day"] else ""
        print(f"== {r['days']} days as one run{volume} ==")
        load = r["definitions_load"]
        print(f"  definitions load      {load:7.1f} s  (a new process, imports included)")
        print(f"  run start             {b.run_start:7.1f} s  (until the first step starts)")
        for step, seconds in sorted(b.steps.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  step {step:<40} {seconds:7.1f} s")
        print(f"  after success         {b.after_success:7.1f} s")
        print(f"  backfill, whole run   {b.seconds:7.1f} s")
        if "baseline" in r:
            data_work = sum(r["baseline"].values())
            print(
                f"  data work without Dagster {data_work:7.1f} s: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in r["baseline"].items())
            )
            print(
                f"  Dagster's overhead    {b.seconds - data_work:7.1f} s "
                f"({(b.seconds - data_work) / data_work:.2f}x the data work)"
            )
        print(f"  events                {events:7d}  ({events / r['days']:.1f} per partition-day)")
        if r is not first:
            # What each day adds (the daily materializations and check evaluations), without
            # what every run records once whatever its range (steps, unpartitioned assets).
            more = events - sum(first["backfill"].events.values())
            print(
                f"  events per day beyond the {first['days']}-day run's "
                f"{more / (r['days'] - first['days']):5.1f}  (the run's own: "
                f"{events - more / (r['days'] - first['days']) * r['days']:.0f})"
            )
        for kind, n in b.events.most_common():
            print(f"      {kind:<32} {n:6d}")
        print(
            f"  one more day          {r['day_median']:7.1f} s median, {r['day_min']:.1f} s min "
            f"({r['day_median'] / first['day_median']:.2f}x the {first['days']}-day figure)"
        )
        for kind, seconds in r["day_steps"].items():
            before = first["day_steps"].get(kind)
            ratio = f"  ({seconds / before:.2f}x)" if before else ""
            print(f"      {kind:<30} {seconds:7.1f} s{ratio}")
        print(
            f"  one more day, dg launch {r['day_command_median']:5.1f} s median "
            f"({r['day_command_median'] / first['day_command_median']:.2f}x the "
            f"{first['days']}-day figure; a new process: imports, definitions, the run)"
        )
        if "limits" in r:
            lim = r["limits"]
            print(f"  throughput, order lines a second ({lim['order_lines']:,} lines):")
            print(
                f"      generator (CSV step)   {lim['generator'] / 1e6:5.2f} M/s   "
                f"pyarrow write_csv alone {lim['pyarrow write_csv'] / 1e6:5.2f} M/s"
            )
            print(
                f"      raw loads              {lim['raw loads'] / 1e6:5.2f} M/s   "
                f"DuckDB read_csv alone   {lim['duckdb read_csv'] / 1e6:5.2f} M/s"
            )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--orders-per-day",
        type=float,
        help="the chain's volume (default: the profile's, ~440; 44000 is 100x)",
    )
    parser.add_argument(
        "--limits", action="store_true", help="also measure the generator's and loader's limits"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the data work without Dagster"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--dagster-home",
        type=Path,
        help="an instance to use (e.g. one on PostgreSQL) instead of a fresh SQLite one",
    )
    parser.add_argument("--tmp-dir", help="where the histories go (default: the system's)")
    parser.add_argument(
        "--keep", type=Path, help="keep the histories in this folder (to look at them after)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coffee-bench-", dir=args.tmp_dir) as tmp:
        workdir = args.keep or Path(tmp)
        results = [
            bench_history(days, args.repeat, workdir, args.dagster_home, args)
            for days in args.history
        ]
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, default=lambda o: o.__dict__, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
