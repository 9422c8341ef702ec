"""Bulk catalogue loading for seeding: many products per statement, few transactions.

The repository's ``add`` costs a round trip per product (and the seeder checks slugs
first), which is fine for a demo of a few hundred products and far too slow for the
million rows of a growth benchmark. This loader sends batches through the driver's
``executemany`` (asyncpg pipelines them) and skips products whose slug is taken, so a
second run adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import AUTOCOMMIT, WRITE_ISOLATION
from adapters.sql.failures import database_failures
from adapters.sql.rows import product_values
from adapters.sql.tables import products
from domain.products import Product

DEFAULT_BATCH_SIZE = 5000

_INSERT = {
    True: postgresql.insert(products).on_conflict_do_nothing(index_elements=["slug"]),
    False: sqlite.insert(products).on_conflict_do_nothing(index_elements=["slug"]),
}
_COUNT = sa.select(sa.func.count()).select_from(products)


class SqlCatalogueLoader:
    """Adds many products at once; one transaction per batch."""

    __slots__ = ("_batch_size", "_engine")

    def __init__(self, engine: AsyncEngine, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._engine = engine
        self._batch_size = batch_size

    async def load(
        self, items: Iterable[Product], progress: Any | None = None, total: int = 0
    ) -> int:
        """Insert ``items`` (ids are assigned by the database); return how many were new."""
        is_postgresql = self._engine.dialect.name == "postgresql"
        statement = _INSERT[is_postgresql]
        with database_failures:
            before = await self._count()
            batch: list[dict[str, Any]] = []
            done = 0
            for product in items:
                batch.append(product_values(product))
                if len(batch) >= self._batch_size:
                    await self._insert(statement, batch)
                    done += len(batch)
                    batch = []
                    if progress is not None:
                        progress(done, total)
            if batch:
                await self._insert(statement, batch)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            if is_postgresql:
                # What autovacuum would do a little later: statistics for the planner
                # (and the estimated totals it gives), the visibility map and hint bits,
                # so the first readers do not pay for the bulk load.
                async with self._engine.connect() as connection:
                    connection = await connection.execution_options(isolation_level=AUTOCOMMIT)
                    await connection.exec_driver_sql("VACUUM ANALYZE products")
            return await self._count() - before

    async def _insert(self, statement: Any, batch: list[dict[str, Any]]) -> None:
        async with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # One transaction per batch, whether or not the engine reads in autocommit.
                connection = await connection.execution_options(isolation_level=WRITE_ISOLATION)
            async with connection.begin():
                await connection.execute(statement, batch)

    async def _count(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(_COUNT)).scalar_one())
