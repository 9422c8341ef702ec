"""The e-mail link flows on every store: the token comes out of the e-mail the
dispatcher wrote, as a customer would take it, and the clock is the injected one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.account_mail import EmailLinks
from application.auth import Authenticate, LogIn, LogInCommand, RegisterCommand, RegisterUser
from application.email_verification import VerifyEmail, VerifyEmailCommand
from application.logins import RefreshCommand, RefreshSession, SessionIssuer, TokenPair
from application.notifications import DeliverOutbox
from application.password_reset import (
    ForgotPassword,
    ForgotPasswordCommand,
    ResetPassword,
    ResetPasswordCommand,
)
from application.ports.common import UnitOfWork
from application.ports.notifications import EmailMessage
from domain.errors import InvalidCredentials, InvalidToken
from domain.users import User
from tests.contract.conftest import Backend
from tests.unit.doubles import CountingThrottle, LookupTokens, ReversibleHasher, SteppingClock

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new password"
LINK = re.compile(
    r"^http://shop\.test/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)$", re.M
)


class Inbox:
    """Takes every message, and remembers it."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)

    def token(self, kind: str, index: int = -1) -> str:
        """The token of the link of ``kind`` in the ``index``-th message that has one."""
        found = [m for m in (LINK.search(msg.text) for msg in self.sent) if m and m[1] == kind]
        return found[index][2]


@dataclass
class Shop:
    backend: Backend
    clock: SteppingClock = field(default_factory=SteppingClock)
    hasher: ReversibleHasher = field(default_factory=ReversibleHasher)
    tokens: LookupTokens = field(default_factory=LookupTokens)
    throttle: CountingThrottle = field(default_factory=lambda: CountingThrottle(limit=100))
    inbox: Inbox = field(default_factory=Inbox)

    def uow(self) -> UnitOfWork:
        if self.backend.engine is not None:
            return SqlUnitOfWork(self.backend.engine, clock=self.clock)
        assert self.backend.store is not None
        return InMemoryUnitOfWork(self.backend.store, clock=self.clock)

    async def deliver(self) -> None:
        links = EmailLinks(frontend_url="http://shop.test")
        await DeliverOutbox(self.uow, self.inbox, self.clock, links=links).execute()

    async def register(self, email: str = "ann@example.com") -> User:
        return await RegisterUser(self.uow, self.hasher, self.clock).execute(
            RegisterCommand(email=email, password=PASSWORD)
        )

    async def verify(self, token: str) -> User:
        return await VerifyEmail(self.uow, self.clock).execute(VerifyEmailCommand(token))

    async def forgot(self, email: str = "ann@example.com") -> None:
        await ForgotPassword(self.uow, self.throttle).execute(ForgotPasswordCommand(email))

    async def reset(self, token: str, password: str = NEW_PASSWORD) -> None:
        await ResetPassword(self.uow, self.hasher, self.clock, self.throttle).execute(
            ResetPasswordCommand(token=token, password=password)
        )

    def sessions(self) -> SessionIssuer:
        return SessionIssuer(self.tokens, self.clock, timedelta(days=14))

    async def log_in(self, password: str = PASSWORD) -> TokenPair:
        return await LogIn(
            self.uow, self.hasher, self.sessions(), self.throttle, self.clock
        ).execute(LogInCommand(email="ann@example.com", password=password))


@pytest.fixture
def shop(backend: Backend) -> Shop:
    return Shop(backend)


async def test_the_welcome_emails_link_verifies_the_address_once(shop: Shop) -> None:
    user = await shop.register()
    await shop.deliver()
    assert not user.is_verified

    verified = await shop.verify(shop.inbox.token("verify-email"))

    assert verified.is_verified
    with pytest.raises(InvalidToken):
        await shop.verify(shop.inbox.token("verify-email"))


async def test_a_verification_link_expires_after_its_lifetime(shop: Shop) -> None:
    await shop.register()
    await shop.deliver()
    shop.clock.advance(hours=48)

    with pytest.raises(InvalidToken):
        await shop.verify(shop.inbox.token("verify-email"))


async def test_a_verification_link_works_until_just_before_it_expires(shop: Shop) -> None:
    await shop.register()
    await shop.deliver()
    shop.clock.advance(hours=47, minutes=59)

    assert (await shop.verify(shop.inbox.token("verify-email"))).is_verified


async def test_a_reset_link_sets_the_password_ends_every_session_and_verifies(
    shop: Shop,
) -> None:
    await shop.register()
    before = await shop.log_in()
    await shop.forgot()
    await shop.deliver()

    await shop.reset(shop.inbox.token("reset-password"))

    with pytest.raises(InvalidCredentials):
        await RefreshSession(shop.uow, shop.sessions(), shop.clock).execute(
            RefreshCommand(before.refresh_token)
        )
    with pytest.raises(InvalidCredentials):
        await Authenticate(shop.uow, shop.tokens).execute(before.access_token)
    with pytest.raises(InvalidCredentials):
        await shop.log_in(PASSWORD)
    after = await shop.log_in(NEW_PASSWORD)
    assert (await Authenticate(shop.uow, shop.tokens).execute(after.access_token)).is_verified


async def test_a_reset_link_works_once(shop: Shop) -> None:
    await shop.register()
    await shop.forgot()
    await shop.deliver()
    token = shop.inbox.token("reset-password")
    await shop.reset(token)

    with pytest.raises(InvalidToken):
        await shop.reset(token, "yet another password")
    await shop.log_in(NEW_PASSWORD)


async def test_a_reset_link_expires_after_thirty_minutes(shop: Shop) -> None:
    await shop.register()
    await shop.forgot()
    await shop.deliver()
    shop.clock.advance(minutes=30)

    with pytest.raises(InvalidToken):
        await shop.reset(shop.inbox.token("reset-password"))
    await shop.log_in(PASSWORD)


async def test_only_the_newest_reset_link_works(shop: Shop) -> None:
    await shop.register()
    await shop.forgot()
    await shop.deliver()
    shop.clock.advance(minutes=1)
    await shop.forgot()
    await shop.deliver()
    first, second = shop.inbox.token("reset-password", 0), shop.inbox.token("reset-password", 1)

    with pytest.raises(InvalidToken):
        await shop.reset(first)
    await shop.reset(second)
    await shop.log_in(NEW_PASSWORD)


async def test_a_reset_for_an_unknown_address_sends_nothing(shop: Shop) -> None:
    await shop.register()
    await shop.deliver()
    welcome = len(shop.inbox.sent)

    await shop.forgot("nobody@example.com")
    await shop.deliver()

    assert len(shop.inbox.sent) == welcome
    async with shop.uow() as uow:
        assert await uow.outbox.count_by_status() == {"pending": 0, "delivered": 2, "failed": 0}


async def test_a_verification_token_is_no_reset_token_and_vice_versa(shop: Shop) -> None:
    await shop.register()
    await shop.forgot()
    await shop.deliver()

    with pytest.raises(InvalidToken):
        await shop.reset(shop.inbox.token("verify-email"))
    with pytest.raises(InvalidToken):
        await shop.verify(shop.inbox.token("reset-password"))
