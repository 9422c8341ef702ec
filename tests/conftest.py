"""Fixtures shared by every test suite: real databases, created and dropped per run.

PostgreSQL comes from ``TEST_DATABASE_URL`` (a server URL; the database part is
ignored), else ``postgresql+asyncpg://postgres@127.0.0.1:5432/``. When it cannot be
reached, tests that need it are skipped with the reason, or fail under ``CI=true``.

- ``postgres_server_url``: the server, checked once per session.
- ``postgres_template_url``: a database migrated to head once per session; do not write to it.
- ``migrated_postgres_url``: a fresh, migrated database per test (a copy of the template).
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
def postgres_template_url(postgres_server_url: str) -> Iterator[str]:
    """A database migrated to head once per session, the model for per-test copies."""
    url = create_postgres_database(postgres_server_url, prefix=TEST_DATABASE_PREFIX + "tpl_")
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def migrated_postgres_url(postgres_server_url: str, postgres_template_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database at the head revision, dropped after the test."""
    template = make_url(postgres_template_url).database
    url = create_postgres_database(postgres_server_url, template=template)
    try:
        yield url
    finally:
        drop_postgres_database(url)


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
