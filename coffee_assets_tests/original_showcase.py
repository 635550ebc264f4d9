"""Whole-history files exactly as the original showcase writes them: the fixture of the import
tests.

The original (divider817/data-analyst-portfolio, `showcase_local_coffee_shop`) has two writers
of the same five files: the local generator (`dataset_generation/generate_data.py`) and its
Cloud Run job (`google_cloud_run/generate_and_store/main.py`), which rebuilds the whole history
every day into `gs://coffee-shop-showcase/csv_sources/`. Both write pandas DataFrames with
`to_csv(index=False)`. What they write, reproduced here (not their code), checked against files
both produced when run (pandas 2.2.3):

- Customers.csv `CustomerId,LevelOfDiscount,RegistrationDate`: ids 1..500; the level drawn
  uniformly from `None`, `3%`, `5%`, `7%`, `10%` (the Cloud Run job: `3%` ... `10%`, `15%`; the
  literal text `None` means no discount); the registration day drawn uniformly over the whole
  history, so many customers order before they register.
- Orders.csv `OrderId,OrderDate,OrderType,CustomerId,StoreId,SubTotal,TotalAmount,
  DiscountApplied,DiscountAmount`: Poisson(10) orders a day, Poisson(3) from 2022-02-25 to
  2022-05-31, ids 1..N over the history; `In-store`/`Takeaway`; an empty CustomerId for an
  anonymous order (85 % of orders; 70 % in the Cloud Run job); `True`/`False`; money as Python
  floats rounded with `round(x, 2)` and printed shortest (`31.5`, `3.0`, `0.0`, `12.55`), the
  discount `round(SubTotal x rate, 2)` on binary floats, so some half cents round down
  (21.5 x 5 % = 1.075 is written `1.07`).
- OrderDetails.csv `OrderDetailId,OrderId,ProductId,Quantity`: no OrderDate; 1-5 lines an order
  (0.40, 0.30, 0.20, 0.07, 0.03), any product (repeats allowed), quantity 1-3 (0.80, 0.15, 0.05).
- Products.csv and Stores.csv: the fixed menu and stores, prices as `2.5`/`4.0`, coordinates
  shortest (`50.441`), the addresses quoted because they hold a comma.
- LF line ends, UTF-8 without a byte order mark, quotes only where needed.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from coffee_assets.core.generator.reference import CITY, PRODUCTS, STORES

LOW_SEASON = (date(2022, 2, 25), date(2022, 5, 31))


@dataclass(frozen=True)
class Writer:
    """One of the original's two writers: what differs between them."""

    levels: tuple[str, ...]
    anonymous_share: float


LOCAL = Writer(levels=("None", "3%", "5%", "7%", "10%"), anonymous_share=0.85)
CLOUD_RUN = Writer(levels=("3%", "5%", "7%", "10%", "15%"), anonymous_share=0.70)


def _text(value: object) -> str:
    """A cell as pandas' to_csv writes it: floats shortest, None empty, bools True/False."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _file(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8")


def _rate(level: str) -> float:
    return 0.0 if level == "None" else float(level.strip("%")) / 100.0


def original_files(
    first: date,
    last: date,
    *,
    writer: Writer = LOCAL,
    seed: int = 42,
    customers: int = 500,
    orders_per_day: float = 10,
    low_season_orders_per_day: float = 3,
) -> dict[str, bytes]:
    """The five files for `first`...`last`, as `writer` writes them (by file name)."""
    draw = random.Random(seed)
    poisson = np.random.default_rng(seed)
    span = (last - first).days
    customer_rows = [
        [i, draw.choice(writer.levels), (first + timedelta(days=draw.randint(0, span))).isoformat()]
        for i in range(1, customers + 1)
    ]
    level_of = {row[0]: row[1] for row in customer_rows}
    prices = [(p[0], p[3] / 100) for p in PRODUCTS]
    orders, lines = [], []
    day = first
    while day <= last:
        mean = (
            low_season_orders_per_day if LOW_SEASON[0] <= day <= LOW_SEASON[1] else orders_per_day
        )
        for _ in range(int(poisson.poisson(mean))):
            order_id = len(orders) + 1
            order_type = draw.choice(["In-store", "Takeaway"])
            customer = (
                draw.randint(1, customers) if draw.random() > writer.anonymous_share else None
            )
            store = draw.choices([s[0] for s in STORES], weights=[s[6] for s in STORES])[0]
            items = draw.choices([1, 2, 3, 4, 5], weights=[0.4, 0.3, 0.2, 0.07, 0.03])[0]
            sub_total = 0.0
            for _ in range(items):
                product, price = draw.choice(prices)
                quantity = draw.choices([1, 2, 3], weights=[0.8, 0.15, 0.05])[0]
                sub_total += price * quantity
                lines.append([len(lines) + 1, order_id, product, quantity])
            rate = _rate(level_of[customer]) if customer is not None else 0.0
            discount = round(sub_total * rate, 2)
            orders.append(
                [
                    order_id,
                    day.isoformat(),
                    order_type,
                    customer,
                    store,
                    round(sub_total, 2),
                    round(sub_total - discount, 2),
                    rate > 0,
                    discount,
                ]
            )
        day += timedelta(days=1)
    return {
        "Customers.csv": _file(
            ["CustomerId", "LevelOfDiscount", "RegistrationDate"], customer_rows
        ),
        "Orders.csv": _file(
            [
                "OrderId",
                "OrderDate",
                "OrderType",
                "CustomerId",
                "StoreId",
                "SubTotal",
                "TotalAmount",
                "DiscountApplied",
                "DiscountAmount",
            ],
            orders,
        ),  # fmt: skip
        "OrderDetails.csv": _file(["OrderDetailId", "OrderId", "ProductId", "Quantity"], lines),
        "Products.csv": _file(
            ["ProductId", "ProductName", "ProductCategory", "Price"],
            [[p[0], p[1], p[2], p[3] / 100] for p in PRODUCTS],
        ),
        "Stores.csv": _file(
            ["StoreId", "StoreName", "District", "City", "Address", "Latitude", "Longitude"],
            [[s[0], s[1], s[2], CITY, s[3], s[4], s[5]] for s in STORES],
        ),
    }
