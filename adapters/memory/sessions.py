"""In-memory twin of the session repository: the logins of each account."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime

from adapters.memory.store import InMemoryStore, Journal
from domain.errors import Conflict
from domain.sessions import LoginSession


class InMemorySessionRepository:
    """Logins in an :class:`InMemoryStore`, keyed by id; family ids are unique."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def _by_family(self, family_id: str) -> LoginSession | None:
        return next((s for s in self._store.sessions.values() if s.family_id == family_id), None)

    def _put(self, session: LoginSession) -> None:
        self._journal.put(self._store.sessions, session.id, session)

    async def add(self, session: LoginSession) -> LoginSession:
        if self._by_family(session.family_id) is not None:
            raise Conflict("Session already stored")
        stored = dataclasses.replace(session, id=next(self._store.session_ids))
        self._journal.put(self._store.sessions, stored.id, stored)
        return copy.copy(stored)

    async def touch(
        self,
        family_id: str,
        at: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
    ) -> int | None:
        session = self._by_family(family_id)
        if session is None or session.revoked_at is not None:
            return None
        self._put(
            dataclasses.replace(
                session, last_used_at=at, expires_at=expires_at, ip=ip, user_agent=user_agent
            )
        )
        return session.id

    async def list_active(self, user_id: int, now: datetime) -> list[LoginSession]:
        return [
            copy.copy(session)
            for session in sorted(self._store.sessions.values(), key=lambda s: -s.id)
            if session.user_id == user_id and session.is_active(now)
        ]

    async def end(self, user_id: int, session_id: int, at: datetime) -> str | None:
        session = self._store.sessions.get(session_id)
        if session is None or session.user_id != user_id or not session.is_active(at):
            return None
        self._put(dataclasses.replace(session, revoked_at=at))
        return session.family_id

    async def end_family(self, family_id: str, at: datetime) -> None:
        session = self._by_family(family_id)
        if session is not None and session.revoked_at is None:
            self._put(dataclasses.replace(session, revoked_at=at))

    async def end_all_for_user(self, user_id: int, at: datetime) -> None:
        for session in list(self._store.sessions.values()):
            if session.user_id == user_id and session.revoked_at is None:
                self._put(dataclasses.replace(session, revoked_at=at))

    async def delete_all_for_user(self, user_id: int) -> None:
        for session in list(self._store.sessions.values()):
            if session.user_id == user_id:
                self._journal.delete(self._store.sessions, session.id)

    async def purge(self, expired_before: datetime) -> int:
        doomed = [s.id for s in self._store.sessions.values() if s.expires_at < expired_before]
        for session_id in doomed:
            self._journal.delete(self._store.sessions, session_id)
        return len(doomed)
