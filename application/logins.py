"""A login's tokens: issuing them, refreshing (rotating) them, and logging out.

A login starts a session (a family of refresh tokens); each refresh continues it with
a new refresh token, the spent one kept to detect reuse. Session rows are written
first, then refresh tokens, by every writer (see ``ports.sessions``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from application.ports.accounts import TokenService
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from application.sessions import ClientInfo, end_login
from domain.errors import InvalidCredentials, RefreshTokenReused
from domain.ids import NEW_ID
from domain.sessions import LoginSession, RefreshToken, session_address, session_user_agent
from domain.users import User

REFRESH_TOKEN_BYTES = 32  # 256 bits of entropy
REFRESH_TOKEN_MAX_LENGTH = 128


def hash_refresh_token(token: str) -> str:
    """Only this digest is stored: a leaked table cannot be replayed as tokens.

    A plain SHA-256 is enough (no salt, no slow hash) because the token itself is
    256 random bits, not a guessable password.
    """
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


class SessionIssuer:
    """Issues an access token with a refresh token of a login (a session family).

    A login starts a family and its session row; each refresh continues it. The refresh
    token is 256 random bits handed to the client once and stored only as a digest.
    """

    def __init__(self, tokens: TokenService, clock: Clock, refresh_ttl: timedelta) -> None:
        self._tokens = tokens
        self._clock = clock
        self._refresh_ttl = refresh_ttl

    def expiry(self, now: datetime) -> datetime:
        """When a refresh token issued ``now`` expires."""
        return now + self._refresh_ttl

    async def start(self, uow: UnitOfWork, user: User, client: ClientInfo) -> TokenPair:
        """Open a new login in ``uow``'s transaction; the caller commits.

        The account's row is locked first and must still be as the password check saw
        it: a login racing an erasure, a deactivation or a new password either finishes
        before it (and its session is ended with the others) or is refused.
        """
        current = await uow.users.get_for_update(user.id)
        if current is None or not current.is_active or current.token_version != user.token_version:
            raise InvalidCredentials("Incorrect e-mail or password")
        now = self._clock.now()
        session = await uow.sessions.add(
            LoginSession(
                id=NEW_ID,
                family_id=secrets.token_hex(16),
                user_id=user.id,
                created_at=now,
                last_used_at=now,
                expires_at=self.expiry(now),
                user_agent=session_user_agent(client.user_agent),
                ip=session_address(client.address),
            )
        )
        return await self.issue(uow, current, session.family_id, session.id, now)

    async def issue(
        self, uow: UnitOfWork, user: User, family_id: str, session_id: int, now: datetime
    ) -> TokenPair:
        """Store the family's next refresh token in ``uow``'s transaction."""
        secret = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        await uow.refresh_tokens.add(
            RefreshToken(
                token_hash=hash_refresh_token(secret),
                family_id=family_id,
                user_id=user.id,
                issued_at=now,
                expires_at=self.expiry(now),
                token_version=user.token_version,
            )
        )
        access = self._tokens.issue_access_token(user, session_id)
        return TokenPair(
            access_token=access.token, refresh_token=secret, expires_in=access.expires_in
        )


@dataclass(frozen=True, slots=True)
class RefreshCommand:
    refresh_token: str
    client_address: str | None = None
    user_agent: str | None = None


class RefreshSession:
    """Spend a refresh token for a new pair; a spent token presented again revokes its family.

    Reuse means the token was copied: the legitimate client and an attacker now
    share a family, so every descendant of that login stops working (RFC 9700).
    """

    def __init__(self, uow: UnitOfWorkFactory, sessions: SessionIssuer, clock: Clock) -> None:
        self._uow = uow
        self._sessions = sessions
        self._clock = clock

    async def execute(self, command: RefreshCommand) -> TokenPair:
        invalid = InvalidCredentials("Invalid or expired refresh token")
        if not command.refresh_token or len(command.refresh_token) > REFRESH_TOKEN_MAX_LENGTH:
            raise invalid
        token_hash = hash_refresh_token(command.refresh_token)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get(token_hash)
            if stored is None or stored.is_expired(now):
                raise invalid
            if stored.is_spent():
                await self._reused(uow, stored, now)
            # The session row first (locked until commit): an ended login is refused here,
            # and an ending that races this refresh waits for it, then ends its new token.
            session_id = await uow.sessions.touch(
                stored.family_id,
                now,
                self._sessions.expiry(now),
                session_address(command.client_address),
                session_user_agent(command.user_agent),
            )
            if session_id is None:
                raise invalid
            # The conditional update decides between concurrent refreshes, not the read.
            if not await uow.refresh_tokens.spend(token_hash, now):
                await self._reused(uow, stored, now)
            user = await uow.users.get(stored.user_id)
            # A token issued before a bump of the token version (new password,
            # deactivation, change of rank, logout everywhere) never works again, even
            # if it escaped the revocation by being issued while that change committed.
            if user is None or not user.is_active or stored.outlived_by(user.token_version):
                raise invalid
            pair = await self._sessions.issue(uow, user, stored.family_id, session_id, now)
            await uow.commit()
        return pair

    @staticmethod
    async def _reused(uow: UnitOfWork, stored: RefreshToken, now: datetime) -> NoReturn:
        await end_login(uow, stored.family_id, now)
        await uow.commit()
        raise RefreshTokenReused(
            "Refresh token already used; the session is revoked", stored.user_id
        )


@dataclass(frozen=True, slots=True)
class LogOutCommand:
    user_id: int
    refresh_token: str


class LogOut:
    """End the login the refresh token belongs to; unknown tokens are ignored (idempotent)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: LogOutCommand) -> None:
        if not command.refresh_token or len(command.refresh_token) > REFRESH_TOKEN_MAX_LENGTH:
            return
        async with self._uow() as uow:
            stored = await uow.refresh_tokens.get(hash_refresh_token(command.refresh_token))
            # Someone else's token is left alone: logging out must not become a way to
            # end other people's sessions.
            if stored is not None and stored.user_id == command.user_id:
                await end_login(uow, stored.family_id, self._clock.now())
                await uow.commit()


class PurgeRefreshTokens:
    """Delete refresh tokens that have expired (spent ones are kept until then)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow() as uow:
            now = self._clock.now()
            purged = await uow.refresh_tokens.purge(now)
            await uow.sessions.purge(now)
            await uow.commit()
        return purged
