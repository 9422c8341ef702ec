"""Orders: what was bought, at which price, and the rules for placing and cancelling."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.errors import Conflict, InvalidInput

MAX_LINES = 100
MAX_QUANTITY = 1000


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class OrderRequestLine:
    """One line as the customer asks for it."""

    product_id: int
    quantity: int


def check_order_request(lines: tuple[OrderRequestLine, ...]) -> None:
    """1..100 lines, quantity 1..1000, each product at most once."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput(f"An order has 1 to {MAX_LINES} lines", field="items")
    seen: set[int] = set()
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"Quantity must be 1 to {MAX_QUANTITY}", field=f"items[{index}].quantity"
            )
        if line.product_id in seen:
            raise InvalidInput(
                f"Product {line.product_id} appears more than once",
                field=f"items[{index}].product_id",
            )
        seen.add(line.product_id)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A line as it was when the order was placed: name and price are copies."""

    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class Order:
    id: int
    user_id: int
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    created_at: datetime
    updated_at: datetime
    total: Decimal = field(default=Decimal("0.00"))

    def __post_init__(self) -> None:
        self.total = sum((line.line_total for line in self.lines), Decimal("0.00"))

    def cancel(self, at: datetime) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise Conflict(f"Order {self.id} is already cancelled")
        self.status = OrderStatus.CANCELLED
        self.updated_at = at


@dataclass(frozen=True, slots=True)
class UserStats:
    order_count: int
    total_spent: Decimal
