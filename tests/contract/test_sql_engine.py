"""Engines: readiness pings, failures reported as DependencyUnavailable, SQLite concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import Transaction
from adapters.sql.engine import create_engine_for, ping
from adapters.sql.tables import users
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.ports.common import DependencyUnavailable
from tests.contract.builders import a_product, a_user, at

UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:9/storefront"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(database_url)
    yield engine
    await engine.dispose()


async def test_a_reachable_database_answers_the_ping(engine: AsyncEngine) -> None:
    await ping(engine)


async def test_an_unreachable_database_fails_the_ping_quickly() -> None:
    engine = create_engine_for(UNREACHABLE_POSTGRES, connect_timeout_seconds=1)
    try:
        with pytest.raises(DependencyUnavailable):
            await asyncio.wait_for(ping(engine, timeout_seconds=1), timeout=5)
    finally:
        await engine.dispose()


async def test_a_unit_of_work_on_an_unreachable_database_reports_it_unavailable() -> None:
    engine = create_engine_for(UNREACHABLE_POSTGRES, connect_timeout_seconds=1)
    try:
        with pytest.raises(DependencyUnavailable):
            async with SqlUnitOfWork(engine):
                pass
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_statement_over_the_timeout_reports_the_database_unavailable(
    migrated_postgres_url: str,
) -> None:
    engine = create_engine_for(migrated_postgres_url, statement_timeout_seconds=0.2)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DependencyUnavailable):
                await Transaction(connection).execute(sa.text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


async def test_times_come_back_timezone_aware_in_utc(engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(engine) as uow:
        user = await uow.users.add(a_user(when=datetime.fromisoformat("2026-01-01T14:00:00+02:00")))
        await uow.commit()

    async with SqlUnitOfWork(engine) as uow:
        found = await uow.users.get(user.id)

    assert found is not None
    assert found.created_at == at()
    assert found.created_at.utcoffset() is not None
    assert found.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_naive_times_are_refused(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(sa.exc.StatementError):
            await connection.execute(
                # Naive on purpose: the column type must refuse it.
                sa.select(users.c.id).where(users.c.created_at < datetime(2026, 1, 1))  # noqa: DTZ001
            )


async def test_sqlite_writers_in_separate_processes_wait_instead_of_failing(
    migrated_sqlite_url: str,
) -> None:
    # Two engines on one file behave like two worker processes: BEGIN IMMEDIATE and the
    # busy timeout make them take turns instead of failing with "database is locked".
    first, second = create_engine_for(migrated_sqlite_url), create_engine_for(migrated_sqlite_url)
    try:
        async with SqlUnitOfWork(first) as uow:
            product = await uow.products.add(a_product(stock=10))
            await uow.commit()

        async def buy_one(engine: AsyncEngine) -> bool:
            async with SqlUnitOfWork(engine) as uow:
                await uow.products.get(product.id)
                taken = await uow.products.reserve_stock(product.id, 1, at(minutes=1))
                await asyncio.sleep(0.001)
                if taken is not None:
                    await uow.commit()
                return taken is not None

        outcomes: list[Any] = await asyncio.gather(
            *(buy_one(engine) for engine in [first, second] * 8)
        )

        assert outcomes.count(True) == 10
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("commits", [True, False])
async def test_a_connection_that_wrote_goes_back_to_autocommit_for_the_next_reader(
    migrated_postgres_url: str, commits: bool
) -> None:
    engine = create_engine_for(migrated_postgres_url, pool_size=1, max_overflow=0, autocommit=True)
    try:
        async with SqlUnitOfWork(engine) as uow:
            product = await uow.products.add(a_product(stock=1))
            if commits:
                await uow.commit()

        # The pool holds one connection: the reader gets the one that just wrote.
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.dbapi_connection.autocommit is True  # type: ignore[union-attr]
            # Each statement is its own transaction: now() moves on between them.
            first = (await connection.exec_driver_sql("SELECT now()")).scalar_one()
            await asyncio.sleep(0.01)
            second = (await connection.exec_driver_sql("SELECT now()")).scalar_one()
            assert second > first
        async with SqlUnitOfWork(engine) as uow:
            found = await uow.products.get(product.id)
        assert (found is not None) is commits
    finally:
        await engine.dispose()
