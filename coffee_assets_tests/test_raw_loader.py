"""The raw loader on real DuckDB: typed loads, partition replacement, and bad input rejected
with a precise message while the table keeps its previous contents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from coffee_assets.core import contract as c
from coffee_assets.core.importer.parse import read_table
from coffee_assets.platform.duckdb_warehouse import DuckDBWarehouse
from coffee_assets.platform.warehouse import RawLoadError

HEADER = ",".join(c.ORDERS.column_names)
DAY1, DAY2 = date(2025, 1, 1), date(2025, 1, 2)
GOOD_DAY1 = [
    "2025010100001,2025-01-01,In-store,,1,10.50,10.50,false,0.00",
    "2025010100002,2025-01-01,Takeaway,2025010100007,2,4.00,3.80,true,0.20",
]
GOOD_DAY2 = [
    "2025010200001,2025-01-02,Takeaway,,3,7.50,7.50,false,0.00",
]


def write(folder: Path, day: date, lines: list[str], header: str = HEADER) -> str:
    path = folder / f"date={day}" / "Orders.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n")
    return str(path)


@pytest.fixture
def warehouse(tmp_path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture
def loaded(tmp_path, warehouse):
    """Two good days loaded; returns a function giving the table's rows."""
    files = {DAY1: write(tmp_path, DAY1, GOOD_DAY1), DAY2: write(tmp_path, DAY2, GOOD_DAY2)}
    result = warehouse.load_days(c.ORDERS, files)
    assert (result.rows_loaded, result.table_rows) == (3, 3)

    def rows():
        return warehouse.query('select * from coffee_shop.orders order by "OrderId"')

    return rows


def test_typed_load(loaded):
    rows = loaded()
    assert len(rows) == 3
    first = rows[0]
    assert first[1] == DAY1 and first[3] is None  # a date, and NULL for an anonymous customer
    assert str(rows[1][6]) == "3.80" and rows[1][7] is True


def test_reloading_a_day_replaces_exactly_that_day(tmp_path, warehouse, loaded):
    before = loaded()
    changed = [
        "2025010200001,2025-01-02,Takeaway,,3,9.00,9.00,false,0.00",
        "2025010200002,2025-01-02,In-store,,4,2.50,2.50,false,0.00",
    ]
    warehouse.load_days(c.ORDERS, {DAY2: write(tmp_path / "v2", DAY2, changed)})
    after = loaded()
    assert [r for r in after if r[1] == DAY1] == [r for r in before if r[1] == DAY1]
    assert [r[0] for r in after if r[1] == DAY2] == [2025010200001, 2025010200002]
    # ... and loading the same file again changes nothing (no duplicates)
    warehouse.load_days(c.ORDERS, {DAY2: write(tmp_path / "v2", DAY2, changed)})
    assert loaded() == after


def test_extra_columns_are_allowed(tmp_path, warehouse, loaded):
    lines = [line + ",08:15" for line in GOOD_DAY2]
    warehouse.load_days(c.ORDERS, {DAY2: write(tmp_path / "x", DAY2, lines, HEADER + ",OrderTime")})
    assert len(loaded()) == 3


BAD_INPUTS = {
    "missing column": (
        HEADER.replace(",DiscountAmount", ""),
        ["2025010200001,2025-01-02,Takeaway,,3,7.50,7.50,false"],
        "missing column(s) DiscountAmount",
    ),
    "renamed column": (
        HEADER.replace("SubTotal", "Subtotal"),
        GOOD_DAY2,
        "missing column(s) SubTotal; unexpected column(s) Subtotal (renamed?)",
    ),
    "unparsable number": (
        HEADER,
        GOOD_DAY2 + ["2025010200002,2025-01-02,Takeaway,,three,7.50,7.50,false,0.00"],
        "column StoreId, row 2 (line 3): value 'three' is not an integer",
    ),
    "unparsable date": (
        HEADER,
        ["2025010200001,2025-02-30,Takeaway,,3,7.50,7.50,false,0.00"],
        "column OrderDate, row 1 (line 2): value '2025-02-30' is not a date (YYYY-MM-DD)",
    ),
    "amount with three decimals": (
        HEADER,
        ["2025010200001,2025-01-02,Takeaway,,3,7.505,7.50,false,0.00"],
        "column SubTotal, row 1 (line 2): value '7.505' is not an amount with at most 2 decimals",
    ),
    "fractional integer": (
        HEADER,
        ["2025010200001,2025-01-02,Takeaway,,1.5,7.50,7.50,false,0.00"],
        "column StoreId, row 1 (line 2): value '1.5' is not an integer",
    ),
    "hexadecimal integer": (
        HEADER,
        ["0x0F,2025-01-02,Takeaway,,1,7.50,7.50,false,0.00"],
        "column OrderId, row 1 (line 2): value '0x0F' is not an integer",
    ),
    "timestamp for a date": (
        HEADER,
        ["2025010200001,2025-01-02 23:59,Takeaway,,1,7.50,7.50,false,0.00"],
        "column OrderDate, row 1 (line 2): value '2025-01-02 23:59' is not a date (YYYY-MM-DD)",
    ),
    "yes for a boolean": (
        HEADER,
        ["2025010200001,2025-01-02,Takeaway,,1,7.50,7.50,yes,0.00"],
        "column DiscountApplied, row 1 (line 2): value 'yes' is not true or false",
    ),
    "empty required value": (
        HEADER,
        ["2025010200001,2025-01-02,,,3,7.50,7.50,false,0.00"],
        "column OrderType, row 1 (line 2): empty where a value is required",
    ),
    "row outside the partition": (
        HEADER,
        GOOD_DAY2 + ["2025010200002,2025-01-03,Takeaway,,3,7.50,7.50,false,0.00"],
        "column OrderDate, row 2 (line 3): value '2025-01-03' lies outside the file's partition",
    ),
    "ragged row": (
        HEADER,
        GOOD_DAY2 + ["2025010200002,2025-01-02,Takeaway"],
        "line 3: could not parse the CSV: Invalid Input Error: CSV Error on Line: 3",
    ),
    "negative amount": (
        HEADER,
        GOOD_DAY2 + ["2025010200002,2025-01-02,Takeaway,,3,-7.50,-7.50,false,0.00"],
        "column SubTotal, row 2 (line 3): value '-7.50' is less than 0",
    ),
    "negative total": (
        HEADER,
        ["2025010200001,2025-01-02,Takeaway,,3,7.50,-7.50,false,0.00"],
        "column TotalAmount, row 1 (line 2): value '-7.50' is less than 0",
    ),
    "negative discount": (
        HEADER,
        ["2025010200001,2025-01-02,Takeaway,,3,7.50,7.60,false,-0.10"],
        "column DiscountAmount, row 1 (line 2): value '-0.10' is less than 0",
    ),
    "unknown order type": (
        HEADER,
        ["2025010200001,2025-01-02,Delivery,,3,7.50,7.50,false,0.00"],
        "column OrderType, row 1 (line 2): value 'Delivery' is not one of In-store, Takeaway",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_rejected_and_the_table_keeps_its_rows(tmp_path, warehouse, loaded, case):
    header, lines, problem = BAD_INPUTS[case]
    before = loaded()
    path = write(tmp_path / "bad", DAY2, lines, header)
    with pytest.raises(RawLoadError) as error:
        warehouse.load_days(c.ORDERS, {DAY1: write(tmp_path / "ok", DAY1, GOOD_DAY1), DAY2: path})
    message = str(error.value)
    assert message.startswith("orders: ")
    assert path in message  # the file
    assert "2025-01-02" in message  # the partition
    assert problem in message
    assert loaded() == before  # nothing lost, nothing half-written


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("header", "line 1: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
        ("early", "line 2: not UTF-8 text; save the file as UTF-8"),
        ("late", "line 3001: not UTF-8 text; save the file as UTF-8"),
    ],
)
def test_bytes_that_are_not_utf8_name_file_partition_and_line(
    tmp_path, warehouse, loaded, where, problem
):
    """A latin-1 `é` (a spreadsheet saved in a local code page) in the header, on the first
    line (inside what a reader buffers with the header) or deep in a long file."""
    before = loaded()
    lines = [f"20250102{i:05d},2025-01-02,Takeaway,,3,7.50,7.50,false,0.00" for i in range(3000)]
    header = HEADER
    if where == "header":
        header = HEADER.replace("OrderType", "OrderTyp\u00e9")
    else:
        index = 0 if where == "early" else -1
        lines[index] = lines[index].replace("Takeaway", "Caf\u00e9")
    path = Path(write(tmp_path / "latin1", DAY2, []))
    path.write_bytes("\n".join([header, *lines, ""]).encode("latin-1"))
    with pytest.raises(RawLoadError) as error:
        warehouse.load_days(c.ORDERS, {DAY2: str(path)})
    assert str(error.value) == f"orders: file {path} (partition {DAY2}): {problem}"
    assert loaded() == before


def test_an_empty_file_is_called_empty(tmp_path, warehouse, loaded):
    path = Path(write(tmp_path / "empty", DAY2, []))
    path.write_bytes(b"")
    with pytest.raises(RawLoadError) as error:
        warehouse.load_days(c.ORDERS, {DAY2: str(path)})
    assert str(error.value) == (
        f"orders: file {path} (partition {DAY2}): the file is empty (0 bytes): expected a "
        "header line, then the rows"
    )


def test_missing_file_is_named(tmp_path, warehouse, loaded):
    missing = str(tmp_path / "nowhere" / "Orders.csv")
    with pytest.raises(
        RawLoadError,
        match=r"orders: file .*nowhere/Orders.csv \(partition 2025-01-02\): "
        r"the file does not exist",
    ):
        warehouse.load_days(c.ORDERS, {DAY2: missing})


def test_float_columns_reject_nan(tmp_path, warehouse):
    path = tmp_path / "Stores.csv"
    path.write_text(
        ",".join(c.STORES.required_in_file)
        + "\n1,Brazil Coffee,Shevchenkivskyi,Kyiv,1 Main St,nan,30.5\n"
    )
    with pytest.raises(
        RawLoadError, match=r"column Latitude, row 1 \(line 2\): value 'nan' is not a number"
    ):
        warehouse.load_reference(c.STORES, str(path))


def test_reference_table_is_replaced_whole(tmp_path, warehouse):
    path = tmp_path / "Products.csv"
    path.write_text(
        "ProductId,ProductName,ProductCategory,Price\n1,Espresso,Beverage,2.5\n2,Latte,Beverage,4.0\n"
    )
    assert warehouse.load_reference(c.PRODUCTS, str(path)).table_rows == 2
    path.write_text("ProductId,ProductName,ProductCategory,Price\n1,Espresso,Beverage,2.5\n")
    assert warehouse.load_reference(c.PRODUCTS, str(path)).table_rows == 1


def test_a_byte_order_mark_and_crlf_lines_are_accepted(tmp_path, warehouse, loaded):
    """What spreadsheet tools write: UTF-8 with a byte order mark, CRLF line ends."""
    before = loaded()
    path = Path(write(tmp_path, DAY2, GOOD_DAY2))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    result = warehouse.load_days(c.ORDERS, {DAY2: str(path)})
    assert result.rows_loaded == 1
    assert loaded() == before


@pytest.mark.parametrize(
    "extra",
    ["Note's", 'Quote"d', "a,b", "x'); drop table coffee_shop.orders; --", "Ünïcode 🙂", ""],
)
def test_odd_header_names_are_data_never_sql(tmp_path, warehouse, loaded, extra):
    """An extra column with any name, quotes and separators included, is read like any other:
    header names are matched in Python and never reach the SQL text."""
    before = loaded()
    quoted = '"' + extra.replace('"', '""') + '"'
    lines = [f"{line},note" for line in GOOD_DAY2]
    path = write(tmp_path, DAY2, lines, header=f"{HEADER},{quoted}")
    assert warehouse.load_days(c.ORDERS, {DAY2: path}).rows_loaded == 1
    assert loaded() == before


# ------------------------------------------------------------------ the original's spellings
def write_file(folder: Path, day: date, name: str, text: str) -> str:
    path = folder / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_a_discount_level_is_read_as_a_fraction_or_as_the_originals_percentage_or_none(
    tmp_path, warehouse
):
    """The original's generator writes a customer without a discount as `None`: 0."""
    files = {
        DAY1: write_file(
            tmp_path,
            DAY1,
            "Customers.csv",
            "CustomerId,LevelOfDiscount,RegistrationDate\n1,5%,2025-01-01\n2,0.07,2025-01-01\n"
            "3,0%,2025-01-01\n4, 10% ,2025-01-01\n",
        ),  # fmt: skip
        DAY2: write_file(
            tmp_path,
            DAY2,
            "Customers.csv",
            "CustomerId,LevelOfDiscount,RegistrationDate\n5,3%,2025-01-02\n6,100%,2025-01-02\n"
            "7,None,2025-01-02\n",
        ),  # fmt: skip
    }
    assert warehouse.load_days(c.CUSTOMERS, files).rows_loaded == 7
    rows = warehouse.query(
        'select "CustomerId", cast("LevelOfDiscount" as varchar) from coffee_shop.customers '
        "order by 1"
    )
    assert rows == [
        (1, "0.05"), (2, "0.07"), (3, "0.00"), (4, "0.10"), (5, "0.03"), (6, "1.00"), (7, "0.00")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("level", "problem"),
    [
        ("150%", "value '150%' is not a fraction between 0 and 1 (or a percentage up to 100%)"),
        ("2.5%", "value '2.5%' is not a fraction between 0 and 1"),
        ("5 %", "value '5 %' is not a fraction"),
        ("five%", "value 'five%' is not a fraction"),
        ("-5%", "value '-5%' is not a fraction"),
    ],
)
def test_a_percentage_the_contract_cannot_hold_quotes_the_files_text(
    tmp_path, warehouse, level, problem
):
    good = write_file(
        tmp_path, DAY1, "Customers.csv",
        "CustomerId,LevelOfDiscount,RegistrationDate\n1,5%,2025-01-01\n",
    )  # fmt: skip
    warehouse.load_days(c.CUSTOMERS, {DAY1: good})
    bad = write_file(
        tmp_path / "bad", DAY1, "Customers.csv",
        f"CustomerId,LevelOfDiscount,RegistrationDate\n1,5%,2025-01-01\n2,{level},2025-01-01\n",
    )  # fmt: skip
    with pytest.raises(RawLoadError) as error:
        warehouse.load_days(c.CUSTOMERS, {DAY1: bad})
    message = str(error.value)
    assert message.startswith(f"customers: file {bad} (partition {DAY1}): column LevelOfDiscount")
    assert "row 2 (line 3)" in message and problem in message, message
    assert warehouse.query("select count(*) from coffee_shop.customers") == [(1,)]


ORIGINAL_DETAILS_HEADER = "OrderDetailId,OrderId,ProductId,Quantity"


def test_the_originals_order_details_take_their_folders_day(tmp_path, warehouse):
    """The original's OrderDetails.csv has no OrderDate: each file's lines take its partition's
    day, files with and without the column load together, and a reload replaces the day."""
    original = {
        DAY1: write_file(tmp_path, DAY1, "OrderDetails.csv",
                         f"{ORIGINAL_DETAILS_HEADER}\n1,2025010100001,3,2\n2,2025010100001,1,1\n"),
        DAY2: write_file(tmp_path, DAY2, "OrderDetails.csv",
                         f"{ORIGINAL_DETAILS_HEADER}\n3,2025010200001,2,1\n"),
    }  # fmt: skip
    assert warehouse.load_days(c.ORDER_DETAILS, original).rows_loaded == 3
    ours = write_file(
        tmp_path / "ours", DAY2, "OrderDetails.csv",
        f"{ORIGINAL_DETAILS_HEADER},OrderDate\n4,2025010200002,5,3,2025-01-02\n",
    )  # fmt: skip
    warehouse.load_days(c.ORDER_DETAILS, {DAY1: original[DAY1], DAY2: ours})
    rows = warehouse.query(
        'select "OrderDetailId", "OrderDate" from coffee_shop.order_details order by 1'
    )
    assert rows == [(1, DAY1), (2, DAY1), (4, DAY2)]


def test_the_originals_order_details_still_need_every_original_column(tmp_path, warehouse):
    path = write_file(
        tmp_path, DAY1, "OrderDetails.csv", "OrderDetailId,OrderId,Quantity\n1,2025010100001,2\n"
    )
    with pytest.raises(
        RawLoadError,
        match=r"order_details: file .*OrderDetails.csv \(partition 2025-01-01\): "
        r"missing column\(s\) ProductId",
    ):
        warehouse.load_days(c.ORDER_DETAILS, {DAY1: path})


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_a_line_sells_at_least_one_item(tmp_path, warehouse, quantity):
    path = write_file(
        tmp_path, DAY1, "OrderDetails.csv",
        f"{ORIGINAL_DETAILS_HEADER}\n1,2025010100001,3,2\n2,2025010100001,1,{quantity}\n",
    )  # fmt: skip
    with pytest.raises(RawLoadError) as error:
        warehouse.load_days(c.ORDER_DETAILS, {DAY1: path})
    assert str(error.value) == (
        f"order_details: file {path} (partition 2025-01-01): column Quantity, row 2 (line 3): "
        f"value '{quantity}' is less than 1"
    )


@pytest.mark.parametrize("table", [c.PRODUCTS, c.PRODUCT_PRICES])
def test_a_negative_price_is_refused(tmp_path, warehouse, table):
    path = tmp_path / table.file_name
    row = {
        "ProductId": "1", "ProductName": "Espresso", "ProductCategory": "Beverage",
        "Price": "-2.50", "PriceId": "1", "ValidFrom": "2025-01-01", "ValidTo": "",
    }  # fmt: skip
    names = [col.name for col in table.columns]
    path.write_text(",".join(names) + "\n" + ",".join(row[n] for n in names) + "\n")
    with pytest.raises(RawLoadError) as error:
        warehouse.load_reference(table, str(path))
    assert "column Price, row 1 (line 2): value '-2.50' is less than 0" in str(error.value)


# Cells at the edges of the grammar (core/csv_grammar.py), as an Orders.csv or Customers.csv
# line with one cell changed: (table, column, cell).
EDGE_CELLS = [
    (c.ORDERS, "StoreId", " 3 "),
    (c.ORDERS, "StoreId", "3x"),
    (c.ORDERS, "StoreId", "   "),
    (c.ORDERS, "CustomerId", "   "),
    (c.ORDERS, "OrderType", " Takeaway "),
    (c.ORDERS, "OrderType", "takeaway"),
    (c.ORDERS, "DiscountApplied", " true "),
    (c.ORDERS, "DiscountApplied", "yes"),
    (c.ORDERS, "SubTotal", " 4.5"),
    (c.ORDERS, "SubTotal", "4.505"),
    (c.ORDERS, "SubTotal", "-1"),
    (c.CUSTOMERS, "LevelOfDiscount", "5%"),
    (c.CUSTOMERS, "LevelOfDiscount", " 7% "),
    (c.CUSTOMERS, "LevelOfDiscount", "2.5%"),
    (c.CUSTOMERS, "LevelOfDiscount", "150%"),
    (c.CUSTOMERS, "LevelOfDiscount", "None"),
    (c.CUSTOMERS, "LevelOfDiscount", "0.1"),
    (c.CUSTOMERS, "LevelOfDiscount", "1.001"),
    (c.CUSTOMERS, "RegistrationDate", "2025-02-30"),
]
GOOD_LINE = {c.ORDERS: GOOD_DAY1[1], c.CUSTOMERS: "2025010100007,0.05,2025-01-01"}


@pytest.mark.parametrize(("table", "column", "cell"), EDGE_CELLS)
def test_the_importer_reads_a_cell_as_the_loader_does(tmp_path, warehouse, table, column, cell):
    """One grammar: coffee-import (core/importer/parse.py) accepts what the loader loads, with
    the same value, and refuses what it refuses, in the same words."""
    fields = GOOD_LINE[table].split(",")
    fields[table.column_names.index(column)] = cell
    text = ",".join(table.column_names) + "\n" + ",".join(fields) + "\n"
    path = tmp_path / "date=2025-01-01" / table.file_name
    path.parent.mkdir(parents=True)
    path.write_text(text)
    findings: list = []
    imported = read_table(table, text.encode(), findings)
    try:
        warehouse.load_days(table, {DAY1: str(path)})
    except RawLoadError as exc:
        loader_words = str(exc).split(f"column {column}, row 1 (line 2): ", 1)[1]
        assert [f.message for f in findings] == [f"column {column}: {loader_words}"]
        assert not imported.rows
        return
    assert not findings, findings
    [(loaded,)] = warehouse.query(f'select "{column}" from coffee_shop.{table.table}')
    value = imported.rows[0].values[column]
    if table.column(column).type in (c.MONEY, c.RATE):
        value = Decimal(value) / 100  # the importer holds cents and hundredths
    assert loaded == value
