"""Erasing an account on every store: the person goes, the orders stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from application.auth import LogIn, LogInCommand, RegisterCommand, RegisterUser
from application.erasure import EraseAccount, EraseAccountCommand
from application.logins import (
    RefreshCommand,
    RefreshSession,
    SessionIssuer,
    TokenPair,
    hash_refresh_token,
)
from application.pagination import PageRequest
from application.ports.accounts import UserChanges
from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import OrderQuery
from domain.errors import Conflict, InvalidCredentials, PermissionDenied
from domain.events import OrderPlaced
from domain.users import User
from tests.contract.builders import a_product, an_order, at
from tests.unit.doubles import CountingThrottle, LookupTokens, ReversibleHasher, SteppingClock

PASSWORD = "correct horse battery"
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


class Shop:
    """The use cases of an account's life on one store, with test doubles around it."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow = uow_factory
        self.clock = SteppingClock()
        self.hasher = ReversibleHasher()
        self.throttle = CountingThrottle(limit=5)
        self.tokens = LookupTokens()
        self.issuer = SessionIssuer(self.tokens, self.clock, timedelta(days=14))
        self.register = RegisterUser(uow_factory, self.hasher, self.clock)
        self.log_in = LogIn(uow_factory, self.hasher, self.issuer, self.throttle, self.clock)
        self.refresh = RefreshSession(uow_factory, self.issuer, self.clock)
        self.erase = EraseAccount(uow_factory, self.hasher, self.clock, self.throttle)

    async def account(self, email: str = "ann@example.com") -> tuple[User, TokenPair]:
        user = await self.register.execute(RegisterCommand(email, PASSWORD, full_name="Ann"))
        pair = await self.log_in.execute(
            LogInCommand(email, PASSWORD, client_address="192.0.2.9", user_agent="tests")
        )
        return user, pair

    async def user(self, user_id: int) -> User:
        async with self.uow() as uow:
            user = await uow.users.get(user_id)
        assert user is not None
        return user


async def test_an_erased_account_keeps_its_row_and_orders_without_personal_data(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    ann, _ = await shop.account()
    async with uow_factory() as uow:
        shirt = await uow.products.add(a_product("Red Shirt"))
        order = await uow.orders.add(an_order(ann.id, [(shirt, 2)], when=at(minutes=1)))
        await uow.commit()

    await shop.erase.execute(EraseAccountCommand(ann.id, PASSWORD))

    erased = await shop.user(ann.id)
    assert (erased.email, erased.full_name) == (None, None)
    assert (erased.is_active, erased.is_superuser) == (False, False)
    assert erased.token_version == ann.token_version + 1
    assert not (await shop.hasher.verify(PASSWORD, erased.hashed_password)).valid
    async with uow_factory() as uow:
        kept = await uow.orders.get(order.id)
        listed = await uow.orders.list_page(OrderQuery(page=PageRequest(), user_id=ann.id))
        stats = await uow.orders.stats_for_user(ann.id)
        by_address = await uow.users.get_by_email("ann@example.com")
    assert kept == order
    assert [o.id for o in listed.items] == [order.id]
    assert (stats.order_count, stats.total_spent) == (1, order.total)
    assert by_address is None


async def test_every_session_ends_and_its_records_go(uow_factory: UnitOfWorkFactory) -> None:
    shop = Shop(uow_factory)
    ann, pair = await shop.account()
    await shop.log_in.execute(LogInCommand("ann@example.com", PASSWORD))

    await shop.erase.execute(EraseAccountCommand(ann.id, PASSWORD))

    async with uow_factory() as uow:
        sessions = await uow.sessions.list_active(ann.id, shop.clock.now())
        token = await uow.refresh_tokens.get(hash_refresh_token(pair.refresh_token))
    assert sessions == []
    assert token is None
    with pytest.raises(InvalidCredentials):
        await shop.refresh.execute(RefreshCommand(pair.refresh_token))
    with pytest.raises(InvalidCredentials):
        await shop.log_in.execute(LogInCommand("ann@example.com", PASSWORD))


async def test_the_address_registers_again_and_two_erased_accounts_coexist(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    first, _ = await shop.account("ann@example.com")
    await shop.erase.execute(EraseAccountCommand(first.id, PASSWORD))
    second, _ = await shop.account("ANN@example.com")
    await shop.erase.execute(EraseAccountCommand(second.id, PASSWORD))

    third = await shop.register.execute(RegisterCommand("ann@example.com", PASSWORD))

    assert len({first.id, second.id, third.id}) == 3
    assert (await shop.user(second.id)).email is None
    assert (await shop.user(third.id)).email == "ann@example.com"


async def test_the_erased_accounts_unsent_messages_are_dropped_and_no_one_elses(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    ann, _ = await shop.account("ann@example.com")
    bob, _ = await shop.account("bob@example.com")
    async with uow_factory() as uow:
        uow.record(OrderPlaced(order_id=1, user_id=ann.id, lines=(), total=Decimal("9.99")))
        await uow.commit()

    await shop.erase.execute(EraseAccountCommand(ann.id, PASSWORD))

    async with uow_factory() as uow:
        # Due by then, whatever clock stamped them.
        messages = await uow.outbox.claim(100, FAR_FUTURE, FAR_FUTURE)
    assert [m.event.user_id for m in messages] == [bob.id]


async def test_a_wrong_password_erases_nothing_and_counts_as_a_failed_login(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    ann, pair = await shop.account()

    with pytest.raises(PermissionDenied):
        await shop.erase.execute(EraseAccountCommand(ann.id, "not the password"))

    assert await shop.user(ann.id) == ann
    assert shop.throttle.failures["email:ann@example.com"] == 1
    assert isinstance(await shop.refresh.execute(RefreshCommand(pair.refresh_token)), TokenPair)


async def test_the_last_active_superuser_cannot_erase_their_account(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    ann, _ = await shop.account()
    async with uow_factory() as uow:
        await uow.users.change(ann.id, UserChanges(is_superuser=True), shop.clock.now())
        await uow.commit()

    with pytest.raises(Conflict):
        await shop.erase.execute(EraseAccountCommand(ann.id, PASSWORD))
    assert (await shop.user(ann.id)).email == "ann@example.com"


async def test_a_login_racing_an_erasure_leaves_no_session_behind(
    uow_factory: UnitOfWorkFactory,
) -> None:
    shop = Shop(uow_factory)
    for round_ in range(8):
        email = f"racer{round_}@example.com"
        user, _ = await shop.account(email)

        results = await asyncio.gather(
            shop.log_in.execute(LogInCommand(email, PASSWORD, user_agent="racing")),
            shop.erase.execute(EraseAccountCommand(user.id, PASSWORD)),
            return_exceptions=True,
        )

        assert results[1] is None, results
        login = results[0]
        assert isinstance(login, TokenPair | InvalidCredentials), login
        async with uow_factory() as uow:
            left = await uow.sessions.list_active(user.id, shop.clock.now())
        assert left == []
        if isinstance(login, TokenPair):
            with pytest.raises(InvalidCredentials):
                await shop.refresh.execute(RefreshCommand(login.refresh_token))
