"""Migrations build exactly the schema of adapters/sql/tables.py, and undo it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql import migrate
from adapters.sql.tables import metadata
from tests.conftest import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server, prefix="storefront_test_migrations_")
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(empty_database_url, poolclass=sa.NullPool)
    yield engine
    await engine.dispose()


def _differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _table_names(connection: sa.Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_upgrading_to_head_builds_exactly_the_declared_tables(
    empty_database_url: str, engine: AsyncEngine
) -> None:
    migrate.upgrade(empty_database_url)

    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_the_email_index_ignores_case(empty_database_url: str, engine: AsyncEngine) -> None:
    # SQLite cannot reflect expression indexes, so the comparison above skips this one.
    migrate.upgrade(empty_database_url)
    insert = sa.text(
        "INSERT INTO users (email, hashed_password, is_active, is_superuser, created_at, "
        "updated_at) VALUES (:email, 'x', true, false, '2026-01-01', '2026-01-01')"
    )

    async with engine.connect() as connection:
        await connection.execute(insert, {"email": "ann@example.com"})
        with pytest.raises(sa.exc.IntegrityError):
            await connection.execute(insert, {"email": "ANN@example.com"})


@pytest.mark.postgres
async def test_product_names_sort_bytewise_on_postgresql(migrated_postgres_url: str) -> None:
    engine = create_async_engine(migrated_postgres_url, poolclass=sa.NullPool)
    try:
        async with engine.connect() as connection:
            collation = await connection.scalar(
                sa.text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'products' AND column_name = 'name'"
                )
            )
    finally:
        await engine.dispose()

    assert collation == "C"


# What autogenerate does not compare (check constraints, defaults, collations, the
# exact index expressions) is compared here, as the database itself describes it.
_SCHEMA_QUERIES = {
    "sqlite": [
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
    ],
    "postgresql": [
        "SELECT table_name, column_name, data_type, character_maximum_length, "
        "numeric_precision, numeric_scale, is_nullable, column_default, collation_name "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name != 'alembic_version' ORDER BY table_name, column_name",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
        "AND conrelid::regclass::text != 'alembic_version' ORDER BY 1, 2",
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename != 'alembic_version' ORDER BY 1, 2",
    ],
}


async def _schema(engine: AsyncEngine) -> list[list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return [
            [
                tuple(_spaced(value) for value in row)
                for row in await connection.execute(sa.text(query))
            ]
            for query in _SCHEMA_QUERIES[engine.dialect.name]
        ]


def _spaced(value: Any) -> Any:
    """SQLite keeps a table's SQL as written: a column added by ALTER TABLE joins the
    line before it, and a table rebuilt by a batch migration keeps the quotes of its
    rename (``CREATE TABLE "users"``). Layout is not schema."""
    if not isinstance(value, str):
        return value
    return re.sub(r'^CREATE TABLE "(\w+)"', r"CREATE TABLE \1", " ".join(value.split()))


async def test_migrations_build_what_create_all_would_build(
    empty_database_url: str, engine: AsyncEngine, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    migrate.upgrade(empty_database_url)
    if engine.dialect.name == "sqlite":
        reference_url = f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}"
    else:
        server: str = request.getfixturevalue("postgres_server_url")
        reference_url = create_postgres_database(server, prefix="storefront_test_reference_")
        request.addfinalizer(lambda: drop_postgres_database(reference_url))
    reference = create_async_engine(reference_url, poolclass=sa.NullPool)
    try:
        async with reference.begin() as connection:
            await connection.run_sync(metadata.create_all)
        expected = await _schema(reference)
    finally:
        await reference.dispose()

    assert await _schema(engine) == expected


async def test_downgrading_to_base_then_upgrading_again_works(
    empty_database_url: str, engine: AsyncEngine
) -> None:
    migrate.upgrade(empty_database_url)
    assert migrate.current(empty_database_url) in migrate.head_revisions()
    assert await migrate.is_up_to_date(engine)

    migrate.downgrade(empty_database_url, "base")

    assert migrate.current(empty_database_url) is None
    assert not await migrate.is_up_to_date(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_table_names) <= {"alembic_version"}

    migrate.upgrade(empty_database_url)

    assert await migrate.is_up_to_date(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_table_names) == {*metadata.tables, "alembic_version"}


async def test_a_database_never_migrated_is_not_up_to_date(
    empty_database_url: str, engine: AsyncEngine
) -> None:
    assert migrate.current(empty_database_url) is None
    assert not await migrate.is_up_to_date(engine)
