"""Proving an e-mail address: following the link, and asking for a new one."""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import admit
from application.email_tokens import INVALID_LINK, presented_hash, usable_token
from application.ports.accounts import LoginThrottle, UserChanges
from application.ports.common import Clock, UnitOfWorkFactory
from domain.email_tokens import TokenPurpose
from domain.errors import Conflict, InvalidToken, NotFound, PreconditionFailed
from domain.events import VerificationRequested
from domain.users import User


@dataclass(frozen=True, slots=True)
class VerifyEmailCommand:
    token: str


class VerifyEmail:
    """Mark the account's address verified with the token of a link sent to it.

    The token proves the address it was sent to and no other: if the account's address
    changed since, the link is refused (the new address has a link of its own).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: VerifyEmailCommand) -> User:
        token_hash = presented_hash(command.token)
        now = self._clock.now()
        async with self._uow() as uow:
            stored = await usable_token(uow, token_hash, TokenPurpose.VERIFY_EMAIL, now)
            user = await uow.users.get(stored.user_id)
            if user is None or user.email != stored.email:
                raise InvalidToken(INVALID_LINK)
            if not await uow.email_tokens.spend(token_hash, now):
                raise InvalidToken(INVALID_LINK)
            try:
                # Against the version just read: an address changed meanwhile is not
                # the one this link proves.
                verified = await uow.users.change(
                    user.id, UserChanges(is_verified=True), now, expected_version=user.version
                )
            except PreconditionFailed:
                raise InvalidToken(INVALID_LINK) from None
            if verified is None:
                raise InvalidToken(INVALID_LINK)
            await uow.commit()
        return verified


@dataclass(frozen=True, slots=True)
class ResendVerificationCommand:
    user_id: int
    client_address: str | None = None


def verification_throttle_keys(user_id: int, client_address: str | None) -> list[str]:
    """Its own key kinds: resending links never eats into the login allowance."""
    keys = [f"verify-user:{user_id}"]
    if client_address:
        keys.append(f"verify-client:{client_address}")
    return keys


class ResendVerification:
    """Send a new verification link to the account's address (throttled like logins).

    Every request counts against the limits, sent or not: the throttle caps the e-mail
    a stolen session could make the shop send. An account already verified is a
    conflict, and costs nothing.
    """

    def __init__(self, uow: UnitOfWorkFactory, throttle: LoginThrottle) -> None:
        self._uow = uow
        self._throttle = throttle

    async def execute(self, command: ResendVerificationCommand) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
        if user is None or user.email is None:
            raise NotFound(f"User {command.user_id} not found")
        email = user.email
        if user.is_verified:
            raise Conflict("This account's e-mail address is already verified")
        await admit(
            self._throttle,
            verification_throttle_keys(user.id, command.client_address),
            "Too many verification e-mails requested; try again later",
        )
        async with self._uow() as uow:
            uow.record(VerificationRequested(user_id=user.id, email=email))
            await uow.commit()
