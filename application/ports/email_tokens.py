"""Accounts ports, e-mail tokens: the stored digests of verification and reset links."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.email_tokens import EmailToken


class EmailTokenRepository(Protocol):
    """One-time tokens, kept only as digests (``EmailToken.token_hash``)."""

    async def add(self, token: EmailToken) -> None:
        """Store a new token. For a purpose that is newest-only (password reset), the
        user's earlier tokens of that purpose stop working in the same transaction."""
        ...

    async def get(self, token_hash: str) -> EmailToken | None: ...

    async def spend(self, token_hash: str, at: datetime) -> bool:
        """Mark the token used, atomically, if it is unused, unexpired at ``at`` and (for a
        newest-only purpose) still its user's newest: of two concurrent calls one wins."""
        ...

    async def delete_all_for_user(self, user_id: int) -> None:
        """Forget every token of the user, with the addresses they were sent to (erasure)."""
        ...

    async def purge(self, expired_before: datetime) -> int:
        """Delete tokens that expired before the given time; return how many."""
        ...
