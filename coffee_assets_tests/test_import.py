"""coffee-import: the original showcase's whole-history files, made here in the original's shape
(percent discount levels, OrderDetails.csv without OrderDate, registration dates drawn over the
whole history, Python-style booleans), checked, repaired and taken over by daily_refresh."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.csv as pacsv
import pytest

from coffee_assets import contract as c
from coffee_assets.definitions import build_definitions
from coffee_assets.generator import GeneratorConfig, generate_day, get_profile, reference_tables
from coffee_assets.importer import cli
from coffee_assets.importer.core import HALF_CENT_DOWN, REGISTERED_AFTER_ORDER, plan_import
from coffee_assets.importer.manifest import MANIFEST_KEY
from coffee_assets.jobs import execute_daily_refresh
from coffee_assets.settings import CSV_PREFIX, Settings

START = date(2024, 3, 1)
DAYS = 14
LAST = START + timedelta(days=DAYS - 1)


def rows_of(table) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_csv(table))))


def _csv(table) -> str:
    out = io.BytesIO()
    pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="none"))
    return out.getvalue().decode().replace('"', "")


def to_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def original_files(*, half_cents_down: int = 0, seed: int = 5) -> dict[str, bytes]:
    """Whole-history files as the original wrote them, from this project's generator: the
    customers of every day with registration dates drawn at random over the history, levels as
    '5%', True/False, order lines without OrderDate; optionally some discounts rounded half a
    cent down."""
    config = GeneratorConfig(seed=seed, history_start=START, profile=get_profile("original"))
    days = [generate_day(config, START + timedelta(days=i)) for i in range(DAYS)]
    customers = [r for d in days for r in rows_of(d.customers)]
    orders = [r for d in days for r in rows_of(d.orders)]
    lines = [r for d in days for r in rows_of(d.order_details)]
    draw = random.Random(seed)
    for row in customers:
        row["RegistrationDate"] = str(START + timedelta(days=draw.randrange(DAYS)))
        row["LevelOfDiscount"] = f"{round(float(row['LevelOfDiscount']) * 100)}%"
    for row in orders:
        row["DiscountApplied"] = row["DiscountApplied"].capitalize()
    rates = {r["CustomerId"]: int(r["LevelOfDiscount"][:-1]) for r in customers}
    rounded = 0
    for row in orders:
        sub = int(Decimal(row["SubTotal"]) * 100)
        rate = rates.get(row["CustomerId"], 0)
        if rounded < half_cents_down and sub * rate % 100 == 50:
            discount = Decimal(row["DiscountAmount"]) - Decimal("0.01")
            row["DiscountAmount"] = f"{discount:.2f}"
            row["TotalAmount"] = f"{Decimal(row['SubTotal']) - discount:.2f}"
            rounded += 1
    assert rounded == half_cents_down, "the seed gives too few half-cent discounts"
    reference = reference_tables()
    return {
        "Customers.csv": to_bytes(c.CUSTOMERS.column_names, customers),
        "Orders.csv": to_bytes(c.ORDERS.column_names, orders),
        "OrderDetails.csv": to_bytes(["OrderDetailId", "OrderId", "ProductId", "Quantity"], lines),
        "Products.csv": pacsv_bytes(reference["products"]),
        "Stores.csv": pacsv_bytes(reference["stores"]),
    }


def pacsv_bytes(table) -> bytes:
    out = io.BytesIO()
    pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="needed"))
    return out.getvalue()


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


def late_registrations(files: dict[str, bytes]) -> int:
    """Orders by a customer registered after the order: what the import must report."""
    registered = {
        r["CustomerId"]: r["RegistrationDate"]
        for r in csv.DictReader(io.StringIO(files["Customers.csv"].decode()))
    }
    orders = csv.DictReader(io.StringIO(files["Orders.csv"].decode()))
    return sum(
        1 for o in orders if o["CustomerId"] and registered[o["CustomerId"]] > o["OrderDate"]
    )


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """The local target in a fresh data folder, its history starting with the import's."""
    data = tmp_path / "data"
    monkeypatch.setenv("COFFEE_TARGET", "local")
    monkeypatch.setenv("COFFEE_DATA_DIR", str(data))
    monkeypatch.setenv("COFFEE_START_DATE", START.isoformat())
    monkeypatch.setenv("COFFEE_VOLUME_PROFILE", "original")
    return data


# ------------------------------------------------------------------------------ reading and rules
def test_the_originals_rule_breaks_are_reported_row_by_row_and_nothing_is_written(
    tmp_path, env, capsys
):
    files = original_files(half_cents_down=2)
    late = late_registrations(files)
    assert late > 10  # the original's shape: many orders before their customer registered
    source = write_folder(tmp_path / "original", files)
    assert cli.main([str(source), "--quiet"]) == 1
    out, err = capsys.readouterr()
    reported = [line for line in out.splitlines() if f": {REGISTERED_AFTER_ORDER}: " in line]
    assert len(reported) == late
    assert all(line.startswith("Orders.csv line ") for line in reported)
    first = reported[0]
    assert "registered on" in first and "(Customers.csv line " in first, first
    rounding = [line for line in out.splitlines() if f": {HALF_CENT_DOWN}: " in line]
    assert len(rounding) == 2 and "rounded down; half up gives" in rounding[0]
    assert f"Stopped: {late + 2} row(s) break this project's rules; nothing was written." in err
    assert "can be repaired: run again with --repair" in err
    assert not (env / "bucket").exists() or not any((env / "bucket").rglob("*.csv"))


def test_repair_moves_registrations_back_rounds_half_up_and_lists_every_change(tmp_path, env):
    files = original_files(half_cents_down=2)
    plan = plan_import(files, repair=True)
    assert not plan.blocking
    moved = [ch for ch in plan.changes if ch.rule == REGISTERED_AFTER_ORDER]
    late_customers = {
        f.message.split("customer ")[1].split(",")[0]
        for f in plan.findings
        if f.rule == REGISTERED_AFTER_ORDER
    }
    assert {ch.key for ch in moved} == {f"CustomerId={k}" for k in late_customers}
    rounded = [ch for ch in plan.changes if ch.rule == HALF_CENT_DOWN]
    assert [ch.column for ch in rounded] == ["DiscountAmount", "TotalAmount"] * 2
    for discount, total in zip(rounded[::2], rounded[1::2], strict=True):
        assert Decimal(discount.new) - Decimal(discount.old) == Decimal("0.01")
        assert Decimal(total.old) - Decimal(total.new) == Decimal("0.01")
    # The repaired files break no rule any more: importing them again finds nothing.
    source = write_folder(tmp_path / "original", files)
    assert cli.main([str(source), "--repair", "--quiet"]) == 0
    bucket = env / "bucket" / CSV_PREFIX
    assert plan_import(_whole_history(bucket)).findings == []
    manifest = json.loads((env / "bucket" / MANIFEST_KEY).read_text())
    assert len(manifest["changes"]) == len(plan.changes)
    assert manifest["first_day"] == str(START) and manifest["last_day"] == str(LAST)


def _whole_history(bucket: Path) -> dict[str, bytes]:
    """The imported daily files put back together into whole-history files."""
    files = {}
    for table in c.ALL_TABLES:
        paths = sorted(bucket.glob(f"{table.table}/**/{table.file_name}"))
        header, *_ = paths[0].read_text().splitlines()
        body = [line for p in paths for line in p.read_text().splitlines()[1:]]
        files[table.file_name] = ("\n".join([header, *body]) + "\n").encode()
    return files


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "OrderDetails.csv", b"ProductId,Quantity\n", b"ProductId,Quantity\n1,1,999,1\n",
            "OrderDetails.csv line 2: dangling_reference: OrderId=1 is not in Orders.csv",
        ),
        (
            "Customers.csv", b"5%", b"2.5%",
            "column LevelOfDiscount: value '2.5%' is not a fraction between 0 and 1",
        ),
        ("Orders.csv", b"In-store,", b"In-store,,", "malformed: 10 fields, the header has 9"),
    ],
    ids=["dangling line", "half percent", "ragged row"],
)  # fmt: skip
def test_what_cannot_be_repaired_stops_the_import_even_with_repair(
    tmp_path, env, capsys, file, old, new, expected
):
    files = original_files()
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    source = write_folder(tmp_path / "original", files)
    assert cli.main([str(source), "--repair", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert expected in out, out[-2000:]
    assert "[not repairable]" in out and "nothing was written" in err
    assert not (env / "bucket" / MANIFEST_KEY).exists()


def test_a_missing_file_or_header_is_one_line(tmp_path, env, capsys):
    files = original_files()
    del files["Stores.csv"]
    assert cli.main([str(write_folder(tmp_path / "a", files))]) == 1
    assert capsys.readouterr().err.strip() == "coffee-import: missing file(s): Stores.csv"
    files = original_files()
    files["Orders.csv"] = files["Orders.csv"].replace(b"SubTotal", b"Subtotal", 1)
    assert cli.main([str(write_folder(tmp_path / "b", files))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("coffee-import: Orders.csv: missing column(s) SubTotal; unexpected")


# ------------------------------------------------------------------------------ the pipeline after
@pytest.mark.slow
def test_daily_refresh_takes_over_and_the_marts_hold_the_imported_revenue(tmp_path, env):
    """Import (registrations repaired, amounts untouched), then daily_refresh over the range:
    the CSV assets keep the imported files, every check passes, and the mart's revenue per store
    and day equals the original orders' totals to the cent. A day outside the import fails with
    the reason."""
    files = original_files()
    source = write_folder(tmp_path / "original", files)
    done = subprocess.run(  # the console script, as users run it
        ["coffee-import", str(source), "--repair"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"Then: dg launch --job daily_refresh --partition-range {START}...{LAST}" in done.stderr
    assert "day/s" in done.stderr or "100%" in done.stderr  # the progress bar
    bucket = env / "bucket" / CSV_PREFIX
    imported = {p: p.read_bytes() for p in bucket.rglob("*.csv")}

    settings = Settings.from_env()
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, LAST, instance=instance)
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    assert {p: p.read_bytes() for p in bucket.rglob("*.csv")} == imported  # kept, not generated

    stores = {
        r["StoreId"]: r["StoreName"]
        for r in csv.DictReader(io.StringIO(files["Stores.csv"].decode()))
    }
    expected: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for order in csv.DictReader(io.StringIO(files["Orders.csv"].decode())):
        key = (stores[order["StoreId"]], date.fromisoformat(order["OrderDate"]))
        expected[key] += Decimal(order["TotalAmount"])
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        marts = con.sql(
            "select store_name, order_date, sum(total_amount) from dbt_models.flat_order_details "
            "group by all"
        ).fetchall()
    assert {(s, d): Decimal(str(t)) for s, d, t in marts} == dict(expected)

    outside = execute_daily_refresh(
        defs,
        LAST + timedelta(days=1),
        LAST + timedelta(days=1),
        instance=instance,
        raise_on_error=False,
    )
    [failure] = [e for e in outside.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert f"holds imported files (imported from {source}" in message
    assert f"for {START}...{LAST}; {LAST + timedelta(days=1)} lies outside it" in message
