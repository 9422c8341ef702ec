"""Accounts and sessions: registering, logging in, refreshing and logging out."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports.accounts import (
    Admission,
    LoginThrottle,
    PasswordHasher,
    TokenService,
    UserChanges,
)
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from domain.errors import (
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RefreshTokenReused,
    TooManyAttempts,
)
from domain.events import UserRegistered
from domain.ids import NEW_ID
from domain.sessions import RefreshToken
from domain.users import (
    User,
    check_full_name,
    check_password_rules,
    fold_email,
    normalise_email,
)

REFRESH_TOKEN_BYTES = 32  # 256 bits of entropy
REFRESH_TOKEN_MAX_LENGTH = 128


def hash_refresh_token(token: str) -> str:
    """Only this digest is stored: a leaked table cannot be replayed as tokens.

    A plain SHA-256 is enough (no salt, no slow hash) because the token itself is
    256 random bits, not a guessable password.
    """
    return hashlib.sha256(token.encode()).hexdigest()


async def save_user_changes(
    uow: UnitOfWork,
    user_id: int,
    changes: UserChanges,
    at: datetime,
    expected_version: int | None = None,
) -> User:
    """Write ``changes`` in ``uow``'s transaction; the caller commits.

    When they end the account's sessions, every refresh-token family goes in the same
    transaction as the token-version bump: the change and its consequences are one.
    """
    user = await uow.users.change(user_id, changes, at, expected_version)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    if changes.end_sessions:
        await uow.refresh_tokens.revoke_all_for_user(user_id, at)
    return user


def email_key(email: str) -> str:
    """The throttle key of the password attempts on an account (logins, current_password)."""
    return f"email:{email}"


async def admit(throttle: LoginThrottle, keys: list[str], refusal: str) -> Admission:
    """Count a password attempt, or refuse it with ``TooManyAttempts``."""
    admission = await throttle.admit(keys)
    if admission.retry_after is not None:
        raise TooManyAttempts(refusal, admission.retry_after)
    return admission


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class RegisterCommand:
    email: str
    password: str
    full_name: str | None = None


class RegisterUser:
    """Create an account; a taken e-mail (compared case-insensitively) is a conflict."""

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    async def execute(self, command: RegisterCommand) -> User:
        email = normalise_email(command.email)
        check_password_rules(command.password)
        full_name = check_full_name(command.full_name)
        hashed = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.add(
                User(
                    id=NEW_ID,
                    email=email,
                    hashed_password=hashed,
                    full_name=full_name,
                    is_active=True,
                    is_superuser=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.record(UserRegistered(user_id=user.id, email=user.email, full_name=full_name))
            await uow.commit()
        return user


class SessionIssuer:
    """Issues an access token with a refresh token of a session family.

    A login starts a family; each refresh continues it. The refresh token is 256
    random bits handed to the client once and stored only as a digest.
    """

    def __init__(self, tokens: TokenService, clock: Clock, refresh_ttl: timedelta) -> None:
        self._tokens = tokens
        self._clock = clock
        self._refresh_ttl = refresh_ttl

    async def issue(self, uow: UnitOfWork, user: User, family_id: str | None = None) -> TokenPair:
        """Store the new refresh token in ``uow``'s transaction; the caller commits."""
        now = self._clock.now()
        secret = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        await uow.refresh_tokens.add(
            RefreshToken(
                token_hash=hash_refresh_token(secret),
                family_id=family_id or secrets.token_hex(16),
                user_id=user.id,
                issued_at=now,
                expires_at=now + self._refresh_ttl,
                token_version=user.token_version,
            )
        )
        access = self._tokens.issue_access_token(user)
        return TokenPair(
            access_token=access.token, refresh_token=secret, expires_in=access.expires_in
        )


@dataclass(frozen=True, slots=True)
class LogInCommand:
    email: str
    password: str
    client_address: str | None = None


class LogIn:
    """Check an e-mail and password and open a session.

    Wrong e-mail and wrong password fail alike, in about the same time; repeated
    failures per e-mail and per client address are throttled.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        sessions: SessionIssuer,
        throttle: LoginThrottle,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sessions = sessions
        self._throttle = throttle
        self._clock = clock

    async def execute(self, command: LogInCommand) -> TokenPair:
        email = fold_email(command.email)
        keys = [email_key(email)]
        if command.client_address:
            keys.append(f"client:{command.client_address}")
        admission = await admit(self._throttle, keys, "Too many failed logins; try again later")
        try:
            # No transaction is held while the password is hashed: that takes tens of ms.
            async with self._uow() as uow:
                user = await uow.users.get_by_email(email)
            if user is None:
                await self._hasher.verify_dummy(command.password)
                check = None
            else:
                check = await self._hasher.verify(command.password, user.hashed_password)
        except BaseException:
            # Not a wrong password (the database is down...): not a failure either.
            await self._throttle.clear(admission)
            raise
        if user is None or check is None or not check.valid:
            raise InvalidCredentials("Incorrect e-mail or password")
        await self._throttle.clear(admission)
        if not user.is_active:
            raise PermissionDenied("This account is inactive")

        await self._throttle.reset(keys[0])
        async with self._uow() as uow:
            if check.new_hash is not None:
                await self._upgrade_hash(uow, user, check.new_hash)
            pair = await self._sessions.issue(uow, user)
            await uow.commit()
        return pair

    async def _upgrade_hash(self, uow: UnitOfWork, user: User, new_hash: str) -> None:
        """Parameters were raised since this hash was made: upgrade it now that we hold
        the plain password, unless the account changed meanwhile (a new password must
        not be overwritten by a rehash of the old one)."""
        with contextlib.suppress(PreconditionFailed):
            await uow.users.change(
                user.id,
                UserChanges(hashed_password=new_hash),
                self._clock.now(),
                expected_version=user.version,
            )


@dataclass(frozen=True, slots=True)
class RefreshCommand:
    refresh_token: str


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
            # The conditional update decides between concurrent refreshes, not the read.
            if stored.is_spent() or not (await uow.refresh_tokens.spend(token_hash, now)):
                await uow.refresh_tokens.revoke_family(stored.family_id, now)
                await uow.commit()
                raise RefreshTokenReused(
                    "Refresh token already used; the session is revoked", stored.user_id
                )
            user = await uow.users.get(stored.user_id)
            # A token issued before a bump of the token version (new password,
            # deactivation, change of rank, logout everywhere) never works again, even
            # if it escaped the revocation by being issued while that change committed.
            if user is None or not user.is_active or stored.outlived_by(user.token_version):
                raise invalid
            pair = await self._sessions.issue(uow, user, stored.family_id)
            await uow.commit()
        return pair


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
                await uow.refresh_tokens.revoke_family(stored.family_id, self._clock.now())
                await uow.commit()


class LogOutEverywhere:
    """End every session of the account: all its refresh tokens, and (by a new token
    version) every access token issued before now."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, user_id: int) -> None:
        async with self._uow() as uow:
            changes = UserChanges(end_sessions=True)
            await save_user_changes(uow, user_id, changes, self._clock.now())
            await uow.commit()


class Authenticate:
    """Turn an access token into the user it was issued to, if that still holds."""

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService) -> None:
        self._uow = uow
        self._tokens = tokens

    async def execute(self, access_token: str) -> User:
        claims = self._tokens.read_access_token(access_token)
        async with self._uow() as uow:
            user = await uow.users.get(claims.user_id)
        # A bumped version (deactivation, new password, promotion) revokes old tokens.
        if user is None or user.token_version != claims.token_version or not user.is_active:
            raise InvalidCredentials("Invalid or expired access token")
        return user


class PurgeRefreshTokens:
    """Delete refresh tokens that have expired (spent ones are kept until then)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow() as uow:
            purged = await uow.refresh_tokens.purge(self._clock.now())
            await uow.commit()
        return purged
