"""One database transaction per use-case run."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.database import Transaction
from adapters.sql.failures import unavailable_from
from adapters.sql.repositories import (
    SqlIdempotencyKeyRepository,
    SqlOrderRepository,
    SqlProductRepository,
    SqlRefreshTokenRepository,
    SqlUserRepository,
)
from application.ports import (
    IdempotencyKeyRepository,
    OrderRepository,
    ProductRepository,
    RefreshTokenRepository,
    UserRepository,
)
from domain.events import DomainEvent

logger = logging.getLogger(__name__)


class SqlUnitOfWork:
    """A connection and its transaction for one ``async with`` block.

    The transaction is rolled back unless :meth:`commit` was called. Not re-entrant:
    make a fresh one per use-case run (``lambda: SqlUnitOfWork(engine)``).
    """

    __slots__ = (
        "_connection",
        "_engine",
        "_events",
        "idempotency_keys",
        "orders",
        "products",
        "refresh_tokens",
        "users",
    )

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    idempotency_keys: IdempotencyKeyRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._events: list[DomainEvent] = []

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("This unit of work is already in use")
        connection = self._engine.connect()
        try:
            await connection.start()
            await connection.begin()
        except Exception as exc:
            if connection.sync_connection is not None:
                await _close_quietly(connection)
            unavailable = unavailable_from(exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        self._connection = connection
        tx = Transaction(connection)
        # Repositories only keep a reference to the transaction: making them costs little.
        self.users = SqlUserRepository(tx)
        self.products = SqlProductRepository(tx)
        self.orders = SqlOrderRepository(tx)
        self.refresh_tokens = SqlRefreshTokenRepository(tx)
        self.idempotency_keys = SqlIdempotencyKeyRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._events.clear()
        if connection is not None:
            # Closing returns the connection to the pool, rolling back what was not committed.
            await _close_quietly(connection)

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit() outside the unit of work's async with block")
        try:
            await self._connection.commit()
        except Exception as exc:
            unavailable = unavailable_from(exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        # Until the outbox table exists, events die with the unit of work.
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
