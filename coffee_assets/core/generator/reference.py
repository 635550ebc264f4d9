"""Reference data (docs/spec.md "The business"): the 15 products, the 5 Kyiv stores and the one
that opens during the history, and the Arrow tables of the reference files (events.py says
when the sixth store opens, and the prices and calendar events of a history)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from coffee_assets.core import contract
from coffee_assets.core.generator.schema import arrow_schema

# (ProductId, ProductName, ProductCategory, price in cents)
PRODUCTS: tuple[tuple[int, str, str, int], ...] = (
    (1, "Espresso", "Beverage", 250),
    (2, "Latte", "Beverage", 400),
    (3, "Cappuccino", "Beverage", 450),
    (4, "Americano", "Beverage", 300),
    (5, "Flat White", "Beverage", 350),
    (6, "Matcha", "Beverage", 400),
    (7, "Cold Brew", "Beverage", 400),
    (8, "Espresso Tonic", "Beverage", 450),
    (9, "Croissant", "Pastry", 300),
    (10, "Blueberry Muffin", "Pastry", 200),
    (11, "Chocolate Chip Cookie", "Pastry", 200),
    (12, "Cheesecake Slice", "Pastry", 400),
    (13, "Bagel with Cream Cheese", "Savory", 300),
    (14, "Ham & Cheese Sandwich", "Savory", 400),
    (15, "Chicken Sandwich", "Savory", 400),
)

# (StoreId, StoreName, District, Address, Latitude, Longitude, share of the chain's orders)
CITY = "Kyiv"
STORES: tuple[tuple[int, str, str, str, float, float, float], ...] = (
    (1, "Brazil Coffee", "Shevchenkivskyi", "1 Shevchenko St, Kyiv", 50.4501, 30.5234, 0.30),
    (2, "Colombia Coffee", "Podilskyi", "5 Podil St, Kyiv", 50.4410, 30.5140, 0.20),
    (3, "Ethiopia Coffee", "Pecherskyi", "10 Pechersk St, Kyiv", 50.4350, 30.5550, 0.25),
    (4, "Vietnam Coffee", "Obolonskyi", "20 Obolon Ave, Kyiv", 50.4450, 30.4800, 0.15),
    (5, "Indonesia Coffee", "Darnytskyi", "15 Darnytsia Rd, Kyiv", 50.4580, 30.5980, 0.10),
)

# The store that opens during the history (events.py: when), in the same form, without a share:
# it adds its own volume to the chain's.
NEW_STORE: tuple[int, str, str, str, float, float] = (
    6, "Japan Coffee", "Holosiivskyi", "7 Holosiivskyi Ave, Kyiv", 50.3893, 30.5031,
)  # fmt: skip

PRODUCT_IDS = np.array([p[0] for p in PRODUCTS], dtype=np.int64)
STORE_IDS = np.array([s[0] for s in STORES], dtype=np.int64)
STORE_SHARES = np.array([s[6] for s in STORES], dtype=np.float64)

# Price in cents indexed by ProductId (index 0 unused).
PRICE_CENTS = np.zeros(len(PRODUCTS) + 1, dtype=np.int64)
PRICE_CENTS[PRODUCT_IDS] = [p[3] for p in PRODUCTS]


def products_table() -> pa.Table:
    """Products.csv as an Arrow table (contract.PRODUCTS)."""
    return pa.Table.from_arrays(
        [
            pa.array(PRODUCT_IDS),
            pa.array([p[1] for p in PRODUCTS]),
            pa.array([p[2] for p in PRODUCTS]),
            pa.array([p[3] / 100 for p in PRODUCTS]),
        ],
        schema=arrow_schema(contract.PRODUCTS),
    )


def stores_table(new_store_opens: date | None = None) -> pa.Table:
    """Stores.csv as an Arrow table (contract.STORES): the five stores (open before the history
    began), and the sixth with its opening day when it opens during the history."""
    rows: list[tuple[int, str, str, str, float, float, date | None]] = [
        (*s[:6], None) for s in STORES
    ]
    if new_store_opens is not None:
        rows.append((*NEW_STORE, new_store_opens))
    return pa.Table.from_arrays(
        [
            pa.array([r[0] for r in rows], pa.int64()),
            pa.array([r[1] for r in rows]),
            pa.array([r[2] for r in rows]),
            pa.array([CITY] * len(rows)),
            pa.array([r[3] for r in rows]),
            pa.array([r[4] for r in rows]),
            pa.array([r[5] for r in rows]),
            pa.array([r[6] for r in rows], pa.date32()),
        ],
        schema=arrow_schema(contract.STORES),
    )


def product_prices_table(prices: list[tuple[int, int, date, date | None]]) -> pa.Table:
    """ProductPrices.csv from (ProductId, cents, valid from, valid to or None), PriceIds 1..n."""
    return pa.Table.from_arrays(
        [
            pa.array(range(1, len(prices) + 1), pa.int64()),
            pa.array([p[0] for p in prices], pa.int64()),
            pa.array([p[1] / 100 for p in prices], pa.float64()),
            pa.array([p[2] for p in prices], pa.date32()),
            pa.array([p[3] for p in prices], pa.date32()),
        ],
        schema=arrow_schema(contract.PRODUCT_PRICES),
    )
