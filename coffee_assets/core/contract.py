"""The raw layer's contract (docs/spec.md "Files" and "Raw tables"): one place that says which
CSV files exist, their columns, the values each column may hold, and the typed raw table each
one loads into.

Pure Python, no Dagster: the generator, the loaders, the importer and the tests all read it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal

from coffee_assets.core.project import CSV_PREFIX
from coffee_assets.core.vocabulary import EVENT_TYPES, ORDER_TYPES, PRODUCT_CATEGORIES


@dataclass(frozen=True)
class ColumnType:
    """A logical column type and everything that depends on it, in one place: its SQL type in
    each warehouse, its Arrow type in the generator, how the UI's column schema shows it, and the
    exact text form a CSV value must have (on top of casting: casts are lenient)."""

    name: str
    duckdb: str
    bigquery: str
    arrow: str  # pyarrow type factory, e.g. "int64" for pa.int64()
    ui: str
    words: str  # what a value must be, for error messages: "is not <words>"
    pattern: str | None  # the value's exact text form (a regular expression), if any


INT = ColumnType("int", "BIGINT", "INT64", "int64", "integer", "an integer", r"-?[0-9]+")
# Money and rates are exact decimals in the warehouses; the generator holds them as float64
# cents / 100 and percents / 100, which print as plain decimals (12.5, 7.35, 0.05).
MONEY = ColumnType(
    "money", "DECIMAL(12,2)", "NUMERIC", "float64", "decimal(12,2)",
    "an amount with at most 2 decimals", r"-?[0-9]+(\.[0-9]{1,2})?",
)  # fmt: skip
# A rate is read as a fraction (0.05) or as the original showcase wrote it, a percentage (5%),
# and stored as the fraction.
RATE = ColumnType(
    "rate", "DECIMAL(4,2)", "NUMERIC", "float64", "decimal(4,2)",
    "a fraction between 0 and 1 (or a percentage up to 100%) with at most 2 decimals as a fraction",
    r"0(\.[0-9]{1,2})?|1(\.0{1,2})?",
)  # fmt: skip
PERCENT = r"[0-9]{1,3}(\.[0-9]+)?%"  # a RATE's other spelling, converted to the fraction
# The original showcase's generator writes a customer without a discount level as `None`: it
# means no discount, and is stored as the fraction 0.
NO_RATE = "None"
STRING = ColumnType("string", "VARCHAR", "STRING", "string", "string", "text", None)
DATE = ColumnType(
    "date", "DATE", "DATE", "date32", "date", "a date (YYYY-MM-DD)", r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
)
BOOL = ColumnType(
    "bool", "BOOLEAN", "BOOL", "bool_", "boolean", "true or false",
    r"true|false|True|False|TRUE|FALSE",
)  # fmt: skip
FLOAT = ColumnType(
    "float", "DOUBLE", "FLOAT64", "float64", "double", "a number",
    r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str  # as in the CSV header and the raw table (PascalCase, as the original)
    type: ColumnType
    nullable: bool = False
    # A column this project added to the original's files: a file without it is valid, and
    # the value comes from the file's partition (its day)...
    from_partition_if_missing: bool = False
    # ... or is empty (NULL): e.g. a store's OpeningDate, unknown for the original's stores.
    empty_if_missing: bool = False
    # What the business allows beyond the type: a POS export can hold values its types allow
    # but no sale has (a negative amount or quantity, an order type nobody knows). The loaders
    # and the importer enforce these with the same words (`value_rules`, core/csv_grammar.py).
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    accepted: tuple[str, ...] = ()

    def value_rules(self) -> list[tuple[str, str]]:
        """(kind, words) of each rule beyond the type: kind is `minimum`, `maximum` or
        `accepted`; words complete "value '...' <words>"."""
        rules = []
        if self.minimum is not None:
            rules.append(("minimum", f"is less than {self.minimum}"))
        if self.maximum is not None:
            rules.append(("maximum", f"is more than {self.maximum}"))
        if self.accepted:
            rules.append(("accepted", f"is not one of {', '.join(self.accepted)}"))
        return rules

    def rule_violated(self, kind: str, typed: str, text: str) -> str:
        """SQL (DuckDB and BigQuery alike) that is true where a value breaks rule `kind`:
        `typed` is the value cast to the column's type, `text` the file's text."""
        if kind == "minimum":
            return f"{typed} < {self.minimum}"
        if kind == "maximum":
            return f"{typed} > {self.maximum}"
        if kind == "accepted":
            return f"{text} not in ({', '.join(sql_string(v) for v in self.accepted)})"
        raise ValueError(f"unknown rule {kind!r}")


def sql_string(value: str) -> str:
    """A string literal both warehouses read the same way (no quote or backslash inside)."""
    if "'" in value or "\\" in value:
        raise ValueError(f"{value!r}: a quote or backslash in an accepted value")
    return f"'{value}'"


@dataclass(frozen=True)
class TableContract:
    table: str  # raw table name in the raw schema / dataset
    file_name: str  # CSV file name, as in the original showcase
    columns: tuple[Column, ...]
    key: str  # natural key column
    date_column: str | None = None  # set for daily-partitioned tables

    @property
    def partitioned(self) -> bool:
        return self.date_column is not None

    @property
    def day_column(self) -> str:
        """The date column of a daily-partitioned table."""
        if self.date_column is None:
            raise ValueError(f"{self.table} is not daily-partitioned")
        return self.date_column

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(col for col in self.columns if col.name == name)

    @property
    def required_in_file(self) -> list[str]:
        """The columns every file must have (the original's)."""
        return [
            c.name for c in self.columns if not (c.from_partition_if_missing or c.empty_if_missing)
        ]

    def header_problem(self, header: list[str]) -> str | None:
        """Why a CSV header breaks the contract (missing or renamed columns), or None.

        Extra columns are allowed, and so is the lack of a column this project added to the
        original's files; none of the original's may be dropped or renamed.
        """
        missing = [name for name in self.required_in_file if name not in header]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            return f"duplicated column(s) {', '.join(duplicated)}"
        if not missing:
            return None
        unexpected = [name for name in header if name not in self.column_names]
        problem = f"missing column(s) {', '.join(missing)}"
        if unexpected:
            problem += f"; unexpected column(s) {', '.join(unexpected)} (renamed?)"
        return f"{problem}; expected {', '.join(self.column_names)}"

    def object_key(self, day: str | None = None) -> str:
        """Hive-style object key below the bucket's CSV prefix.

        `orders/date=2024-03-01/Orders.csv` for daily files, `products/Products.csv` otherwise.
        """
        if self.partitioned:
            if day is None:
                raise ValueError(f"{self.table} is daily-partitioned: a day is required")
            return f"{self.table}/date={day}/{self.file_name}"
        return f"{self.table}/{self.file_name}"


ZERO = Decimal(0)

CUSTOMERS = TableContract(
    table="customers",
    file_name="Customers.csv",
    key="CustomerId",
    date_column="RegistrationDate",
    columns=(
        Column("CustomerId", INT),
        Column("LevelOfDiscount", RATE),
        Column("RegistrationDate", DATE),
    ),
)

ORDERS = TableContract(
    table="orders",
    file_name="Orders.csv",
    key="OrderId",
    date_column="OrderDate",
    columns=(
        Column("OrderId", INT),
        Column("OrderDate", DATE),
        Column("OrderType", STRING, accepted=tuple(ORDER_TYPES)),
        Column("CustomerId", INT, nullable=True),  # empty for anonymous orders
        Column("StoreId", INT),
        # A sale is never negative: returns and voids are not in the contract.
        Column("SubTotal", MONEY, minimum=ZERO),
        Column("TotalAmount", MONEY, minimum=ZERO),
        Column("DiscountApplied", BOOL),
        Column("DiscountAmount", MONEY, minimum=ZERO),
    ),
)

ORDER_DETAILS = TableContract(
    table="order_details",
    file_name="OrderDetails.csv",
    key="OrderDetailId",
    date_column="OrderDate",
    columns=(
        Column("OrderDetailId", INT),
        Column("OrderId", INT),
        Column("ProductId", INT),
        Column("Quantity", INT, minimum=Decimal(1)),
        # Added by this project (additions are allowed): the order's date, so a day's file can
        # be checked and replaced by date without a join to Orders. The original's files do not
        # have it: their lines take their folder's day.
        Column("OrderDate", DATE, from_partition_if_missing=True),
    ),
)

PRODUCTS = TableContract(
    table="products",
    file_name="Products.csv",
    key="ProductId",
    columns=(
        Column("ProductId", INT),
        Column("ProductName", STRING),
        Column("ProductCategory", STRING, accepted=tuple(PRODUCT_CATEGORIES)),
        Column("Price", MONEY, minimum=ZERO),
    ),
)

STORES = TableContract(
    table="stores",
    file_name="Stores.csv",
    key="StoreId",
    columns=(
        Column("StoreId", INT),
        Column("StoreName", STRING),
        Column("District", STRING),
        Column("City", STRING),
        Column("Address", STRING),
        Column("Latitude", FLOAT, minimum=Decimal(-90), maximum=Decimal(90)),
        Column("Longitude", FLOAT, minimum=Decimal(-180), maximum=Decimal(180)),
        # Added by this project: the day a store opened (empty: before the history began). The
        # original's Stores.csv does not have it.
        Column("OpeningDate", DATE, nullable=True, empty_if_missing=True),
    ),
)

# A product's price over time: from ValidFrom to ValidTo (both included; empty: still valid).
# An order line costs the price valid on its order's day; a product without a row here costs
# Products.csv's Price (the original's files have no price history).
PRODUCT_PRICES = TableContract(
    table="product_prices",
    file_name="ProductPrices.csv",
    key="PriceId",
    columns=(
        Column("PriceId", INT),
        Column("ProductId", INT),
        Column("Price", MONEY, minimum=ZERO),
        Column("ValidFrom", DATE),
        Column("ValidTo", DATE, nullable=True),
    ),
)

# The chain's calendar: what it knows of its own year (openings, promotions, price changes,
# public holidays), for the checks to tell a known event from an incident, and the reports to
# show what explains a curve. StoreId, ProductId and ProductCategory say what an event touches
# (all empty: the whole chain).
BUSINESS_EVENTS = TableContract(
    table="business_events",
    file_name="Events.csv",
    key="EventId",
    columns=(
        Column("EventId", INT),
        Column("EventType", STRING, accepted=tuple(EVENT_TYPES)),
        Column("Name", STRING),
        Column("StartDate", DATE),
        Column("EndDate", DATE),
        Column("StoreId", INT, nullable=True),
        Column("ProductId", INT, nullable=True),
        Column("ProductCategory", STRING, nullable=True, accepted=tuple(PRODUCT_CATEGORIES)),
    ),
)

HEADER_BYTES = 64 * 1024  # a file's first bytes hold its header line, whatever its columns


def bucket_key(table: TableContract, day: str | None = None) -> str:
    """A file's key in the bucket, e.g. csv_sources/orders/date=2025-01-01/Orders.csv."""
    return CSV_PREFIX + table.object_key(day)


EMPTY_FILE = "the file is empty (0 bytes): expected a header line, then the rows"


def utf8_problem(data: bytes, exc: UnicodeDecodeError, first_line: int = 1) -> tuple[int, str]:
    """The line (1-based, counting from `first_line` at the start of `data`) and the words for
    bytes that are not UTF-8, e.g. a latin-1 `é` from a spreadsheet saved in a local code page."""
    line = first_line + data.count(b"\n", 0, exc.start)
    return line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"


class HeaderError(ValueError):
    """A file's header cannot be read: the words say why (and the line, when it is not 1)."""


def parse_header(head: bytes) -> list[str]:
    """The header row from a file's first bytes (at least its first line). A UTF-8 byte order
    mark (what spreadsheet tools write) is not part of it; CRLF line ends are fine."""
    if not head:
        raise HeaderError(EMPTY_FILE)
    first = head.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        line, words = utf8_problem(first, exc)
        raise HeaderError(f"line {line}: {words}") from None
    header = next(csv.reader([text]), [])
    if not header:
        raise HeaderError("line 1 is empty: expected the header (the column names)")
    return header


DAILY_TABLES: tuple[TableContract, ...] = (CUSTOMERS, ORDERS, ORDER_DETAILS)
REFERENCE_TABLES: tuple[TableContract, ...] = (PRODUCTS, STORES, PRODUCT_PRICES, BUSINESS_EVENTS)
# The original showcase's five files; the other reference files are this project's additions.
ORIGINAL_TABLES: tuple[TableContract, ...] = DAILY_TABLES + (PRODUCTS, STORES)
ALL_TABLES: tuple[TableContract, ...] = DAILY_TABLES + REFERENCE_TABLES
