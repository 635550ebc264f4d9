"""Fixed reference data (docs/spec.md "The business"): the 15 products and the 5 Kyiv stores."""

from __future__ import annotations

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


def stores_table() -> pa.Table:
    """Stores.csv as an Arrow table (contract.STORES)."""
    return pa.Table.from_arrays(
        [
            pa.array(STORE_IDS),
            pa.array([s[1] for s in STORES]),
            pa.array([s[2] for s in STORES]),
            pa.array([CITY] * len(STORES)),
            pa.array([s[3] for s in STORES]),
            pa.array([s[4] for s in STORES]),
            pa.array([s[5] for s in STORES]),
        ],
        schema=arrow_schema(contract.STORES),
    )


def reference_tables() -> dict[str, pa.Table]:
    """Reference tables keyed by raw table name: {"products": ..., "stores": ...}."""
    return {contract.PRODUCTS.table: products_table(), contract.STORES.table: stores_table()}
