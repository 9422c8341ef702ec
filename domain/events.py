"""Things that happened which other parts of the system react to (e-mail, for one)."""

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
    email: str
    lines: tuple[tuple[str, int, Decimal], ...]
    """(product name, quantity, line total) per line."""
    total: Decimal


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: int
    user_id: int
    email: str
    total: Decimal


DomainEvent = UserRegistered | OrderPlaced | OrderCancelled
