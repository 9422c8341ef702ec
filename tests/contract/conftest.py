"""The contract suite runs every test on each store: memory, SQLite and PostgreSQL.

PostgreSQL runs as the API runs it: the hot statements on the asyncpg driver (ADR 0013).
tests/contract/test_driver_path.py holds those statements to the answers, types and
errors SQLAlchemy gives for them (the path SQLite takes).

PostgreSQL uses one migrated database for the whole session, emptied (every row deleted,
every sequence restarted) before each test: much faster than a database per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.engine import create_engine_for
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.ports.common import UnitOfWork, UnitOfWorkFactory
from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    empty_postgres_statements,
)

# PostgreSQL runs the contract as the API does, hot statements on the driver. The same
# statements through SQLAlchemy (what SQLite uses) are compared with the driver's answers,
# types and errors, path against path, in test_driver_path.py.
BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@dataclass
class Backend:
    """The store under test: its name, and its engine when it is a database."""

    name: str
    url: str | None = None
    engine: AsyncEngine | None = None
    store: InMemoryStore | None = None

    def uow(self) -> UnitOfWork:
        if self.engine is not None:
            return SqlUnitOfWork(self.engine)
        assert self.store is not None
        return InMemoryUnitOfWork(self.store)


@pytest.fixture(scope="session")
def contract_postgres_url(postgres_server_url: str) -> Iterator[str]:
    from adapters.sql import migrate

    url = create_postgres_database(postgres_server_url, prefix="storefront_test_contract_")
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """Where the store under test lives (None for memory), resolved outside the event loop."""
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        url: str = request.getfixturevalue("migrated_sqlite_url")
        return url
    url = request.getfixturevalue("contract_postgres_url")
    return url


@pytest.fixture
async def backend(backend_url: str | None) -> AsyncIterator[Backend]:
    if backend_url is None:
        yield Backend(name="memory", store=InMemoryStore())
        return
    # As the API builds it: connections in autocommit until a unit of work writes.
    engine = create_engine_for(backend_url, pool_size=5, max_overflow=25, autocommit=True)
    name = engine.dialect.name
    if name == "postgresql":
        async with engine.begin() as connection:
            for statement in empty_postgres_statements():
                await connection.exec_driver_sql(statement)
    try:
        yield Backend(
            name="postgres" if name == "postgresql" else name,
            url=backend_url,
            engine=engine,
        )
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(backend: Backend) -> UnitOfWorkFactory:
    """A unit-of-work factory on the store under test: ``async with uow_factory() as uow``."""
    return backend.uow
