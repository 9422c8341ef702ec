"""Fixtures shared by every test suite: real databases, created and dropped per run.

PostgreSQL comes from ``TEST_DATABASE_URL`` (a server URL; the database part is
ignored), else ``postgresql+asyncpg://postgres@127.0.0.1:5432/``. When it cannot be
reached, tests that need it are skipped with the reason, or fail under ``CI=true``.

- ``postgres_server_url``: the server, checked once per session.
- ``postgres_shared_url``: a database migrated to head once per session, lent to one test
  at a time by ``migrated_postgres_url``; never change its schema.
- ``migrated_postgres_url``: an empty database at head for one test: the shared one, its
  other connections ended and every row deleted, every sequence restarted (about 20 ms;
  a copy of a template per test cost about 400 ms to create and drop).
- ``migrated_sqlite_url``: a fresh, migrated SQLite file per test.
- ``create_postgres_database`` / ``drop_postgres_database``: helpers for suites that manage
  their own databases (they work from sync and async code alike).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import URL, make_url

from adapters.sql import migrate

T = TypeVar("T")

DEFAULT_POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
TEST_DATABASE_PREFIX = "storefront_test_"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def run_blocking(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, main()).result()


def _server_url() -> URL:
    raw = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_SERVER
    return make_url(raw).set(drivername="postgresql+asyncpg", database=None)


def database_url(server_url: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``server_url``."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def _asyncpg_dsn(server_url: str, database: str = "postgres") -> str:
    url = make_url(server_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _admin(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(
    server_url: str, *, template: str | None = None, prefix: str = TEST_DATABASE_PREFIX
) -> str:
    """Create a uniquely named database (a copy of ``template`` if given); return its URL."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    run_blocking(lambda: _admin(server_url, f'CREATE DATABASE "{name}"{clause}'))
    return database_url(server_url, name)


def drop_postgres_database(url: str) -> None:
    """Drop the database of ``url``, closing any connection still open on it."""
    name = make_url(url).database
    run_blocking(lambda: _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server to test against (no database), reachable or skipped."""
    url = _server_url().render_as_string(hide_password=False)
    try:
        run_blocking(lambda: asyncio.wait_for(_admin(url, "SELECT 1"), timeout=5))
    except Exception as exc:
        reason = f"PostgreSQL is not reachable at {_server_url()!r}: {exc!r}"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_shared_url(postgres_server_url: str) -> Iterator[str]:
    """A database migrated to head once per session, lent to tests by ``migrated_postgres_url``."""
    url = create_postgres_database(postgres_server_url, prefix=TEST_DATABASE_PREFIX + "shared_")
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


def empty_postgres_statements() -> list[str]:
    """Statements that empty a database at head: every row deleted, every id sequence restarted.

    DELETE on a handful of rows is far cheaper than TRUNCATE, which rewrites files.
    """
    from adapters.sql.tables import metadata

    return [
        *(f"DELETE FROM {table.name}" for table in reversed(metadata.sorted_tables)),
        *(
            f"ALTER SEQUENCE {table.name}_id_seq RESTART"
            for table in metadata.sorted_tables
            if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key
        ),
    ]


async def _empty_postgres(url: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url, make_url(url).database or ""), timeout=5)
    try:
        # What a previous test left connected (a pool, a server it started) goes first, as
        # DROP DATABASE ... WITH (FORCE) would have ended it: nothing holds a lock or a row.
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        async with connection.transaction():
            for statement in empty_postgres_statements():
                await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def migrated_postgres_url(postgres_shared_url: str) -> str:
    """An empty PostgreSQL database at the head revision, for this test alone.

    It is the session's shared database, emptied first; a test must not change its schema
    (one that migrates or downgrades creates its own with ``create_postgres_database``).
    """
    run_blocking(lambda: _empty_postgres(postgres_shared_url))
    return postgres_shared_url


@pytest.fixture(scope="session")
def sqlite_template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session, the model for per-test copies."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(sqlite_template_path: Path, tmp_path: Path) -> str:
    """A fresh SQLite database file at the head revision, in the test's temporary folder."""
    path = tmp_path / "storefront.db"
    shutil.copyfile(sqlite_template_path, path)
    return f"sqlite+aiosqlite:///{path}"


DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own for one test, empty before and flushed after.

    ``TEST_REDIS_URL`` names it (default database 13 of the local server, which tests
    own: it is flushed). Skipped when unreachable, failed under ``CI=true``.
    """
    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
        client.flushdb()
    except (RedisError, OSError) as exc:
        client.close()
        reason = f"Redis is not reachable at {url!r}: {exc!r}"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
