"""Engines and pools from a URL: PostgreSQL through asyncpg, SQLite through aiosqlite."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from application.ports.common import DependencyUnavailable

logger = logging.getLogger(__name__)

POSTGRESQL_DRIVER = "postgresql+asyncpg"
SQLITE_DRIVER = "sqlite+aiosqlite"


def normalise_url(url: str | URL) -> URL:
    """The URL with the async driver this project uses, whichever one was named."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername=POSTGRESQL_DRIVER)
    if backend == "sqlite":
        return parsed.set(drivername=SQLITE_DRIVER)
    raise ValueError(f"Unsupported database {parsed.drivername!r}: use PostgreSQL or SQLite")


def create_engine_for(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    statement_timeout_seconds: float = 30,
    connect_timeout_seconds: float = 5,
    pre_ping: bool = False,
    autocommit: bool = False,
) -> AsyncEngine:
    """An engine tuned for this service; the caller disposes of it at shutdown.

    PostgreSQL: a pool of ``pool_size`` (+ ``max_overflow``) connections, statements
    cancelled by the server after ``statement_timeout_seconds``. ``pre_ping`` is off by
    default: with asyncpg a ping is BEGIN, a query and ROLLBACK, three round trips on
    every checkout, more than the work of a product read. Without it, a connection the
    server dropped fails one statement (a 503 for that request), and SQLAlchemy then
    invalidates the whole pool, so the following checkouts connect afresh.
    ``autocommit`` puts every PostgreSQL connection in autocommit mode once, when it is
    opened: units of work then read without switching the connection on each checkout
    and open their transaction at the first write (see :func:`reads_in_autocommit`).
    Code that calls ``engine.begin()`` on such an engine gets no transaction: give it an
    engine without ``autocommit`` or set the isolation level on its connection.

    SQLite: one connection per process, so this process's transactions queue for it;
    ``statement_timeout_seconds`` is how long a transaction waits for another process's
    lock. Use a file: an in-memory database would be shared by concurrent transactions.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgresql_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=max_overflow,
            statement_timeout_seconds=statement_timeout_seconds,
            connect_timeout_seconds=connect_timeout_seconds,
            pre_ping=pre_ping,
            autocommit=autocommit,
        )
    return _sqlite_engine(parsed, busy_timeout_seconds=statement_timeout_seconds)


def _postgresql_engine(
    url: URL,
    *,
    pool_size: int,
    max_overflow: int,
    statement_timeout_seconds: float,
    connect_timeout_seconds: float,
    pre_ping: bool,
    autocommit: bool,
) -> AsyncEngine:
    statement_timeout_ms = int(statement_timeout_seconds * 1000)
    options: dict[str, Any] = {}
    if autocommit:
        # Set once per connection, at connect: the pool's reset on return brings a
        # connection that a unit of work switched to a transaction back to it.
        options["isolation_level"] = AUTOCOMMIT
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=connect_timeout_seconds + statement_timeout_seconds,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args={
            "timeout": connect_timeout_seconds,
            # The server cancels first, with a clear error; the client-side timeout is a
            # backstop for a server that stopped answering altogether.
            "command_timeout": statement_timeout_seconds + 5,
            "server_settings": {
                "application_name": "storefront",
                "statement_timeout": str(statement_timeout_ms),
                # A transaction left open by a stuck client must not hold row locks forever.
                "idle_in_transaction_session_timeout": str(max(statement_timeout_ms * 2, 60_000)),
                # Short OLTP queries gain nothing from JIT compilation and can lose a lot.
                "jit": "off",
            },
        },
        **options,
    )
    if autocommit:
        _AUTOCOMMIT_ENGINES.add(engine.sync_engine)
    return engine


AUTOCOMMIT = "AUTOCOMMIT"
WRITE_ISOLATION = "READ COMMITTED"
"""PostgreSQL's default, stated: the autocommit reads before the first write rely on it."""
_AUTOCOMMIT_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def reads_in_autocommit(engine: AsyncEngine) -> bool:
    """Whether ``engine``'s connections are already in autocommit mode when checked out."""
    return engine.sync_engine in _AUTOCOMMIT_ENGINES


def _sqlite_engine(url: URL, *, busy_timeout_seconds: float) -> AsyncEngine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {}
    if not in_memory:
        # One connection per process serialises this process's transactions in an
        # asyncio-friendly queue instead of letting them spin on SQLite's file lock.
        options.update(pool_size=1, max_overflow=0, pool_timeout=busy_timeout_seconds)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_seconds}, **options)
    busy_timeout_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy, so that the BEGIN below is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails with "database is locked" when another process wrote in between,
        # whatever the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def ping(engine: AsyncEngine, timeout_seconds: float = 2.0) -> None:
    """Raise ``DependencyUnavailable`` unless the database answers within the timeout."""
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except Exception as exc:
        logger.warning("Database ping failed: %r", exc)
        raise DependencyUnavailable("Database unavailable") from exc


__all__ = [
    "AUTOCOMMIT",
    "WRITE_ISOLATION",
    "create_engine_for",
    "normalise_url",
    "ping",
    "reads_in_autocommit",
]
