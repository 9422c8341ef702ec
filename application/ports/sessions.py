"""Sessions port: the logins of an account, one per refresh-token family.

A session row is where a login's lifecycle is decided. Refreshing moves it on with a
conditional UPDATE and ending it is a conditional UPDATE of the same row, so of a
refresh and a revocation racing one waits for the other: a revoked login can never be
refreshed again, whatever the order the two arrive in. Every writer takes the session
row before the refresh tokens of its family.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.sessions import LoginSession


class SessionRepository(Protocol):
    async def add(self, session: LoginSession) -> LoginSession:
        """Store a new login and return it with its id."""
        ...

    async def touch(
        self,
        family_id: str,
        at: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
    ) -> int | None:
        """Record a use (a refresh) of a live login, in one conditional statement that
        locks it until the transaction ends; its id, or None if it was ended."""
        ...

    async def list_active(self, user_id: int, now: datetime) -> list[LoginSession]:
        """The user's logins neither ended nor expired, newest first."""
        ...

    async def end(self, user_id: int, session_id: int, at: datetime) -> str | None:
        """End one of the user's live logins; its family id, or None if the user has no
        such live login (someone else's session included)."""
        ...

    async def end_family(self, family_id: str, at: datetime) -> None:
        """End the login of a refresh-token family (a logout, a reused token)."""
        ...

    async def end_all_for_user(self, user_id: int, at: datetime) -> None:
        """End every login of the user."""
        ...

    async def delete_all_for_user(self, user_id: int) -> None:
        """Forget every login of the user, with the addresses and agents it recorded."""
        ...

    async def purge(self, expired_before: datetime) -> int:
        """Delete logins that expired before the given time; return how many."""
        ...
