"""SQL repositories of the accounts context: users and refresh-token families.

Statements are built once at import time with named bind parameters, so the hot
paths pay neither for building nor for compiling SQL.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.columns import UtcDateTime
from adapters.sql.database import HotStatement, Transaction
from adapters.sql.failures import is_unique_violation
from adapters.sql.partial_updates import change_parameters
from adapters.sql.rows import (
    REFRESH_TOKEN_COLUMNS,
    USER_COLUMNS,
    refresh_token_from_row,
    user_from_row,
    user_values,
)
from adapters.sql.tables import refresh_tokens, users
from application.pagination import PageRequest, Slice
from application.ports.accounts import UserChanges
from domain.errors import Conflict, PreconditionFailed
from domain.sessions import RefreshToken
from domain.users import User

EMAIL_TAKEN = "E-mail already registered"


# ON CONFLICT DO NOTHING turns a taken e-mail into "no row returned" instead of an error,
# which on PostgreSQL would abort the whole transaction.
_INSERT_USER = {
    True: postgresql.insert(users).on_conflict_do_nothing().returning(users.c.id),
    False: sqlite.insert(users).on_conflict_do_nothing().returning(users.c.id),
}


_SELECT_USER = sa.select(*USER_COLUMNS).where(users.c.id == sa.bindparam("id"))
# Every authenticated request reads its user: on the driver on PostgreSQL (ADR 0013).
_GET_USER = HotStatement(_SELECT_USER)


_SELECT_USER_BY_EMAIL = sa.select(*USER_COLUMNS).where(
    sa.func.lower(users.c.email) == sa.func.lower(sa.bindparam("email", type_=sa.String))
)


# FOR NO KEY UPDATE: writers of the row still queue behind it, but the key-share locks
# that inserts of rows referencing the user take (a refresh storing its next token) do
# not. With FOR UPDATE, a refresh waiting here while holding its session row, and this
# transaction then ending that session, would deadlock.
_SELECT_USER_FOR_UPDATE = _SELECT_USER.with_for_update(key_share=True)


_SELECT_USER_VERSION = sa.select(users.c.version).where(users.c.id == sa.bindparam("id"))


# Locked in id order: two transactions taking the same locks cannot deadlock on them.
_LOCK_ACTIVE_SUPERUSERS = (
    sa.select(users.c.id)
    .where(users.c.is_active.is_(True), users.c.is_superuser.is_(True))
    .order_by(users.c.id)
    .with_for_update(key_share=True)
)


_USER_CHANGE_FIELDS = (
    "email",
    "hashed_password",
    "full_name",
    "is_active",
    "is_superuser",
    "is_verified",
)


@functools.cache
def _change_user(fields: tuple[str, ...], end_sessions: bool, conditional: bool) -> sa.Update:
    """``UPDATE users SET <fields>, version = version + 1 ... RETURNING`` the row.

    Only the named columns are written, so a concurrent write to any other column
    (a demotion while the user renames themself) is never undone.
    """
    values: dict[str, Any] = {name: sa.bindparam(name, type_=users.c[name].type) for name in fields}
    values["updated_at"] = sa.bindparam("at", type_=UtcDateTime)
    values["version"] = users.c.version + 1
    if end_sessions:
        values["token_version"] = users.c.token_version + 1
    statement = sa.update(users).where(users.c.id == sa.bindparam("user_id"))
    if conditional:
        statement = statement.where(users.c.version == sa.bindparam("expected_version"))
    return statement.values(values).returning(*USER_COLUMNS)


_USER_TOTAL = sa.select(sa.func.count()).select_from(users).scalar_subquery().label("total_count")


_USER_PAGE = (
    sa.select(*USER_COLUMNS, _USER_TOTAL)
    .order_by(users.c.id)
    .limit(sa.bindparam("limit"))
    .offset(sa.bindparam("offset"))
)


_USER_PAGE_AFTER = _USER_PAGE.where(users.c.id > sa.bindparam("after_id"))


_COUNT_USERS = sa.select(sa.func.count()).select_from(users)


class SqlUserRepository:
    """Users in SQL; e-mails are unique whatever their case (a unique index on lower(email))."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, user: User) -> User:
        result = await self._tx.execute(_INSERT_USER[self._tx.is_postgresql], user_values(user))
        user_id = result.scalar()
        if user_id is None:
            raise Conflict(EMAIL_TAKEN)
        return _with_id(user, user_id)

    async def get(self, user_id: int) -> User | None:
        rows = await self._tx.rows(_GET_USER, {"id": user_id})
        return user_from_row(rows[0]) if rows else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._tx.execute(_SELECT_USER_BY_EMAIL, {"email": email})).first()
        return user_from_row(row) if row is not None else None

    async def get_for_update(self, user_id: int) -> User | None:
        row = (await self._tx.execute(_SELECT_USER_FOR_UPDATE, {"id": user_id})).first()
        return user_from_row(row) if row is not None else None

    async def lock_active_superusers(self) -> list[int]:
        return list((await self._tx.execute(_LOCK_ACTIVE_SUPERUSERS)).scalars())

    async def change(
        self,
        user_id: int,
        changes: UserChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> User | None:
        params, fields = change_parameters(
            changes, _USER_CHANGE_FIELDS, {"user_id": user_id, "at": at}, expected_version
        )
        conditional = expected_version is not None
        statement = _change_user(fields, changes.end_sessions, conditional)
        try:
            row = (await self._tx.execute(statement, params)).first()
        except sa_exc.IntegrityError as exc:
            if is_unique_violation(exc):
                raise Conflict(EMAIL_TAKEN) from None
            raise
        if row is not None:
            return user_from_row(row)
        if conditional and (await self._tx.execute(_SELECT_USER_VERSION, {"id": user_id})).first():
            raise PreconditionFailed(f"User {user_id} has changed since version {expected_version}")
        return None

    async def list_page(self, page: PageRequest) -> Slice[User]:
        if page.after is not None:
            statement = _USER_PAGE_AFTER
            params: dict[str, Any] = {"limit": page.limit + 1, "offset": 0}
            params["after_id"] = page.after.id
        else:
            statement = _USER_PAGE
            params = {"limit": page.limit + 1, "offset": page.skip}
        rows = (await self._tx.execute(statement, params)).all()
        if rows:
            total = rows[0].total_count
        elif page.after is None and page.skip == 0:
            total = 0
        else:
            total = (await self._tx.execute(_COUNT_USERS)).scalar_one()
        return Slice(
            items=[user_from_row(row) for row in rows[: page.limit]],
            total=total,
            has_more=len(rows) > page.limit,
        )


def _with_id(user: User, user_id: int) -> User:
    return User(id=user_id, **user_values(user))


_INSERT_REFRESH_TOKEN = sa.insert(refresh_tokens)


_SELECT_REFRESH_TOKEN = sa.select(*REFRESH_TOKEN_COLUMNS).where(
    refresh_tokens.c.token_hash == sa.bindparam("token_hash")
)


_AT = sa.bindparam("at", type_=UtcDateTime)


_SPEND_REFRESH_TOKEN = (
    sa.update(refresh_tokens)
    .where(
        refresh_tokens.c.token_hash == sa.bindparam("hash"),
        refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.revoked_at.is_(None),
        refresh_tokens.c.expires_at > _AT,
    )
    .values(used_at=_AT)
)


_REVOKE_USER_FAMILIES = (
    sa.update(refresh_tokens)
    .where(
        refresh_tokens.c.user_id == sa.bindparam("owner"),
        refresh_tokens.c.revoked_at.is_(None),
    )
    .values(revoked_at=_AT)
)


_REVOKE_FAMILY = (
    sa.update(refresh_tokens)
    .where(
        refresh_tokens.c.family_id == sa.bindparam("family"),
        refresh_tokens.c.revoked_at.is_(None),
    )
    .values(revoked_at=_AT)
)


# Spent and revoked tokens stay until they expire: presenting a spent one again is how
# a stolen token is detected and its family revoked.
_PURGE_REFRESH_TOKENS = sa.delete(refresh_tokens).where(refresh_tokens.c.expires_at < _AT)
_DELETE_USER_TOKENS = sa.delete(refresh_tokens).where(
    refresh_tokens.c.user_id == sa.bindparam("owner")
)


class SqlRefreshTokenRepository:
    """Refresh tokens in SQL; spending is one conditional UPDATE, so only one caller wins."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, token: RefreshToken) -> None:
        try:
            await self._tx.execute(
                _INSERT_REFRESH_TOKEN,
                {
                    "token_hash": token.token_hash,
                    "family_id": token.family_id,
                    "user_id": token.user_id,
                    "issued_at": token.issued_at,
                    "expires_at": token.expires_at,
                    "used_at": token.used_at,
                    "revoked_at": token.revoked_at,
                    "token_version": token.token_version,
                },
            )
        except sa_exc.IntegrityError as exc:
            if is_unique_violation(exc):
                raise Conflict("Refresh token already stored") from None
            raise

    async def get(self, token_hash: str) -> RefreshToken | None:
        result = await self._tx.execute(_SELECT_REFRESH_TOKEN, {"token_hash": token_hash})
        row = result.first()
        return refresh_token_from_row(row) if row is not None else None

    async def spend(self, token_hash: str, at: datetime) -> bool:
        result = await self._tx.execute(_SPEND_REFRESH_TOKEN, {"hash": token_hash, "at": at})
        return result.rowcount == 1

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        await self._tx.execute(_REVOKE_FAMILY, {"family": family_id, "at": at})

    async def revoke_all_for_user(self, user_id: int, at: datetime) -> None:
        await self._tx.execute(_REVOKE_USER_FAMILIES, {"owner": user_id, "at": at})

    async def delete_all_for_user(self, user_id: int) -> None:
        await self._tx.execute(_DELETE_USER_TOKENS, {"owner": user_id})

    async def purge(self, expired_before: datetime) -> int:
        result = await self._tx.execute(_PURGE_REFRESH_TOKENS, {"at": expired_before})
        return result.rowcount
