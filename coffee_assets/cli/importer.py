"""`coffee-import`: the original showcase's files into the target's bucket, one folder per day.

    coffee-import data/original/            # a local folder holding the five files
    coffee-import gs://coffee-shop-showcase/csv_sources/ --repair

The five whole-history files (Customers.csv, Orders.csv, OrderDetails.csv, Products.csv,
Stores.csv) are read from SOURCE, checked against this project's rules and written into the
bucket of the target the environment selects (COFFEE_TARGET, as every run): the local folder or
the gcp target's bucket and prefix. Every offending row is printed by file and line; the import
then stops, or with --repair makes the repairs coffee_assets/core/importer/plan.py documents and
prints each change. Nothing is written unless every row can be taken. The manifest it writes last
(csv_sources/_imported.json) tells the pipeline to keep these days instead of generating them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from tqdm import tqdm

from coffee_assets.core import contract as c
from coffee_assets.core.anomalies import NO_ORDERS_MIN_EXPECTED
from coffee_assets.core.importer.manifest import MANIFEST_KEY, ImportManifest
from coffee_assets.core.importer.model import ImportPlan, ImportProblem
from coffee_assets.core.importer.plan import plan_import
from coffee_assets.core.importer.write import daily_files, reference_files, rows_per_day
from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.settings import Settings, SettingsError, yesterday


def read_source(source: str) -> dict[str, bytes]:
    """The five files' bytes from a folder or a gs://bucket/prefix/ (missing ones left out)."""
    names = [t.file_name for t in c.ALL_TABLES]  # the original's five, and this project's own
    if source.startswith("gs://"):
        from coffee_assets.platform.gcs import CoffeeGCSResource, split_uri

        bucket_name, prefix = split_uri(source.rstrip("/") + "/")
        client = CoffeeGCSResource(  # Google's default credentials, or the storage emulator
            project=os.environ.get("COFFEE_GCP_PROJECT") or None,
            emulator_host=(os.environ.get("STORAGE_EMULATOR_HOST") or "").rstrip("/") or None,
        ).get_client()
        bucket = client.bucket(bucket_name)
        found = {}
        for name in names:
            blob = bucket.blob(prefix + name)
            if blob.exists():
                found[name] = blob.download_as_bytes()
        return found
    folder = Path(source)
    if not folder.is_dir():
        raise ImportProblem(f"{source}: not a folder (nor a gs://bucket/prefix/)")
    return {name: (folder / name).read_bytes() for name in names if (folder / name).is_file()}


def report(plan: ImportPlan) -> None:
    """Every finding and change on stdout, a count per rule on stderr."""
    for finding in plan.findings:
        print(finding)
    for change in plan.changes:
        print(f"changed: {change}")
    counts = Counter(f.rule for f in plan.findings)
    if counts:
        print(
            "Rows that break this project's rules: "
            + ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items())),
            file=sys.stderr,
        )


# Below this many orders a store-day, a store's day is seldom far enough from chance for
# store_days_as_usual to flag it: the anomaly judge's own bar for a store-day without orders.
SMALL_STORE_DAY = NO_ORDERS_MIN_EXPECTED


def next_steps(plan: ImportPlan, settings: Settings) -> list[str]:
    """What the user sets and runs next, from what the import found."""
    assert plan.first_day and plan.last_day
    steps = []
    orders = plan.rows[c.ORDERS.table]
    mean = orders / len(plan.days)
    if plan.first_day != settings.start_date:
        steps.append(
            f"Set COFFEE_START_DATE={plan.first_day} wherever Dagster runs (.env, your shell): "
            "the partitions begin there."
        )
    # The anomaly check needs no setting: it judges each store-day by the data's own history.
    judged = (
        f"store_days_as_usual judges each imported day by the history's own days ({mean:.1f} "
        "orders a day here; the first eight weeks only teach it), no setting needed"
    )
    stores = plan.rows.get(c.STORES.table, 0)
    if stores and mean / stores < SMALL_STORE_DAY:
        judged += (
            f"; at {mean / stores:.1f} orders a store-day, one store's day is seldom far enough "
            "from chance to be flagged (docs/checks-and-alerts.md)"
        )
    steps.append(judged + ".")
    last = min(plan.last_day, yesterday())
    if plan.last_day > last:
        steps.append(f"Days after {last} are not partitions yet; they load once they are past.")
    steps.append(f"Then: dg launch --job daily_refresh --partition-range {plan.first_day}...{last}")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="coffee-import",
        description="Import the original showcase's whole-history CSV files into the target's "
        "bucket, one folder per day.",
    )
    parser.add_argument("source", help="a folder or gs://bucket/prefix/ holding the five files")
    parser.add_argument(
        "--repair",
        action="store_true",
        help="repair what can be repaired (registrations after a first order, discounts "
        "rounded half a cent down) and list every change",
    )
    parser.add_argument("--check", action="store_true", help="only check and report; write nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        plan = plan_import(read_source(args.source), repair=args.repair)
    except (SettingsError, ImportProblem, OSError) as exc:
        print(f"coffee-import: {exc}", file=sys.stderr)
        return 1
    report(plan)
    if plan.blocking:
        repairable = sum(f.repairable for f in plan.blocking)
        print(
            f"Stopped: {len(plan.blocking)} row(s) break this project's rules; nothing was "
            "written."
            + (
                f" {repairable} of them can be repaired: run again with --repair."
                * bool(repairable)
            ),
            file=sys.stderr,
        )
        return 1
    if plan.first_day is None or plan.last_day is None:
        print("coffee-import: the files hold no customers and no orders", file=sys.stderr)
        return 1
    summary = (
        f"{plan.rows[c.ORDERS.table]} orders, {plan.rows[c.ORDER_DETAILS.table]} order lines, "
        f"{plan.rows[c.CUSTOMERS.table]} customers over {len(plan.days)} days "
        f"({plan.first_day}...{plan.last_day}); {len(plan.changes)} change(s) by --repair"
    )
    if args.check:
        print(f"Check passed: {summary}. Nothing written (--check).", file=sys.stderr)
        return 0
    write(plan, args.source, settings, quiet=args.quiet)
    print(f"Imported {summary}.", file=sys.stderr)
    for step in next_steps(plan, settings):
        print(step, file=sys.stderr)
    return 0


def write(plan: ImportPlan, source: str, settings: Settings, *, quiet: bool) -> None:
    """The daily and reference files, then the manifest (last: an interrupted import leaves
    none, and running it again writes the same files)."""
    from coffee_assets.platform.target import target_resources

    assert plan.first_day is not None and plan.last_day is not None  # main() checked

    destination = target_resources(settings)["storage"]
    with dg.build_resources({"storage": destination}) as resources:
        storage = resources.storage
        print(f"Writing into {storage.uri(CSV_PREFIX)}", file=sys.stderr)
        files = daily_files(plan)
        with tqdm(total=len(files), unit="day", disable=quiet, file=sys.stderr) as bar:
            for day, per_table in files.items():
                for table, body in per_table.items():
                    storage.write_bytes(c.bucket_key(table, day.isoformat()), body)
                bar.update(1)
        for table, body in reference_files(plan).items():
            storage.write_bytes(c.bucket_key(table), body)
        manifest = ImportManifest(
            source=source,
            imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            first_day=plan.first_day,
            last_day=plan.last_day,
            rows=rows_per_day(plan),
            reference_rows={t.table: plan.rows[t.table] for t in c.REFERENCE_TABLES},
            findings=[str(f) for f in plan.findings],
            changes=[str(change) for change in plan.changes],
        )
        uri = storage.write_bytes(MANIFEST_KEY, manifest.to_json())
        print(f"Manifest: {uri}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
