"""E-mail tokens in an :class:`InMemoryStore`, with the SQL adapter's rules."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime

from adapters.memory.store import InMemoryStore, Journal
from domain.email_tokens import EmailToken


class InMemoryEmailTokenRepository:
    """Implements ``EmailTokenRepository`` on the store's ``email_tokens`` (by digest)."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def _siblings(self, token: EmailToken) -> list[EmailToken]:
        return [
            other
            for other in self._store.email_tokens.values()
            if other.user_id == token.user_id
            and other.purpose is token.purpose
            and other.token_hash != token.token_hash
        ]

    async def add(self, token: EmailToken) -> None:
        if token.purpose.newest_only:
            for older in self._siblings(token):
                if older.used_at is None:
                    self._journal.delete(self._store.email_tokens, older.token_hash)
        self._journal.put(self._store.email_tokens, token.token_hash, copy.copy(token))

    async def get(self, token_hash: str) -> EmailToken | None:
        token = self._store.email_tokens.get(token_hash)
        return copy.copy(token) if token is not None else None

    async def spend(self, token_hash: str, at: datetime) -> bool:
        token = self._store.email_tokens.get(token_hash)
        if token is None or not token.is_usable(at):
            return False
        if token.purpose.newest_only and any(
            other.issued_at > token.issued_at for other in self._siblings(token)
        ):
            return False
        spent = dataclasses.replace(token, used_at=at)
        self._journal.put(self._store.email_tokens, token_hash, spent)
        return True

    async def delete_all_for_user(self, user_id: int) -> None:
        for token in list(self._store.email_tokens.values()):
            if token.user_id == user_id:
                self._journal.delete(self._store.email_tokens, token.token_hash)

    async def purge(self, expired_before: datetime) -> int:
        doomed = [
            token.token_hash
            for token in self._store.email_tokens.values()
            if token.expires_at < expired_before
        ]
        for token_hash in doomed:
            self._journal.delete(self._store.email_tokens, token_hash)
        return len(doomed)
