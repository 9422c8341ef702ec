"""Things that happened which other parts of the system react to (e-mail, for one).

Events carry ids rather than whole entities: whoever reacts later loads what it
needs as it is then (the customer's current e-mail address, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class UserRegistered:
    user_id: int
    email: str
    full_name: str | None


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: int
    user_id: int
    lines: tuple[tuple[str, int, Decimal], ...]
    """(product name, quantity, line total) per line."""
    total: Decimal


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: int
    user_id: int
    total: Decimal


DomainEvent = UserRegistered | OrderPlaced | OrderCancelled
