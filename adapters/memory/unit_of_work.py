"""The in-memory unit of work: one serialised transaction over an :class:`InMemoryStore`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.clock import SystemClock
from adapters.memory.accounts import InMemoryRefreshTokenRepository, InMemoryUserRepository
from adapters.memory.catalogue import InMemoryProductRepository
from adapters.memory.email_tokens import InMemoryEmailTokenRepository
from adapters.memory.notifications import InMemoryOutboxRepository
from adapters.memory.ordering import InMemoryIdempotencyKeyRepository, InMemoryOrderRepository
from adapters.memory.sessions import InMemorySessionRepository
from adapters.memory.store import InMemoryStore, Journal, OutboxRecord
from adapters.trace_context import current_traceparent
from application.ports.accounts import RefreshTokenRepository, UserRepository
from application.ports.catalogue import (
    ProductRepository,
)
from application.ports.common import Clock
from application.ports.email_tokens import EmailTokenRepository
from application.ports.notifications import OutboxRepository
from application.ports.ordering import IdempotencyKeyRepository, OrderRepository
from application.ports.sessions import SessionRepository
from domain.events import DomainEvent

_SYSTEM_CLOCK = SystemClock()


class InMemoryUnitOfWork:
    """One serialised transaction over an :class:`InMemoryStore`.

    Not re-entrant; make a fresh one per use-case run
    (``lambda: InMemoryUnitOfWork(store, clock=clock)``). Recorded events join the
    store's outbox on :meth:`commit`, stamped with ``clock``'s time (the dispatcher
    must use the same clock).
    """

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    email_tokens: EmailTokenRepository
    sessions: SessionRepository
    idempotency_keys: IdempotencyKeyRepository
    outbox: OutboxRepository

    def __init__(self, store: InMemoryStore, *, clock: Clock | None = None) -> None:
        self._store = store
        self._clock: Clock = clock or _SYSTEM_CLOCK
        self._journal = Journal()
        self._events: list[DomainEvent] = []
        self._active = False

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("This unit of work is already in use")
        await self._store.lock.acquire()
        self._active = True
        store, journal = self._store, self._journal
        self.users = InMemoryUserRepository(store, journal)
        self.products = InMemoryProductRepository(store, journal)
        self.orders = InMemoryOrderRepository(store, journal)
        self.refresh_tokens = InMemoryRefreshTokenRepository(store, journal)
        self.email_tokens = InMemoryEmailTokenRepository(store, journal)
        self.sessions = InMemorySessionRepository(store, journal)
        self.idempotency_keys = InMemoryIdempotencyKeyRepository(store, journal)
        self.outbox = InMemoryOutboxRepository(store, journal)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._journal.undo()
            self._events.clear()
        finally:
            self._active = False
            self._store.lock.release()

    async def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit() outside the unit of work's async with block")
        self._journal.forget()
        if self._events:
            now = self._clock.now()
            traceparent = current_traceparent()
            for event in self._events:
                message_id = next(self._store.outbox_ids)
                self._store.outbox[message_id] = OutboxRecord(
                    id=message_id,
                    event=event,
                    created_at=now,
                    next_attempt_at=now,
                    traceparent=traceparent,
                )
            self._events.clear()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)
