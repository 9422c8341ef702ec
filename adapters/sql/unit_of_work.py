"""One database transaction per use-case run."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.clock import SystemClock
from adapters.sql.connection_gate import ConnectionGate, connection_gate
from adapters.sql.database import Transaction
from adapters.sql.engine import AUTOCOMMIT, WRITE_ISOLATION, reads_in_autocommit
from adapters.sql.failures import database_failures
from adapters.sql.repositories.accounts import SqlRefreshTokenRepository, SqlUserRepository
from adapters.sql.repositories.catalogue import SqlProductRepository
from adapters.sql.repositories.email_tokens import SqlEmailTokenRepository
from adapters.sql.repositories.notifications import SqlOutboxRepository
from adapters.sql.repositories.ordering import SqlIdempotencyKeyRepository, SqlOrderRepository
from adapters.sql.repositories.sessions import SqlSessionRepository
from application.ports.accounts import RefreshTokenRepository, UserRepository
from application.ports.catalogue import ProductRepository
from application.ports.common import Clock
from application.ports.email_tokens import EmailTokenRepository
from application.ports.notifications import OutboxRepository
from application.ports.ordering import IdempotencyKeyRepository, OrderRepository
from application.ports.sessions import SessionRepository
from domain.events import DomainEvent

logger = logging.getLogger(__name__)

_SYSTEM_CLOCK = SystemClock()


class SqlUnitOfWork:
    """A connection and its transaction for one ``async with`` block.

    The transaction is rolled back unless :meth:`commit` was called. Not re-entrant:
    make a fresh one per use-case run (``lambda: SqlUnitOfWork(engine, clock=clock)``).
    Recorded events are written to the outbox by :meth:`commit`, in the same
    transaction, stamped with ``clock``'s time (the dispatcher must use the same clock).
    """

    __slots__ = (
        "_clock",
        "_connection",
        "_driver_path",
        "_engine",
        "_events",
        "_gate",
        "_outbox",
        "email_tokens",
        "idempotency_keys",
        "orders",
        "outbox",
        "products",
        "refresh_tokens",
        "sessions",
        "users",
    )

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    email_tokens: EmailTokenRepository
    sessions: SessionRepository
    idempotency_keys: IdempotencyKeyRepository
    outbox: OutboxRepository

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock | None = None, driver_path: bool = True
    ) -> None:
        """``driver_path=False`` runs every statement through SQLAlchemy, the hot ones
        included (on PostgreSQL they run on the driver otherwise: ADR 0013)."""
        self._engine = engine
        self._driver_path = driver_path
        self._clock: Clock = clock or _SYSTEM_CLOCK
        self._connection: AsyncConnection | None = None
        self._events: list[DomainEvent] = []
        self._gate: ConnectionGate | None = None

    async def __aenter__(self) -> Self:
        if self._connection is not None or self._gate is not None:
            raise RuntimeError("This unit of work is already in use")
        gate = connection_gate(self._engine)
        if gate is not None:
            await gate.acquire()
        connection = self._engine.connect()
        lazy: str | None = None
        try:
            with database_failures:
                await connection.start()
                if connection.dialect.name == "postgresql":
                    # Reads before the first write run without BEGIN/ROLLBACK (see Transaction).
                    lazy = WRITE_ISOLATION
                    if not reads_in_autocommit(self._engine):
                        await connection.execution_options(isolation_level=AUTOCOMMIT)
                else:
                    await connection.begin()
        except BaseException:
            if connection.sync_connection is not None:
                await _close_quietly(connection)
            if gate is not None:
                gate.release()
            raise
        self._connection = connection
        self._gate = gate
        tx = Transaction(connection, begin_lazily=lazy, driver_path=self._driver_path)
        # Repositories only keep a reference to the transaction: making them costs little.
        self.users = SqlUserRepository(tx)
        self.products = SqlProductRepository(tx)
        self.orders = SqlOrderRepository(tx)
        self.refresh_tokens = SqlRefreshTokenRepository(tx)
        self.email_tokens = SqlEmailTokenRepository(tx)
        self.sessions = SqlSessionRepository(tx)
        self.idempotency_keys = SqlIdempotencyKeyRepository(tx)
        self.outbox = self._outbox = SqlOutboxRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        gate, self._gate = self._gate, None
        self._events.clear()
        try:
            if connection is not None:
                # Closing returns the connection to the pool, rolling back what was not
                # committed.
                await _close_quietly(connection)
        finally:
            if gate is not None:
                gate.release()

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit() outside the unit of work's async with block")
        if self._events:
            # Same transaction as the change that caused them: both happen, or neither.
            await self._outbox.append(self._events, self._clock.now())
        with database_failures:
            await self._connection.commit()
        self._events.clear()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)


async def _close_quietly(connection: AsyncConnection) -> None:
    try:
        await connection.close()
    except Exception:
        # The connection is already broken; the pool discards it. The caller's own
        # error (if any) is the one worth reporting.
        logger.warning("Could not close a database connection cleanly", exc_info=True)
