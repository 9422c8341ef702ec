"""Accounts: registering, logging in, logging out everywhere, authenticating.

The tokens of a login (issuing, refreshing, logging out) live in ``logins``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from application.logins import (
    SessionIssuer,
    TokenPair,
)
from application.ports.accounts import (
    Admission,
    LoginThrottle,
    PasswordHasher,
    TokenService,
    UserChanges,
)
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from application.sessions import ClientInfo, end_all_logins
from domain.errors import (
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    TooManyAttempts,
)
from domain.events import UserRegistered
from domain.ids import NEW_ID
from domain.users import (
    User,
    check_full_name,
    check_password_rules,
    fold_email,
    normalise_email,
)


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
        await end_all_logins(uow, user_id, at)
    return user


def email_key(email: str) -> str:
    """The throttle key of the password attempts on an account (logins, current_password)."""
    return f"email:{email}"


def password_key(user: User) -> str:
    """The throttle key of the password attempts on ``user``'s account."""
    # An erased account has no e-mail (nor a usable password): it keeps a key of its own.
    return email_key(user.email) if user.email is not None else f"user:{user.id}"


async def admit(throttle: LoginThrottle, keys: list[str], refusal: str) -> Admission:
    """Count a password attempt, or refuse it with ``TooManyAttempts``."""
    admission = await throttle.admit(keys)
    if admission.retry_after is not None:
        raise TooManyAttempts(refusal, admission.retry_after)
    return admission


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
            uow.record(UserRegistered(user_id=user.id, email=email, full_name=full_name))
            await uow.commit()
        return user


@dataclass(frozen=True, slots=True)
class LogInCommand:
    email: str
    password: str
    client_address: str | None = None
    user_agent: str | None = None


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
            client = ClientInfo(address=command.client_address, user_agent=command.user_agent)
            pair = await self._sessions.start(uow, user, client)
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
