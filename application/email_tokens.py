"""What the e-mail link use cases share: reading a presented token, and the purge."""

from __future__ import annotations

from datetime import datetime

from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from domain.email_tokens import (
    EMAIL_TOKEN_MAX_LENGTH,
    EmailToken,
    TokenPurpose,
    hash_email_token,
    is_well_formed,
)
from domain.errors import InvalidToken

INVALID_LINK = "This link is invalid, has expired or was already used"


def presented_hash(token: str) -> str:
    """The digest to look a presented token up by; a token that cannot be one of ours
    is refused before anything is hashed or read."""
    if len(token) > EMAIL_TOKEN_MAX_LENGTH or not is_well_formed(token):
        raise InvalidToken(INVALID_LINK)
    return hash_email_token(token)


async def usable_token(
    uow: UnitOfWork, token_hash: str, purpose: TokenPurpose, now: datetime
) -> EmailToken:
    """The stored token, if it is of ``purpose``, unused and unexpired; else ``InvalidToken``.

    Every failure reads the same, so a caller learns nothing about which it was.
    Spending it (``uow.email_tokens.spend``) decides between concurrent uses.
    """
    stored = await uow.email_tokens.get(token_hash)
    if stored is None or not stored.matches(token_hash, purpose) or not stored.is_usable(now):
        raise InvalidToken(INVALID_LINK)
    return stored


class PurgeEmailTokens:
    """Delete e-mail tokens that have expired (used ones included)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow() as uow:
            purged = await uow.email_tokens.purge(self._clock.now())
            await uow.commit()
        return purged
