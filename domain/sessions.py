"""Refresh-token sessions: one family per login, one live token per family."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class RefreshToken:
    """A stored refresh token; only the hash of the secret is ever kept."""

    token_hash: str
    family_id: str
    user_id: int
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    # The user's token version when issued: a later bump (new password, deactivation,
    # change of rank, logout everywhere) makes the token useless, whatever else happens.
    token_version: int = 0

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def is_spent(self) -> bool:
        """Used (rotated) or revoked: presenting it again means it was stolen."""
        return self.used_at is not None or self.revoked_at is not None

    def is_usable(self, now: datetime) -> bool:
        return not self.is_spent() and not self.is_expired(now)

    def outlived_by(self, token_version: int) -> bool:
        """The user's tokens were ended (new password, deactivation, change of rank,
        logout everywhere) after this one was issued: it never works again."""
        return token_version != self.token_version


USER_AGENT_MAX_LENGTH = 512
CLIENT_ADDRESS_MAX_LENGTH = 64


def _printable(text: str | None, limit: int) -> str | None:
    """Control characters (NUL among them) dropped, cut to ``limit``; None when empty.

    What a client sends in a header is shown back to the account's owner and stored on
    every database, so it is kept to what both can hold and a screen can show.
    """
    if text is None:
        return None
    kept = "".join(char for char in text if char.isprintable())[:limit].strip()
    return kept or None


def session_user_agent(raw: str | None) -> str | None:
    return _printable(raw, USER_AGENT_MAX_LENGTH)


def session_address(raw: str | None) -> str | None:
    return _printable(raw, CLIENT_ADDRESS_MAX_LENGTH)


@dataclass(slots=True)
class LoginSession:
    """One login (a refresh-token family), as its owner sees it in the list of sessions."""

    id: int
    family_id: str
    user_id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    """When its live refresh token expires; each refresh moves it on."""
    user_agent: str | None = None
    ip: str | None = None
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
