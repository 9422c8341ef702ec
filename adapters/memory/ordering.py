"""In-memory twins of the order and idempotency-key repositories."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from adapters.memory.store import InMemoryStore, Journal, cut_page
from application.pagination import Slice
from application.ports.ordering import IdempotencyRecord, OrderQuery
from domain.errors import Conflict
from domain.orders import Order, OrderStatus, UserStats


class InMemoryOrderRepository:
    """Orders in an :class:`InMemoryStore`; lines are immutable and shared safely."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    async def add(self, order: Order) -> Order:
        stored = copy.copy(order)
        stored.id = next(self._store.order_ids)
        self._journal.put(self._store.orders, stored.id, stored)
        return copy.copy(stored)

    async def get(self, order_id: int) -> Order | None:
        order = self._store.orders.get(order_id)
        return copy.copy(order) if order is not None else None

    async def cancel(self, order_id: int, at: datetime) -> bool:
        current = self._store.orders.get(order_id)
        if current is None or current.status is not OrderStatus.PLACED:
            return False
        stored = copy.copy(current)
        stored.status = OrderStatus.CANCELLED
        stored.updated_at = at
        self._journal.put(self._store.orders, order_id, stored)
        return True

    async def list_page(self, query: OrderQuery) -> Slice[Order]:
        rows = sorted(
            (
                order
                for order in self._store.orders.values()
                if query.user_id in (None, order.user_id) and query.status in (None, order.status)
            ),
            key=lambda order: order.id,
            reverse=True,
        )
        page = query.page
        after = page.after
        found = cut_page(rows, page, (lambda order: order.id < after.id) if after else None)
        return Slice([copy.copy(o) for o in found.items], found.total, found.has_more)

    async def stats_for_user(self, user_id: int) -> UserStats:
        placed = [
            order.total
            for order in self._store.orders.values()
            if order.user_id == user_id and order.status is OrderStatus.PLACED
        ]
        return UserStats(order_count=len(placed), total_spent=sum(placed, Decimal("0.00")))


class InMemoryIdempotencyKeyRepository:
    """Idempotency records in an :class:`InMemoryStore`, one per user and key."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    async def get(self, user_id: int, key: str, not_before: datetime) -> IdempotencyRecord | None:
        record = self._store.idempotency_keys.get((user_id, key))
        if record is None or record.created_at < not_before:
            return None
        return record

    async def claim(self, record: IdempotencyRecord, not_before: datetime) -> None:
        """Store ``record``; an existing one created before ``not_before`` is replaced."""
        existing = self._store.idempotency_keys.get((record.user_id, record.key))
        if existing is not None and existing.created_at >= not_before:
            raise Conflict("Idempotency key already used")
        self._journal.put(self._store.idempotency_keys, (record.user_id, record.key), record)
