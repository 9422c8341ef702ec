"""The logins of each account in SQL: one row per refresh-token family."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row

from adapters.sql.columns import UtcDateTime
from adapters.sql.database import Transaction
from adapters.sql.tables import sessions
from domain.sessions import LoginSession

_COLUMNS = (
    sessions.c.id,
    sessions.c.family_id,
    sessions.c.user_id,
    sessions.c.created_at,
    sessions.c.last_used_at,
    sessions.c.expires_at,
    sessions.c.user_agent,
    sessions.c.ip,
    sessions.c.revoked_at,
)
_AT = sa.bindparam("at", type_=UtcDateTime)
_LIVE = sessions.c.revoked_at.is_(None)
_OWNED = sessions.c.user_id == sa.bindparam("owner")

_INSERT = sa.insert(sessions).returning(sessions.c.id)
_TOUCH = (
    sa.update(sessions)
    .where(sessions.c.family_id == sa.bindparam("family"), _LIVE)
    .values(
        last_used_at=_AT,
        expires_at=sa.bindparam("expires_at", type_=UtcDateTime),
        ip=sa.bindparam("ip"),
        user_agent=sa.bindparam("user_agent"),
    )
    .returning(sessions.c.id)
)
_LIST_ACTIVE = (
    sa.select(*_COLUMNS)
    .where(_OWNED, _LIVE, sessions.c.expires_at > _AT)
    .order_by(sessions.c.id.desc())
)
_END = (
    sa.update(sessions)
    .where(
        sessions.c.id == sa.bindparam("session_id"),
        _OWNED,
        _LIVE,
        sessions.c.expires_at > _AT,
    )
    .values(revoked_at=_AT)
    .returning(sessions.c.family_id)
)
_END_FAMILY = (
    sa.update(sessions)
    .where(sessions.c.family_id == sa.bindparam("family"), _LIVE)
    .values(revoked_at=_AT)
)
_END_ALL = sa.update(sessions).where(_OWNED, _LIVE).values(revoked_at=_AT)
_DELETE_ALL = sa.delete(sessions).where(_OWNED)
_PURGE = sa.delete(sessions).where(sessions.c.expires_at < _AT)


def _session(row: Row[Any]) -> LoginSession:
    (id_, family_id, user_id, created_at, last_used_at, expires_at, agent, ip, revoked_at) = tuple(
        row
    )
    return LoginSession(
        id=id_,
        family_id=family_id,
        user_id=user_id,
        created_at=created_at,
        last_used_at=last_used_at,
        expires_at=expires_at,
        user_agent=agent,
        ip=ip,
        revoked_at=revoked_at,
    )


class SqlSessionRepository:
    """Logins in SQL; refreshing and ending one are conditional UPDATEs of its row."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, session: LoginSession) -> LoginSession:
        values: dict[str, Any] = {
            "family_id": session.family_id,
            "user_id": session.user_id,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.expires_at,
            "revoked_at": session.revoked_at,
            "user_agent": session.user_agent,
            "ip": session.ip,
        }
        session_id = (await self._tx.execute(_INSERT, values)).scalar_one()
        return dataclasses.replace(session, id=session_id)

    async def touch(
        self,
        family_id: str,
        at: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
    ) -> int | None:
        params = {
            "family": family_id,
            "at": at,
            "expires_at": expires_at,
            "ip": ip,
            "user_agent": user_agent,
        }
        session_id: int | None = (await self._tx.execute(_TOUCH, params)).scalar()
        return session_id

    async def list_active(self, user_id: int, now: datetime) -> list[LoginSession]:
        rows = await self._tx.execute(_LIST_ACTIVE, {"owner": user_id, "at": now})
        return [_session(row) for row in rows]

    async def end(self, user_id: int, session_id: int, at: datetime) -> str | None:
        params = {"session_id": session_id, "owner": user_id, "at": at}
        family_id: str | None = (await self._tx.execute(_END, params)).scalar()
        return family_id

    async def end_family(self, family_id: str, at: datetime) -> None:
        await self._tx.execute(_END_FAMILY, {"family": family_id, "at": at})

    async def end_all_for_user(self, user_id: int, at: datetime) -> None:
        await self._tx.execute(_END_ALL, {"owner": user_id, "at": at})

    async def delete_all_for_user(self, user_id: int) -> None:
        await self._tx.execute(_DELETE_ALL, {"owner": user_id})

    async def purge(self, expired_before: datetime) -> int:
        result = await self._tx.execute(_PURGE, {"at": expired_before})
        return result.rowcount
