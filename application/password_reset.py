"""A forgotten password: asking for a reset link, and setting a new password with it."""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import admit, email_key, save_user_changes
from application.email_tokens import INVALID_LINK, presented_hash, usable_token
from application.ports.accounts import LoginThrottle, PasswordHasher, UserChanges
from application.ports.common import Clock, UnitOfWorkFactory
from domain.email_tokens import TokenPurpose
from domain.errors import InvalidToken
from domain.events import PasswordChanged, PasswordResetRequested
from domain.users import check_password_rules, normalise_email


@dataclass(frozen=True, slots=True)
class ForgotPasswordCommand:
    email: str
    client_address: str | None = None


def reset_throttle_keys(email: str, client_address: str | None) -> list[str]:
    """Its own key kinds: asking for links never locks anybody out of logging in."""
    keys = [f"reset-email:{email}"]
    if client_address:
        keys.append(f"reset-client:{client_address}")
    return keys


class ForgotPassword:
    """Ask for a reset link for an address; the answer never tells whether it has an account.

    The request does the same work either way: it records that a link was asked for,
    and the dispatcher, which looks the account up later, sends one only to an active
    account. No lookup, no password hashing, no branch on the account here, so the
    response time cannot tell the two apart. Every request counts against the per-
    address and per-client limits.
    """

    def __init__(self, uow: UnitOfWorkFactory, throttle: LoginThrottle) -> None:
        self._uow = uow
        self._throttle = throttle

    async def execute(self, command: ForgotPasswordCommand) -> None:
        email = normalise_email(command.email)
        await admit(
            self._throttle,
            reset_throttle_keys(email, command.client_address),
            "Too many password reset requests; try again later",
        )
        async with self._uow() as uow:
            uow.record(PasswordResetRequested(email=email))
            await uow.commit()


@dataclass(frozen=True, slots=True)
class ResetPasswordCommand:
    token: str
    password: str


class ResetPassword:
    """Set a new password with the newest reset link's token, once.

    The new password takes effect, every session of the account ends (refresh tokens
    and, through the token version, access tokens), the address counts as verified
    (the link reached it), the login throttle of the address is cleared, and a notice
    goes to the address.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        throttle: LoginThrottle,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle

    async def execute(self, command: ResetPasswordCommand) -> None:
        check_password_rules(command.password)
        token_hash = presented_hash(command.token)
        async with self._uow() as uow:
            await usable_token(uow, token_hash, TokenPurpose.RESET_PASSWORD, self._clock.now())
        # No transaction is held while the password is hashed: that takes tens of ms.
        new_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await usable_token(uow, token_hash, TokenPurpose.RESET_PASSWORD, now)
            user = await uow.users.get(stored.user_id)
            # A link sent to an address the account no longer has must not open it.
            if user is None or not user.is_active or user.email != stored.email:
                raise InvalidToken(INVALID_LINK)
            if not await uow.email_tokens.spend(token_hash, now):
                raise InvalidToken(INVALID_LINK)
            changes = UserChanges(hashed_password=new_hash, is_verified=True, end_sessions=True)
            user = await save_user_changes(uow, user.id, changes, now)
            uow.record(PasswordChanged(user_id=user.id, email=stored.email))
            await uow.commit()
        await self._throttle.reset(email_key(stored.email))
