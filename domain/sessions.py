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
