"""Ordering ports: orders and the idempotency keys that make placing one safe to retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.pagination import PageRequest, Slice
from domain.orders import Order, OrderStatus, UserStats


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A page of orders, newest first (by descending id).

    ``user_id`` None means every customer's orders (an operator's view). With
    ``page.after`` set, the page starts after that order and ``page.skip`` is ignored.
    """

    page: PageRequest
    user_id: int | None
    status: OrderStatus | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    user_id: int
    key: str
    request_hash: str
    order_id: int
    created_at: datetime


class OrderRepository(Protocol):
    async def add(self, order: Order) -> Order:
        """Store a new order with its lines; return it with its id."""
        ...

    async def get(self, order_id: int) -> Order | None: ...

    async def cancel(self, order_id: int, at: datetime) -> bool:
        """Mark a placed order cancelled, atomically; False if it was not placed.

        Of two concurrent cancellations exactly one wins, so stock is returned once.
        """
        ...

    async def list_page(self, query: OrderQuery) -> Slice[Order]:
        """The orders ``query`` selects, newest first, with their total."""
        ...

    async def stats_for_user(self, user_id: int) -> UserStats:
        """Count and sum of the user's placed orders, computed by the store."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def get(self, user_id: int, key: str, not_before: datetime) -> IdempotencyRecord | None:
        """The record for this user and key, unless it was created before ``not_before``."""
        ...

    async def claim(self, record: IdempotencyRecord, not_before: datetime) -> None:
        """Store the record, replacing one created before ``not_before`` (expired).

        A live record for the same user and key raises ``Conflict``.
        """
        ...
