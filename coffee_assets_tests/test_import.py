"""coffee-import: the original showcase's whole-history files, written here exactly as its two
writers write them (original_showcase.py: `None` and percent discount levels, OrderDetails.csv
without OrderDate, registration dates drawn over the whole history, True/False, shortest floats,
binary-float rounding), checked, repaired and taken over by daily_refresh; and hostile input
(bytes that are not UTF-8, an empty file, negative sales) reported once, at its cause."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from coffee_assets.cli import importer as cli
from coffee_assets.core import contract as c
from coffee_assets.core.importer.manifest import MANIFEST_KEY
from coffee_assets.core.importer.model import HALF_CENT_DOWN, REGISTERED_AFTER_ORDER
from coffee_assets.core.importer.plan import plan_import
from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.definitions import build_definitions
from coffee_assets.defs.schedules.jobs import execute_daily_refresh
from coffee_assets.settings import Settings

from .original_showcase import CLOUD_RUN, original_files

START = date(2024, 3, 1)
DAYS = 14
LAST = START + timedelta(days=DAYS - 1)


def rows(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[name].decode())))


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


def edit(files: dict[str, bytes], name: str, line: int, column: str, value: str) -> None:
    """Set one field of a file, by its line number (the header is line 1)."""
    table = list(csv.reader(io.StringIO(files[name].decode())))
    table[line - 1][table[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    files[name] = out.getvalue().encode()


def late_registrations(files: dict[str, bytes]) -> int:
    """Orders by a customer registered after the order: what the import must report."""
    registered = {r["CustomerId"]: r["RegistrationDate"] for r in rows(files, "Customers.csv")}
    return sum(
        1
        for o in rows(files, "Orders.csv")
        if o["CustomerId"] and registered[o["CustomerId"]] > o["OrderDate"]
    )


def half_cents_down(files: dict[str, bytes]) -> int:
    """Discounts the original's binary floats rounded half a cent down (exact half up differs)."""
    level = {r["CustomerId"]: r["LevelOfDiscount"] for r in rows(files, "Customers.csv")}
    count = 0
    for o in rows(files, "Orders.csv"):
        text = level.get(o["CustomerId"], "None")
        rate = Decimal(0) if text == "None" else Decimal(text[:-1]) / 100
        exact = (Decimal(o["SubTotal"]) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        count += Decimal(o["DiscountAmount"]) == exact - Decimal("0.01")
    return count


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
    files = original_files(START, LAST)
    late, rounded = late_registrations(files), half_cents_down(files)
    assert late > 5  # the original's shape: many orders before their customer registered
    assert rounded > 0  # and its binary floats round some half cents down
    assert "None" in {r["LevelOfDiscount"] for r in rows(files, "Customers.csv")}
    source = write_folder(tmp_path / "original", files)
    assert cli.main([str(source), "--quiet"]) == 1
    out, err = capsys.readouterr()
    reported = [line for line in out.splitlines() if f": {REGISTERED_AFTER_ORDER}: " in line]
    assert len(reported) == late
    assert all(line.startswith("Orders.csv line ") for line in reported)
    first = reported[0]
    assert "registered on" in first, first
    rounding = [line for line in out.splitlines() if f": {HALF_CENT_DOWN}: " in line]
    assert len(rounding) == rounded and "rounded down; half up gives" in rounding[0]
    # `None` is no discount, read as 0: nothing else is found.
    assert len(out.splitlines()) == late + rounded, out
    assert (
        f"Stopped: {late + rounded} row(s) break this project's rules; nothing was written." in err
    )
    assert "can be repaired: run again with --repair" in err
    assert not (env / "bucket").exists() or not any((env / "bucket").rglob("*.csv"))


def test_repair_moves_registrations_back_rounds_half_up_and_lists_every_change(tmp_path, env):
    files = original_files(START, LAST)
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
    assert [ch.column for ch in rounded] == ["DiscountAmount", "TotalAmount"] * half_cents_down(
        files
    )
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
    # A customer without a discount level (`None`) has the fraction 0.00 in the daily files.
    levels = {
        row["CustomerId"]: row["LevelOfDiscount"]
        for path in bucket.glob("customers/**/Customers.csv")
        for row in csv.DictReader(io.StringIO(path.read_text()))
    }
    original = {r["CustomerId"]: r["LevelOfDiscount"] for r in rows(files, "Customers.csv")}
    assert {levels[k] for k, v in original.items() if v == "None"} == {"0.00"}
    assert {levels[k] for k, v in original.items() if v == "10%"} == {"0.10"}


def test_the_next_steps_ask_for_the_start_date_only_and_say_how_the_volume_is_judged(tmp_path):
    """No volume setting to copy (the anomaly check judges the data by its own history); at the
    original's one or two orders a store-day, the words say what the check can and cannot see."""
    files = original_files(START, LAST)
    plan = plan_import(files, repair=True)
    settings = Settings(data_dir=tmp_path, start_date=START - timedelta(days=30))
    steps = cli.next_steps(plan, settings)
    assert steps[0] == (
        f"Set COFFEE_START_DATE={START} wherever Dagster runs (.env, your shell): "
        "the partitions begin there."
    )
    assert not any("COFFEE_VOLUME_PROFILE" in step for step in steps)
    [judged] = [step for step in steps if step.startswith("store_days_as_usual")]
    per_day = plan.rows[c.ORDERS.table] / DAYS
    per_store_day = per_day / plan.rows[c.STORES.table]
    assert per_store_day < cli.SMALL_STORE_DAY
    assert f"({per_day:.1f} orders a day here;" in judged
    assert f"at {per_store_day:.1f} orders a store-day, one store's day is seldom" in judged
    assert steps[-1] == f"Then: dg launch --job daily_refresh --partition-range {START}...{LAST}"
    # Set where the import starts, nothing to set: the step about the check stays.
    same = cli.next_steps(plan, Settings(data_dir=tmp_path, start_date=START))
    assert same == steps[1:]


def test_the_cloud_run_jobs_files_with_their_15_percent_level_import_too():
    files = original_files(START, LAST, writer=CLOUD_RUN)
    assert "15%" in {r["LevelOfDiscount"] for r in rows(files, "Customers.csv")}
    plan = plan_import(files, repair=True)
    assert plan.blocking == []
    assert {f.rule for f in plan.findings} <= {REGISTERED_AFTER_ORDER, HALF_CENT_DOWN}
    levels = {row.values["LevelOfDiscount"] for row in plan.tables["customers"].rows}
    assert levels == {3, 5, 7, 10, 15}  # hundredths


def _whole_history(bucket: Path) -> dict[str, bytes]:
    """The imported daily files put back together into whole-history files."""
    files = {}
    for table in c.ALL_TABLES:
        paths = sorted(bucket.glob(f"{table.table}/**/{table.file_name}"))
        header, *_ = paths[0].read_text().splitlines()
        body = [line for p in paths for line in p.read_text().splitlines()[1:]]
        files[table.file_name] = ("\n".join([header, *body]) + "\n").encode()
    return files


def _first_order_with_a_customer(files: dict[str, bytes]) -> int:
    """The line of Orders.csv with the first order by a registered customer."""
    return next(i + 2 for i, o in enumerate(rows(files, "Orders.csv")) if o["CustomerId"])


def _its_customer_line(files: dict[str, bytes], order_line: int) -> int:
    customer = rows(files, "Orders.csv")[order_line - 2]["CustomerId"]
    return int(customer) + 1  # the original's CustomerIds are 1..n in file order


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("customer level", "Customers.csv line {customer}: bad_value: column LevelOfDiscount: "
                           "value '12.5%' is not a fraction between 0 and 1 (or a percentage up "
                           "to 100%) with at most 2 decimals as a fraction"),
        ("registration date", "Customers.csv line {customer}: bad_value: column "
                              "RegistrationDate: value '2024-02-30' is not a date (YYYY-MM-DD)"),
        ("order date", "Orders.csv line {order}: bad_value: column OrderDate: value "
                       "'03/01/2024' is not a date (YYYY-MM-DD)"),
        ("negative amount", "Orders.csv line {order}: bad_value: column SubTotal: value '-4.0' "
                            "is less than 0"),
        ("negative quantity", "OrderDetails.csv line 2: bad_value: column Quantity: value '-1' "
                              "is less than 1"),
        ("unknown order type", "Orders.csv line {order}: bad_value: column OrderType: value "
                               "'Delivery' is not one of In-store, Takeaway"),
        ("ragged line", "OrderDetails.csv line 2: malformed: 5 fields, the header has 4"),
    ],
    ids=lambda value: value if " " in value and len(value) < 30 else "",
)  # fmt: skip
def test_a_refused_row_is_reported_once_at_its_cause(case, expected):
    """A row the contract refuses is one finding: the rows that name it are not dangling, the
    order it belongs to is not reported as not adding up, its customer's orders are not judged
    by a rate nobody could read."""
    files = original_files(START, LAST)
    order = _first_order_with_a_customer(files)
    customer = _its_customer_line(files, order)
    if case == "customer level":
        edit(files, "Customers.csv", customer, "LevelOfDiscount", "12.5%")
    elif case == "registration date":
        edit(files, "Customers.csv", customer, "RegistrationDate", "2024-02-30")
    elif case == "order date":
        edit(files, "Orders.csv", order, "OrderDate", "03/01/2024")
    elif case == "negative amount":
        edit(files, "Orders.csv", order, "SubTotal", "-4.0")
    elif case == "negative quantity":
        edit(files, "OrderDetails.csv", 2, "Quantity", "-1")
    elif case == "unknown order type":
        edit(files, "Orders.csv", order, "OrderType", "Delivery")
    elif case == "ragged line":
        files["OrderDetails.csv"] = files["OrderDetails.csv"].replace(b"\n1,1,", b"\n1,1,1,", 1)
    plan = plan_import(files, repair=True)
    message = expected.format(order=order, customer=customer)
    assert [str(f) for f in plan.blocking] == [message + " [not repairable]"]


@pytest.mark.parametrize(
    ("file", "at", "expected"),
    [
        ("Orders.csv", "header", "Orders.csv line 1: not UTF-8 text (byte 0xe9)"),
        ("Orders.csv", 40, "Orders.csv line 40: not UTF-8 text (byte 0xe9)"),
        ("Stores.csv", "last", "Stores.csv line 6: not UTF-8 text (byte 0xe9)"),
    ],
)
def test_text_that_is_not_utf8_is_one_line_naming_file_and_line(tmp_path, env, capsys, file, at,
                                                                 expected):  # fmt: skip
    """A latin-1 `é` (a spreadsheet saved in a local code page), wherever it is in a file."""
    files = original_files(START, LAST)
    lines = files[file].split(b"\n")
    index = 0 if at == "header" else (len(lines) - 2 if at == "last" else at - 1)
    lines[index] = lines[index].replace(b",", "\u00e9,".encode("latin-1"), 1)
    files[file] = b"\n".join(lines)
    assert cli.main([str(write_folder(tmp_path / "latin1", files)), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"coffee-import: {expected}; save the file as UTF-8\n"


def test_a_missing_empty_or_off_contract_file_is_one_line(tmp_path, env, capsys):
    files = original_files(START, LAST)
    del files["Stores.csv"]
    assert cli.main([str(write_folder(tmp_path / "a", files))]) == 1
    assert capsys.readouterr().err.strip() == "coffee-import: missing file(s): Stores.csv"
    files = original_files(START, LAST)
    files["Orders.csv"] = files["Orders.csv"].replace(b"SubTotal", b"Subtotal", 1)
    assert cli.main([str(write_folder(tmp_path / "b", files))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("coffee-import: Orders.csv: missing column(s) SubTotal; unexpected")
    files = original_files(START, LAST)
    files["Products.csv"] = b""
    assert cli.main([str(write_folder(tmp_path / "c", files))]) == 1
    assert capsys.readouterr().err == (
        "coffee-import: Products.csv: the file is empty (0 bytes): expected a header line, then "
        "the rows\n"
    )


# ------------------------------------------------------------------------------ the pipeline after
def test_what_cannot_be_repaired_stops_the_import_even_with_repair(tmp_path, env, capsys):
    files = original_files(START, LAST)
    n_lines = len(rows(files, "OrderDetails.csv"))
    files["OrderDetails.csv"] += f"{n_lines + 1},999999,1,1\n".encode()
    source = write_folder(tmp_path / "original", files)
    assert cli.main([str(source), "--repair", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert (
        f"OrderDetails.csv line {n_lines + 2}: references_exist: OrderId=999999 is not in "
        "Orders.csv [not repairable]"
    ) in out.splitlines()
    assert "Stopped: 1 row(s) break this project's rules; nothing was written." in err
    assert not (env / "bucket" / MANIFEST_KEY).exists()


# ------------------------------------------------------------------------------ the pipeline after
EXPORT_DAYS = 90


@pytest.mark.slow
def test_daily_refresh_takes_over_and_the_marts_hold_the_imported_revenue(tmp_path, env):
    """A 90-day export of the original's generator (its `None` levels, its binary-float
    discounts) imported with --repair, then daily_refresh over the range: the CSV assets keep
    the imported files, every check passes, and the mart's revenue per store and day equals the
    original orders' totals to the cent, less the half cents --repair rounded up. A day outside
    the import fails with the reason."""
    last = START + timedelta(days=EXPORT_DAYS - 1)
    files = original_files(START, last)
    source = write_folder(tmp_path / "original", files)
    done = subprocess.run(  # the console script, as users run it
        ["coffee-import", str(source), "--repair"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"Then: dg launch --job daily_refresh --partition-range {START}...{last}" in done.stderr
    assert "day/s" in done.stderr or "100%" in done.stderr  # the progress bar
    bucket = env / "bucket" / CSV_PREFIX
    imported = {p: p.read_bytes() for p in bucket.rglob("*.csv")}
    manifest = json.loads((env / "bucket" / MANIFEST_KEY).read_text())
    repaired = {
        line.split("(OrderId=")[1].split(")")[0]
        for line in manifest["changes"]
        if HALF_CENT_DOWN in line and ": TotalAmount " in line
    }
    assert len(repaired) == half_cents_down(files) > 0

    settings = Settings.from_env()
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = execute_daily_refresh(defs, START, last, instance=instance)
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    assert {p: p.read_bytes() for p in bucket.rglob("*.csv")} == imported  # kept, not generated

    stores = {
        r["StoreId"]: r["StoreName"]
        for r in csv.DictReader(io.StringIO(files["Stores.csv"].decode()))
    }
    expected: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for order in rows(files, "Orders.csv"):
        key = (stores[order["StoreId"]], date.fromisoformat(order["OrderDate"]))
        expected[key] += Decimal(order["TotalAmount"])
        expected[key] -= Decimal("0.01") * (order["OrderId"] in repaired)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        marts = con.sql(
            "select store_name, order_date, sum(total_amount) from dbt_models.flat_order_details "
            "group by all"
        ).fetchall()
    assert {(s, d): Decimal(str(t)) for s, d, t in marts} == dict(expected)

    outside = execute_daily_refresh(
        defs,
        last + timedelta(days=1),
        last + timedelta(days=1),
        instance=instance,
        raise_on_error=False,
    )
    [failure] = [e for e in outside.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert f"holds imported files (imported from {source}" in message
    assert f"for {START}...{last}; {last + timedelta(days=1)} lies outside it" in message
