"""The logins of an account: where each came from, listing them, and ending them.

A login (one refresh-token family) is recorded with the client's user agent and
address when it starts; each refresh records when it was last used. Nothing is written
on ordinary authenticated requests. Ending a login ends its session row first, then
its refresh tokens: every writer takes them in that order (see ``ports.sessions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.ports.accounts import TokenService
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from domain.errors import InvalidCredentials, NotFound
from domain.sessions import LoginSession


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request comes from, as the edge saw it (unchecked, untrimmed)."""

    address: str | None = None
    user_agent: str | None = None


async def end_login(uow: UnitOfWork, family_id: str, at: datetime) -> None:
    """End one login: its session, then every refresh token of its family."""
    await uow.sessions.end_family(family_id, at)
    await uow.refresh_tokens.revoke_family(family_id, at)


async def end_all_logins(uow: UnitOfWork, user_id: int, at: datetime) -> None:
    """End every login of the account: the sessions, then their refresh tokens."""
    await uow.sessions.end_all_for_user(user_id, at)
    await uow.refresh_tokens.revoke_all_for_user(user_id, at)


@dataclass(frozen=True, slots=True)
class ListedSession:
    session: LoginSession
    current: bool
    """The login the caller's access token was issued for."""


class ListSessions:
    """The caller's active logins, newest first, the one they are using marked."""

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, user_id: int, access_token: str) -> list[ListedSession]:
        try:
            current = self._tokens.read_access_token(access_token).session_id
        except InvalidCredentials:
            current = None
        async with self._uow() as uow:
            found = await uow.sessions.list_active(user_id, self._clock.now())
        return [ListedSession(session=s, current=s.id == current) for s in found]


class EndSession:
    """End one of the caller's logins: its refresh token stops working at once.

    Someone else's session, an ended or an expired one, is "not found". Access tokens
    already issued for it live out their short lifetime; ``logout-all`` ends those too.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, user_id: int, session_id: int) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            family_id = await uow.sessions.end(user_id, session_id, now)
            if family_id is None:
                raise NotFound(f"Session {session_id} not found")
            await uow.refresh_tokens.revoke_family(family_id, now)
            await uow.commit()
