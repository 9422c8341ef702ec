"""HTTP schemas of an account's sessions (its logins)."""

from __future__ import annotations

import msgspec

from application.sessions import ListedSession
from entrypoints.http.schemas.common import Timestamp, utc


class SessionResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created_at: Timestamp
    last_used_at: Timestamp
    """When it was last refreshed (its login, if never)."""
    expires_at: Timestamp
    """When its refresh token expires unless refreshed."""
    user_agent: str | None
    ip: str | None
    """The client's address (the real one behind trusted proxies) when last used."""
    current: bool
    """The session the bearer token of this request belongs to."""


def session_response(listed: ListedSession) -> SessionResponse:
    session = listed.session
    return SessionResponse(
        id=session.id,
        created_at=utc(session.created_at),
        last_used_at=utc(session.last_used_at),
        expires_at=utc(session.expires_at),
        user_agent=session.user_agent,
        ip=session.ip,
        current=listed.current,
    )
