"""E-mail that is never lost: use cases, the outbox and a real SMTP server, end to end.

Each test drives the dispatcher's pass (``DeliverOutbox.execute``) by hand with a
clock it moves, so backoff is tested without waiting for it.
"""

from __future__ import annotations

import re
import socket
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import pytest

from adapters.mail import SmtpMailer
from application.auth import RegisterCommand, RegisterUser
from application.catalogue import CreateProduct
from application.notifications import RetryPolicy
from application.orders import PlaceOrder, PlaceOrderCommand
from application.ports.common import UnitOfWork, UnitOfWorkFactory
from application.ports.notifications import EmailMessage
from domain.errors import InsufficientStock
from domain.orders import OrderRequestLine
from domain.products import Product, ProductDetails
from domain.users import User
from tests.outbox.conftest import (
    MESSAGE_DOMAIN,
    SENDER,
    MailServer,
    Store,
    drain,
    free_port,
)
from tests.unit.doubles import ReversibleHasher, SteppingClock

PASSWORD = "correct horse battery"


async def register(
    uow: UnitOfWorkFactory, clock: SteppingClock, email: str = "ann@example.com"
) -> User:
    return await RegisterUser(uow, ReversibleHasher(), clock).execute(
        RegisterCommand(email=email, password=PASSWORD, full_name="Ann")
    )


async def product(store: Store, name: str, price: str, stock: int = 10) -> Product:
    return await CreateProduct(store.uow, store.clock).execute(
        ProductDetails.checked(
            name=name,
            description=None,
            price=Decimal(price),
            stock=stock,
            category="shirts",
            image_url=None,
        )
    )


async def place_order(store: Store, user: User, *lines: tuple[Product, int]) -> int:
    placed = await PlaceOrder(store.uow, store.clock).execute(
        PlaceOrderCommand(
            user_id=user.id,
            lines=tuple(OrderRequestLine(item.id, quantity) for item, quantity in lines),
        )
    )
    return placed.order.id


class ProcessCrash(BaseException):
    """The process dies here: nothing after this line runs, no except clause catches it."""


class CrashBeforeCommit:
    """A unit of work whose process dies after the use case's work, before its commit."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        raise ProcessCrash


class CrashWhileSending:
    """A mailer whose process dies while talking to the mail server."""

    async def send(self, message: EmailMessage) -> None:
        raise ProcessCrash


# --- what is sent ----------------------------------------------------------------------------


async def test_registering_a_user_delivers_exactly_one_welcome_email(
    store: Store, mail_server: MailServer
) -> None:
    user = await register(store.uow, store.clock, "ann@example.com")
    deliver = store.deliverer(mail_server.mailer())

    assert await drain(deliver) == 1
    store.clock.advance(hours=1)
    assert await drain(deliver) == 0

    [mail] = mail_server.messages()
    assert mail.recipients == ("ann@example.com",)
    assert mail.sender == SENDER
    assert mail.message["To"] == user.email
    assert mail.subject == "Welcome to Storefront"
    assert "Hello Ann," in mail.body("plain")
    assert "Hello Ann," in mail.body("html")
    assert re.fullmatch(rf"<outbox-\d+@{re.escape(MESSAGE_DOMAIN)}>", mail.message_id)
    assert PASSWORD not in mail.message.as_string()
    assert [row["status"] for row in await store.rows()] == ["delivered"]


async def test_placing_an_order_delivers_a_confirmation_with_the_correct_total(
    store: Store, mail_server: MailServer
) -> None:
    user = await register(store.uow, store.clock)
    shirt = await product(store, "Red Shirt", "19.99")
    hat = await product(store, "Blue Hat", "5.00")
    order_id = await place_order(store, user, (shirt, 2), (hat, 1))

    await drain(store.deliverer(mail_server.mailer()))

    welcome, confirmation = mail_server.messages()
    assert welcome.subject == "Welcome to Storefront"
    assert confirmation.recipients == (user.email,)
    assert confirmation.subject == f"Your order #{order_id} is confirmed"
    text = confirmation.body("plain")
    assert "2 x Red Shirt: 39.98" in text
    assert "1 x Blue Hat: 5.00" in text
    assert "Total: 44.98" in text
    assert "<td>44.98</td>" in confirmation.body("html")


# --- nothing is sent for what did not happen ------------------------------------------------


async def test_a_use_case_that_dies_before_its_commit_leaves_no_outbox_row_and_sends_nothing(
    store: Store, mail_server: MailServer
) -> None:
    def crashing() -> UnitOfWork:
        return CrashBeforeCommit(store.uow())

    with pytest.raises(ProcessCrash):
        await register(crashing, store.clock, "ann@example.com")

    assert await store.rows() == []
    async with store.uow() as uow:
        assert await uow.users.get_by_email("ann@example.com") is None
    assert await drain(store.deliverer(mail_server.mailer())) == 0
    assert mail_server.messages() == []


async def test_a_refused_order_leaves_no_outbox_row_and_sends_nothing(
    store: Store, mail_server: MailServer
) -> None:
    user = await register(store.uow, store.clock)
    await drain(store.deliverer(mail_server.mailer()))
    shirt = await product(store, "Red Shirt", "19.99", stock=5)
    hat = await product(store, "Blue Hat", "5.00", stock=1)

    with pytest.raises(InsufficientStock):
        await place_order(store, user, (shirt, 2), (hat, 3))

    assert [row["status"] for row in await store.rows()] == ["delivered"]
    assert await drain(store.deliverer(mail_server.mailer())) == 0
    assert [mail.subject for mail in mail_server.messages()] == ["Welcome to Storefront"]


# --- crash safety ------------------------------------------------------------------------------


async def test_a_commit_followed_by_a_crash_is_delivered_by_a_dispatcher_started_later(
    sql_store: Store, mail_server: MailServer
) -> None:
    # First process: the user is registered, then the process dies before any delivery.
    await register(sql_store.uow, sql_store.clock, "ann@example.com")
    await sql_store.restart()

    # Second process, later: a dispatcher built from nothing but the database.
    sql_store.clock.advance(hours=2)
    delivered = await drain(sql_store.deliverer(mail_server.mailer()))

    assert delivered == 1
    [mail] = mail_server.messages()
    assert mail.recipients == ("ann@example.com",)


async def test_a_dispatcher_that_dies_mid_delivery_leaves_the_message_to_the_next_one(
    store: Store, mail_server: MailServer
) -> None:
    await register(store.uow, store.clock, "ann@example.com")
    dying = store.deliverer(CrashWhileSending())  # leases for 5 minutes, the default
    with pytest.raises(ProcessCrash):
        await dying.execute()
    if store.url is not None:
        await store.restart()

    # The lease still holds: another dispatcher leaves the message alone for now...
    store.clock.advance(minutes=4)
    assert await drain(store.deliverer(mail_server.mailer())) == 0
    # ...and takes it once the lease has run out.
    store.clock.advance(minutes=1)
    assert await drain(store.deliverer(mail_server.mailer())) == 1

    [mail] = mail_server.messages()
    assert mail.recipients == ("ann@example.com",)
    [row] = await store.rows()
    assert row["status"] == "delivered"
    assert row["attempts"] == 0


# --- the mail server is down -----------------------------------------------------------------


async def test_while_the_mail_server_is_down_messages_wait_and_are_delivered_when_it_returns(
    store: Store,
) -> None:
    server = MailServer(free_port())  # not started: connections to it are refused
    await register(store.uow, store.clock, "ann@example.com")
    await register(store.uow, store.clock, "bob@example.com")
    # base 5 s, jitter fixed at 0.5: retries after 2.5 s, then 5 s, then 10 s...
    deliver = store.deliverer(server.mailer(timeout_seconds=2))

    assert await deliver.execute() == 0
    rows = await store.rows()
    assert [(row["status"], row["attempts"]) for row in rows] == [("pending", 1)] * 2
    assert all("Connect" in row["last_error"] for row in rows)

    store.clock.advance(seconds=2)  # not due yet: not even tried
    assert await deliver.execute() == 0
    assert [row["attempts"] for row in await store.rows()] == [1, 1]

    store.clock.advance(seconds=0.5)  # due, and still down
    assert await deliver.execute() == 0
    assert [row["attempts"] for row in await store.rows()] == [2, 2]

    server.start()
    try:
        store.clock.advance(seconds=4.9)
        assert await deliver.execute() == 0
        store.clock.advance(seconds=0.1)
        assert await deliver.execute() == 2
        received = await server.wait_for(2)
    finally:
        server.stop()

    assert sorted(mail.recipients[0] for mail in received) == ["ann@example.com", "bob@example.com"]
    assert [row["status"] for row in await store.rows()] == ["delivered", "delivered"]


async def test_a_permanently_refused_message_ends_as_failed_after_the_limit(
    store: Store, mail_server: MailServer
) -> None:
    mail_server.refused.add("bounce@example.com")
    await register(store.uow, store.clock, "bounce@example.com")
    await register(store.uow, store.clock, "ann@example.com")
    deliver = store.deliverer(mail_server.mailer(), retry=RetryPolicy(max_attempts=3))

    for _ in range(6):
        await deliver.execute()
        store.clock.advance(hours=1)

    bounced, welcomed = await store.rows()
    assert bounced["status"] == "failed"
    assert bounced["attempts"] == 3
    assert "550" in bounced["last_error"]
    assert welcomed["status"] == "delivered"
    assert [mail.recipients for mail in mail_server.messages()] == [("ann@example.com",)]


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
async def test_a_silent_mail_server_holds_up_the_dispatcher_only_until_the_mailer_timeout(
    store: Store,
) -> None:
    # Something accepts connections but never answers; the mailer is not the store's
    # business, so memory is enough here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        await register(store.uow, store.clock)
        mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout_seconds=0.1)

        assert await store.deliverer(mailer).execute() == 0

    [row] = await store.rows()
    assert (row["status"], row["attempts"]) == ("pending", 1)
