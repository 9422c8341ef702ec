"""In-memory twins of the accounts repositories: users and refresh-token families."""

from __future__ import annotations

import copy
from datetime import datetime

from adapters.memory.store import (
    InMemoryStore,
    Journal,
    apply_changes,
    ascii_lower,
    check_version,
    cut_page,
)
from application.changes import UNSET
from application.pagination import PageRequest, Slice
from application.ports.accounts import UserChanges
from domain.errors import Conflict
from domain.sessions import RefreshToken
from domain.users import User

_USER_CHANGE_FIELDS = (
    "email",
    "hashed_password",
    "full_name",
    "is_active",
    "is_superuser",
    "is_verified",
)


class InMemoryUserRepository:
    """Users in an :class:`InMemoryStore`; e-mails unique regardless of case."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def _check_email_free(self, email: str | None, user_id: int) -> None:
        if email is None:
            return  # erased accounts have none, any number of them
        wanted = ascii_lower(email)
        for other in self._store.users.values():
            if (
                other.id != user_id
                and other.email is not None
                and ascii_lower(other.email) == wanted
            ):
                raise Conflict("E-mail already registered")

    async def add(self, user: User) -> User:
        self._check_email_free(user.email, user_id=0)
        stored = copy.copy(user)
        stored.id = next(self._store.user_ids)
        self._journal.put(self._store.users, stored.id, stored)
        return copy.copy(stored)

    async def get(self, user_id: int) -> User | None:
        user = self._store.users.get(user_id)
        return copy.copy(user) if user is not None else None

    async def get_by_email(self, email: str) -> User | None:
        wanted = ascii_lower(email)
        for user in self._store.users.values():
            if user.email is not None and ascii_lower(user.email) == wanted:
                return copy.copy(user)
        return None

    async def get_for_update(self, user_id: int) -> User | None:
        # Units of work on the store are serialised: every read is as good as locked.
        return await self.get(user_id)

    async def lock_active_superusers(self) -> list[int]:
        return sorted(
            user.id for user in self._store.users.values() if user.is_active and user.is_superuser
        )

    async def change(
        self,
        user_id: int,
        changes: UserChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> User | None:
        current = self._store.users.get(user_id)
        if current is None:
            return None
        check_version("User", current, expected_version)
        if changes.email is not UNSET:
            self._check_email_free(changes.email, user_id)
        stored = copy.copy(current)
        apply_changes(stored, changes, _USER_CHANGE_FIELDS)
        if changes.end_sessions:
            stored.token_version += 1
        stored.version += 1
        stored.updated_at = at
        self._journal.put(self._store.users, user_id, stored)
        return copy.copy(stored)

    async def list_page(self, page: PageRequest) -> Slice[User]:
        rows = sorted(self._store.users.values(), key=lambda user: user.id)
        after = page.after
        found = cut_page(rows, page, (lambda user: user.id > after.id) if after else None)
        return Slice([copy.copy(u) for u in found.items], found.total, found.has_more)


class InMemoryRefreshTokenRepository:
    """Refresh tokens in an :class:`InMemoryStore`, keyed by their hash."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    async def add(self, token: RefreshToken) -> None:
        if token.token_hash in self._store.refresh_tokens:
            raise Conflict("Refresh token already stored")
        self._journal.put(self._store.refresh_tokens, token.token_hash, copy.copy(token))

    async def get(self, token_hash: str) -> RefreshToken | None:
        token = self._store.refresh_tokens.get(token_hash)
        return copy.copy(token) if token is not None else None

    async def spend(self, token_hash: str, at: datetime) -> bool:
        token = self._store.refresh_tokens.get(token_hash)
        if token is None or not token.is_usable(at):
            return False
        spent = copy.copy(token)
        spent.used_at = at
        self._journal.put(self._store.refresh_tokens, token_hash, spent)
        return True

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        for token in list(self._store.refresh_tokens.values()):
            if token.family_id == family_id and token.revoked_at is None:
                revoked = copy.copy(token)
                revoked.revoked_at = at
                self._journal.put(self._store.refresh_tokens, token.token_hash, revoked)

    async def revoke_all_for_user(self, user_id: int, at: datetime) -> None:
        for token in list(self._store.refresh_tokens.values()):
            if token.user_id == user_id and token.revoked_at is None:
                revoked = copy.copy(token)
                revoked.revoked_at = at
                self._journal.put(self._store.refresh_tokens, token.token_hash, revoked)

    async def delete_all_for_user(self, user_id: int) -> None:
        for token in list(self._store.refresh_tokens.values()):
            if token.user_id == user_id:
                self._journal.delete(self._store.refresh_tokens, token.token_hash)

    async def purge(self, expired_before: datetime) -> int:
        doomed = [
            token.token_hash
            for token in self._store.refresh_tokens.values()
            if token.expires_at < expired_before
        ]
        for token_hash in doomed:
            self._journal.delete(self._store.refresh_tokens, token_hash)
        return len(doomed)
