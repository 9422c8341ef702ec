"""One transaction's connection, as the SQL repositories use it.

Every statement goes through :meth:`Transaction.execute`, so a database that cannot be
reached surfaces as ``DependencyUnavailable`` wherever it happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.failures import unavailable_from


class Transaction:
    """The open connection of one unit of work, with failure translation."""

    __slots__ = ("connection", "is_postgresql")

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.is_postgresql = connection.dialect.name == "postgresql"

    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        try:
            return await self.connection.execute(statement, parameters)
        except Exception as exc:
            unavailable = unavailable_from(exc)
            if unavailable is None:
                raise
            raise unavailable from exc
