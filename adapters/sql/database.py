"""One unit of work's connection, as the SQL repositories use it.

Every statement goes through :meth:`Transaction.execute`, so a database that cannot be
reached surfaces as ``DependencyUnavailable`` wherever it happens.

On PostgreSQL the transaction starts lazily: plain ``SELECT``s run in autocommit mode
until the first statement that writes or locks, which opens the transaction. Reading
a product or a user is then one round trip instead of BEGIN, SELECT and ROLLBACK. Under
READ COMMITTED (the isolation used) this changes nothing a use case can observe: a
read inside a transaction sees only what was committed when it started, exactly like
a read outside one, and plain reads take no locks that the transaction would hold.
Everything from the first write on, and the outbox rows written at commit, share one
transaction as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import driver
from adapters.sql.driver import HotStatement, is_plain_read
from adapters.sql.failures import database_failures

__all__ = ["HotStatement", "Transaction", "is_plain_read"]


class Transaction:
    """The open connection of one unit of work, with failure translation."""

    __slots__ = ("_isolation", "connection", "is_postgresql", "on_driver")

    def __init__(
        self,
        connection: AsyncConnection,
        *,
        begin_lazily: str | None = None,
        driver_path: bool = True,
    ) -> None:
        """``begin_lazily``: the isolation level to begin with at the first write, when
        the connection was put in autocommit mode for the reads before it.
        ``driver_path``: run hot statements on the driver (PostgreSQL only, ADR 0013)."""
        self.connection = connection
        self.is_postgresql = connection.dialect.name == "postgresql"
        self.on_driver = driver_path and self.is_postgresql
        self._isolation = begin_lazily

    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        with database_failures:
            if self._isolation is not None and not is_plain_read(statement):
                await self._begin()
            return await self.connection.execute(statement, parameters)

    async def rows(
        self, hot: HotStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """Every row of a hot statement, read by position: the same values whichever
        path runs it (the driver on PostgreSQL, SQLAlchemy elsewhere)."""
        if not self.on_driver:
            return (await self.execute(hot.statement, parameters)).all()
        with database_failures:
            if self._isolation is not None and not hot.plain_read:
                await self._begin()
            return await driver.fetch(self.connection, hot, parameters)

    async def begin(self) -> None:
        """Open the transaction now, if it is still waiting for a write."""
        if self._isolation is not None:
            with database_failures:
                await self._begin()

    async def _begin(self) -> None:
        isolation, self._isolation = self._isolation, None
        connection = self.connection
        if connection.in_transaction():
            # Only SQLAlchemy's bookkeeping of the autocommit reads: nothing to send.
            await connection.commit()
        await connection.execution_options(isolation_level=isolation)
        await connection.begin()
