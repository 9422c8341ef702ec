"""SQL repository of the accounts context's e-mail tokens (verification, password reset).

Spending is one conditional ``UPDATE``: unused, unexpired and, for a newest-only
purpose, with no newer token of the same user and purpose. Two concurrent spends of
one token cannot both succeed, and a reset link superseded by a newer one fails even
if both were minted at once by two dispatchers (the ``DELETE`` in :meth:`add` cannot
see a sibling that is not committed yet; the ``NOT EXISTS`` at spending time does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql.columns import UtcDateTime
from adapters.sql.database import Transaction
from adapters.sql.tables import email_tokens
from domain.email_tokens import EmailToken, TokenPurpose

_NEWEST_ONLY = tuple(purpose.value for purpose in TokenPurpose if purpose.newest_only)
_AT = sa.bindparam("at", type_=UtcDateTime)
_COLUMNS = (
    email_tokens.c.token_hash,
    email_tokens.c.user_id,
    email_tokens.c.purpose,
    email_tokens.c.email,
    email_tokens.c.issued_at,
    email_tokens.c.expires_at,
    email_tokens.c.used_at,
)

_INSERT = sa.insert(email_tokens)

_SELECT = sa.select(*_COLUMNS).where(email_tokens.c.token_hash == sa.bindparam("token_hash"))

_END_UNUSED_SIBLINGS = sa.delete(email_tokens).where(
    email_tokens.c.user_id == sa.bindparam("owner"),
    email_tokens.c.purpose == sa.bindparam("kind"),
    email_tokens.c.used_at.is_(None),
)

_newer = email_tokens.alias("newer")
_SPEND = (
    sa.update(email_tokens)
    .where(
        email_tokens.c.token_hash == sa.bindparam("digest"),
        email_tokens.c.used_at.is_(None),
        email_tokens.c.expires_at > _AT,
        sa.or_(
            email_tokens.c.purpose.not_in(_NEWEST_ONLY),
            ~sa.exists().where(
                _newer.c.user_id == email_tokens.c.user_id,
                _newer.c.purpose == email_tokens.c.purpose,
                _newer.c.issued_at > email_tokens.c.issued_at,
            ),
        ),
    )
    .values(used_at=_AT)
)

_PURGE = sa.delete(email_tokens).where(email_tokens.c.expires_at < _AT)
_DELETE_USER_TOKENS = sa.delete(email_tokens).where(email_tokens.c.user_id == sa.bindparam("owner"))


def _token_from_row(row: sa.Row[Any]) -> EmailToken:
    token_hash, user_id, purpose, email, issued_at, expires_at, used_at = tuple(row)
    return EmailToken(
        token_hash=token_hash,
        user_id=user_id,
        purpose=TokenPurpose(purpose),
        email=email,
        issued_at=issued_at,
        expires_at=expires_at,
        used_at=used_at,
    )


class SqlEmailTokenRepository:
    """Implements ``EmailTokenRepository`` on the ``email_tokens`` table."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, token: EmailToken) -> None:
        if token.purpose.newest_only:
            await self._tx.execute(
                _END_UNUSED_SIBLINGS, {"owner": token.user_id, "kind": token.purpose.value}
            )
        await self._tx.execute(
            _INSERT,
            {
                "token_hash": token.token_hash,
                "user_id": token.user_id,
                "purpose": token.purpose.value,
                "email": token.email,
                "issued_at": token.issued_at,
                "expires_at": token.expires_at,
                "used_at": token.used_at,
            },
        )

    async def get(self, token_hash: str) -> EmailToken | None:
        row = (await self._tx.execute(_SELECT, {"token_hash": token_hash})).first()
        return _token_from_row(row) if row is not None else None

    async def spend(self, token_hash: str, at: datetime) -> bool:
        result = await self._tx.execute(_SPEND, {"digest": token_hash, "at": at})
        return result.rowcount == 1

    async def delete_all_for_user(self, user_id: int) -> None:
        await self._tx.execute(_DELETE_USER_TOKENS, {"owner": user_id})

    async def purge(self, expired_before: datetime) -> int:
        result = await self._tx.execute(_PURGE, {"at": expired_before})
        return result.rowcount
