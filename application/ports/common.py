"""Ports every context shares: the unit of work that spans them, the clock, and the
error a backing service raises when it cannot be reached."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from application.ports.accounts import RefreshTokenRepository, UserRepository
from application.ports.catalogue import ProductRepository
from application.ports.email_tokens import EmailTokenRepository
from application.ports.notifications import OutboxRepository
from application.ports.ordering import IdempotencyKeyRepository, OrderRepository
from application.ports.sessions import SessionRepository
from domain.events import DomainEvent


class DependencyUnavailable(Exception):
    """A backing service (the database) cannot be reached; the caller may retry later."""

    def __init__(self, detail: str, retry_after_seconds: int = 2) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_seconds = retry_after_seconds


class UnitOfWork(Protocol):
    """One transaction: the repositories see and change the same state.

    Leaving the ``async with`` block without :meth:`commit` rolls everything back,
    including the events recorded with :meth:`record`.
    """

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    email_tokens: EmailTokenRepository
    sessions: SessionRepository
    idempotency_keys: IdempotencyKeyRepository
    outbox: OutboxRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """Keep an event to be written to the outbox in this transaction."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""A fresh unit of work per use-case run, so concurrent requests never share one."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...
