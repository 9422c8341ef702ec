"""Migrations 0009 and 0010 on a database holding data: families become sessions, queued
messages learn whose they are, and erased accounts survive a downgrade."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import migrate
from tests.contract.test_migrations import empty_database_url, engine

__all__ = ["empty_database_url", "engine"]

USER = (
    "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, token_version,"
    " created_at, updated_at, version) VALUES (7, 'ann@example.com', 'h', true, false, 0,"
    " '2026-01-01 12:00:00', '2026-01-01 12:00:00', 1)"
)
TOKENS = (
    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at,"
    " used_at, revoked_at, token_version) VALUES"
    " ('a', 'live', 7, '2026-01-01 12:00:00', '2026-01-15 12:00:00', '2026-01-02 12:00:00',"
    " NULL, 0),"
    " ('b', 'live', 7, '2026-01-02 12:00:00', '2026-01-16 12:00:00', NULL, NULL, 0),"
    " ('c', 'dead', 7, '2026-01-03 12:00:00', '2026-01-17 12:00:00', NULL,"
    " '2026-01-04 12:00:00', 0)"
)
MESSAGE = (
    "INSERT INTO outbox (kind, payload, status, attempts, next_attempt_at, created_at)"
    " VALUES ('UserRegistered', :payload, 'pending', 0, '2026-01-01 12:00:00',"
    " '2026-01-01 12:00:00')"
)
PAYLOAD = '{"user_id":7,"email":"ann@example.com","full_name":null}'


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(sa.text(query))]


async def test_stored_families_become_sessions_and_messages_name_their_account(
    empty_database_url: str, engine: AsyncEngine
) -> None:
    migrate.upgrade(empty_database_url, "0008")
    async with engine.begin() as connection:
        await connection.execute(sa.text(USER))
        await connection.execute(sa.text(TOKENS))
        await connection.execute(sa.text(MESSAGE), {"payload": PAYLOAD})

    migrate.upgrade(empty_database_url)

    sessions = await _rows(
        engine,
        "SELECT family_id, user_id, revoked_at IS NULL FROM sessions ORDER BY family_id",
    )
    assert sessions == [("dead", 7, False), ("live", 7, True)]
    assert await _rows(engine, "SELECT user_id FROM outbox") == [(7,)]


async def test_a_downgrade_gives_erased_accounts_an_address_no_one_can_register(
    empty_database_url: str, engine: AsyncEngine
) -> None:
    migrate.upgrade(empty_database_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text(USER.replace("'ann@example.com'", "NULL")))

    migrate.downgrade(empty_database_url, "0009")

    assert await _rows(engine, "SELECT email FROM users") == [("erased-account-7",)]
