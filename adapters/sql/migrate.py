"""Schema migrations as plain functions, for the command line, start-up and tests.

The synchronous functions may be called from inside a running event loop (an async
CLI command, a pytest-asyncio test): Alembic then runs in a worker thread with its own
loop, and the caller's thread waits for it. Async callers that must not block their
loop can use ``await asyncio.to_thread(upgrade, url)``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.engine import normalise_url

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")

T = TypeVar("T")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` (kept out of the ini file's % interpolation)."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = normalise_url(url).render_as_string(hide_password=False)
    return config


def _outside_event_loop(function: Callable[[], T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as worker:
        return worker.submit(function).result()


def upgrade(url: str, revision: str = "head") -> None:
    _outside_event_loop(functools.partial(command.upgrade, alembic_config(url), revision))


def downgrade(url: str, revision: str) -> None:
    _outside_event_loop(functools.partial(command.downgrade, alembic_config(url), revision))


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


async def _read_current(url: str) -> str | None:
    engine = create_async_engine(normalise_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def current(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return _outside_event_loop(lambda: asyncio.run(_read_current(url)))


@functools.cache
def head_revisions() -> frozenset[str]:
    """The heads of the migration scripts shipped with this code."""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    return frozenset(script.get_heads())


async def is_up_to_date(engine: AsyncEngine) -> bool:
    """Whether the database behind ``engine`` is at the scripts' head revision."""
    heads = await asyncio.to_thread(head_revisions)
    async with engine.connect() as connection:
        applied = await connection.run_sync(_current_heads)
    return frozenset(applied) == heads


__all__ = ["alembic_config", "current", "downgrade", "head_revisions", "is_up_to_date", "upgrade"]
