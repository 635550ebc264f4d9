"""The repairs `coffee-import --repair` makes (plan.py lists them): each takes the rows a rule
found and changes them in place, returning the changes, which the plan reports beside the
findings. Only what is certain is repaired: a rounding of the original's, a registration date
the original drew at random."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from coffee_assets.core.importer.model import HALF_CENT_DOWN, REGISTERED_AFTER_ORDER, Change, Row
from coffee_assets.core.importer.write import money_text


def is_half_cent_down(row: Mapping[str, Any]) -> bool:
    """An `amounts_reconcile` row whose only fault is the original's rounding of an exact half
    cent down (it rounded binary floats)."""
    sub, discount, expected = row["SubTotal"], row["DiscountAmount"], row["expected_discount"]
    exact = sub * row["rate"]  # in 1/100 of a cent
    return (
        exact % 100 == 50
        and discount == expected - 1
        and row["TotalAmount"] in (sub - discount, sub - expected)
        and bool(row["DiscountApplied"]) == (row["rate"] > 0)
    )


def round_half_up(order: Row, *, subtotal: int, discount: int) -> list[Change]:
    """The order's DiscountAmount rounded half up (`discount`), and TotalAmount = SubTotal -
    DiscountAmount."""
    key = f"OrderId={order.values['OrderId']}"
    changes = []
    for column, new in (("DiscountAmount", discount), ("TotalAmount", subtotal - discount)):
        old = order.values[column]
        if old != new:
            changes.append(
                Change("Orders.csv", order.line, key, column, money_text(old), money_text(new),
                       HALF_CENT_DOWN)
            )  # fmt: skip
            order.values[column] = new
    return changes


def register_on_first_order(
    customers: Mapping[Any, Row], late: list[dict[str, Any]]
) -> list[Change]:
    """Each customer who ordered before registering (the `customer_registered_by_order_date`
    rows) registers on their first order's day."""
    first_order: dict[int, date] = {}
    for row in late:
        customer, day = row["CustomerId"], row["OrderDate"]
        first_order[customer] = min(first_order.get(customer, day), day)
    changes = []
    for customer, first in sorted(first_order.items()):
        registration = customers[customer]
        registered = registration.values["RegistrationDate"]
        registration.values["RegistrationDate"] = first
        changes.append(
            Change("Customers.csv", registration.line, f"CustomerId={customer}", "RegistrationDate",
                   str(registered), str(first), REGISTERED_AFTER_ORDER)
        )  # fmt: skip
    return changes
