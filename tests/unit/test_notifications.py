"""What is sent when something happens, and how the outbox delivers it (memory adapters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.account_mail import (
    password_changed_letter,
    reset_letter,
    verification_letter,
    welcome_letter,
)
from application.auth import LogIn, LogInCommand, RegisterCommand, RegisterUser
from application.catalogue import CreateProduct
from application.logins import SessionIssuer
from application.notifications import (
    DeliverOutbox,
    PurgeOutbox,
    RetryPolicy,
    order_cancelled_letter,
    order_placed_letter,
)
from application.orders import CancelOrder, OrderAccess, PlaceOrder, PlaceOrderCommand
from application.ports.common import UnitOfWork
from application.ports.notifications import EmailMessage, MailDeliveryError
from application.users import UpdateProfile, UpdateProfileCommand
from domain.events import OrderCancelled, OrderPlaced, UserRegistered
from domain.orders import Order, OrderRequestLine
from domain.products import Product, ProductDetails
from domain.users import User
from tests.unit.doubles import CountingThrottle, LookupTokens, ReversibleHasher, SteppingClock

PASSWORD = "correct horse battery"


class RecordingMailer:
    """Takes every message, and remembers it."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


class FailingMailer:
    """Refuses messages to some addresses (all of them by default), takes the others."""

    def __init__(self, refuse: Callable[[str], bool] = lambda _: True) -> None:
        self.refuse = refuse
        self.tried: list[EmailMessage] = []
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.tried.append(message)
        if self.refuse(message.to):
            raise MailDeliveryError("421 Service not available")
        self.sent.append(message)


@dataclass
class Shop:
    """Use cases and the outbox's delivery pass, on one in-memory store and one clock."""

    store: InMemoryStore = field(default_factory=InMemoryStore)
    clock: SteppingClock = field(default_factory=SteppingClock)
    hasher: ReversibleHasher = field(default_factory=ReversibleHasher)

    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.store, clock=self.clock)

    def deliver(
        self,
        mailer: RecordingMailer | FailingMailer,
        *,
        batch_size: int = 50,
        retry: RetryPolicy | None = None,
    ) -> DeliverOutbox:
        return DeliverOutbox(
            self.uow,
            mailer,
            self.clock,
            message_domain="shop.test",
            batch_size=batch_size,
            retry=retry,
            jitter=lambda: 0.5,
        )

    async def register(self, email: str = "ann@example.com", full_name: str | None = None) -> User:
        return await RegisterUser(self.uow, self.hasher, self.clock).execute(
            RegisterCommand(email=email, password=PASSWORD, full_name=full_name)
        )

    async def product(self, name: str = "Red Shirt", price: str = "19.99") -> Product:
        return await CreateProduct(self.uow, self.clock).execute(
            ProductDetails.checked(
                name=name,
                description=None,
                price=Decimal(price),
                stock=100,
                category="shirts",
                image_url=None,
            )
        )

    async def order(self, user: User, *lines: tuple[Product, int]) -> Order:
        placed = await PlaceOrder(self.uow, self.clock).execute(
            PlaceOrderCommand(
                user_id=user.id,
                lines=tuple(OrderRequestLine(product.id, quantity) for product, quantity in lines),
            )
        )
        return placed.order

    async def counts(self) -> dict[str, int]:
        async with self.uow() as uow:
            return await uow.outbox.count_by_status()


@pytest.fixture
def shop() -> Shop:
    return Shop()


# --- letters ---------------------------------------------------------------------------------

PLACED = OrderPlaced(
    order_id=42,
    user_id=1,
    lines=(("Red Shirt", 2, Decimal("39.98")), ("Blue Hat", 1, Decimal("5.00"))),
    total=Decimal("44.98"),
)


def test_the_welcome_letter_greets_the_customer_and_names_the_account() -> None:
    letter = welcome_letter(UserRegistered(user_id=1, email="ann@example.com", full_name="Ann"))

    assert letter.subject == "Welcome to Storefront"
    assert "Hello Ann," in letter.text
    assert "ann@example.com" in letter.text
    assert "Hello Ann," in letter.html
    assert "ann@example.com" in letter.html


def test_the_welcome_letter_without_a_name_still_greets() -> None:
    letter = welcome_letter(UserRegistered(user_id=1, email="ann@example.com", full_name=None))

    assert letter.text.startswith("Hello,")
    assert "None" not in letter.text
    assert "None" not in letter.html


def test_the_order_confirmation_lists_every_line_and_the_total() -> None:
    letter = order_placed_letter(PLACED)

    assert letter.subject == "Your order #42 is confirmed"
    assert "2 x Red Shirt: 39.98" in letter.text
    assert "1 x Blue Hat: 5.00" in letter.text
    assert "Total: 44.98" in letter.text
    assert "<td>Red Shirt</td><td>39.98</td>" in letter.html
    assert "<td>44.98</td>" in letter.html


def test_amounts_always_show_two_decimal_places() -> None:
    letter = order_placed_letter(
        OrderPlaced(order_id=1, user_id=1, lines=(("Pin", 3, Decimal("3")),), total=Decimal("3"))
    )

    assert "3 x Pin: 3.00" in letter.text
    assert "Total: 3.00" in letter.text


def test_the_cancellation_notice_names_the_order_and_its_amount() -> None:
    letter = order_cancelled_letter(OrderCancelled(order_id=42, user_id=1, total=Decimal("44.98")))

    assert letter.subject == "Your order #42 is cancelled"
    assert "#42" in letter.text
    assert "44.98" in letter.text
    assert "44.98" in letter.html


def test_names_are_escaped_in_the_html_body() -> None:
    welcome = welcome_letter(
        UserRegistered(user_id=1, email="ann@example.com", full_name="<script>Ann</script> & co")
    )
    confirmation = order_placed_letter(
        OrderPlaced(
            order_id=1,
            user_id=1,
            lines=(('<img src=x onerror="alert(1)">', 1, Decimal("1.00")),),
            total=Decimal("1.00"),
        )
    )

    assert "<script>" not in welcome.html
    assert "&lt;script&gt;Ann&lt;/script&gt; &amp; co" in welcome.html
    assert "<img" not in confirmation.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in confirmation.html
    # The plain-text body is shown as text, so it keeps the name as typed.
    assert "<script>Ann</script> & co" in welcome.text


def test_every_letter_has_a_plain_text_body_and_a_complete_html_page() -> None:
    link = "http://shop.test/verify-email?token=" + "a" * 43
    letters = [
        welcome_letter(UserRegistered(user_id=1, email="ann@example.com", full_name=None)),
        welcome_letter(UserRegistered(user_id=1, email="ann@example.com", full_name=None), link),
        verification_letter("ann@example.com", link, timedelta(hours=48)),
        reset_letter(link.replace("verify-email", "reset-password"), timedelta(minutes=30)),
        password_changed_letter("ann@example.com"),
        order_placed_letter(PLACED),
        order_cancelled_letter(OrderCancelled(order_id=42, user_id=1, total=Decimal("1.00"))),
    ]

    for letter in letters:
        assert letter.text.strip()
        assert "<" not in letter.text
        assert letter.html.startswith("<!DOCTYPE html>")
        assert letter.html.endswith("</html>")
        assert f"<title>{letter.subject}</title>" in letter.html


async def test_no_message_ever_contains_a_password_a_hash_or_a_token(shop: Shop) -> None:
    user = await shop.register(full_name="Ann")
    tokens = await LogIn(
        shop.uow,
        shop.hasher,
        SessionIssuer(LookupTokens(), shop.clock, timedelta(days=14)),
        CountingThrottle(),
        shop.clock,
    ).execute(LogInCommand(email=user.email, password=PASSWORD, client_address="203.0.113.9"))
    order = await shop.order(user, (await shop.product(), 2))
    await CancelOrder(shop.uow, shop.clock).execute(OrderAccess(order.id, user.id))
    mailer = RecordingMailer()

    await shop.deliver(mailer).execute()

    assert len(mailer.sent) == 3
    secrets = [PASSWORD, user.hashed_password, tokens.access_token, tokens.refresh_token]
    for message in mailer.sent:
        for part in (message.subject, message.text, message.html, message.message_id):
            for secret in secrets:
                assert secret not in part


# --- retry policy ----------------------------------------------------------------------------


@pytest.mark.parametrize("jitter", [0.0, 0.001, 0.5, 0.999999])
def test_a_retry_delay_stays_between_one_second_and_the_exponential_ceiling(
    jitter: float,
) -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=5), max_delay=timedelta(hours=1))

    for failed_attempts in range(1, 20):
        ceiling = min(timedelta(hours=1), timedelta(seconds=5) * 2 ** (failed_attempts - 1))
        delay = policy.delay(failed_attempts, jitter)
        assert timedelta(seconds=1) <= delay <= ceiling


def test_the_retry_ceiling_doubles_with_each_failure_up_to_the_maximum() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=5), max_delay=timedelta(minutes=1))
    almost_one = 0.999999

    delays = [policy.delay(n, almost_one).total_seconds() for n in range(1, 7)]

    assert delays == pytest.approx([5, 10, 20, 40, 60, 60], rel=1e-5)


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    policy = RetryPolicy()

    delays = {policy.delay(5, jitter) for jitter in (0.1, 0.4, 0.7, 0.9)}

    assert len(delays) == 4


# --- delivering --------------------------------------------------------------------------------


async def test_registering_leads_to_one_welcome_email_to_the_new_user(shop: Shop) -> None:
    await shop.register("ann@example.com", full_name="Ann")
    mailer = RecordingMailer()

    delivered = await shop.deliver(mailer).execute()

    assert delivered == 1
    [message] = mailer.sent
    assert message.to == "ann@example.com"
    assert message.subject == "Welcome to Storefront"
    assert "Hello Ann," in message.text
    assert await shop.counts() == {"pending": 0, "delivered": 1, "failed": 0}


async def test_a_delivered_message_is_not_sent_again(shop: Shop) -> None:
    await shop.register()
    mailer = RecordingMailer()
    deliver = shop.deliver(mailer)
    await deliver.execute()
    shop.clock.advance(hours=1)

    assert await deliver.execute() == 0
    assert len(mailer.sent) == 1


async def test_placing_an_order_leads_to_a_confirmation_with_its_total(shop: Shop) -> None:
    user = await shop.register()
    shirt = await shop.product("Red Shirt", "19.99")
    hat = await shop.product("Blue Hat", "5.00")
    order = await shop.order(user, (shirt, 2), (hat, 1))
    mailer = RecordingMailer()

    await shop.deliver(mailer).execute()

    confirmation = mailer.sent[-1]
    assert confirmation.to == user.email
    assert confirmation.subject == f"Your order #{order.id} is confirmed"
    assert "Total: 44.98" in confirmation.text


async def test_an_order_email_goes_to_the_customers_current_address(shop: Shop) -> None:
    user = await shop.register("ann@example.com")
    await shop.order(user, (await shop.product(), 1))
    await UpdateProfile(shop.uow, shop.hasher, shop.clock, CountingThrottle()).execute(
        UpdateProfileCommand(user_id=user.id, email="ann@new.example", current_password=PASSWORD)
    )
    mailer = RecordingMailer()

    await shop.deliver(mailer).execute()

    # Welcome, order confirmation, then the new address's verification link.
    assert [message.to for message in mailer.sent] == [
        "ann@example.com",
        "ann@new.example",
        "ann@new.example",
    ]
    assert mailer.sent[1].subject.startswith("Your order")


async def test_cancelling_an_order_leads_to_a_notice(shop: Shop) -> None:
    user = await shop.register()
    order = await shop.order(user, (await shop.product(), 1))
    await CancelOrder(shop.uow, shop.clock).execute(OrderAccess(order.id, user.id))
    mailer = RecordingMailer()

    await shop.deliver(mailer).execute()

    assert mailer.sent[-1].subject == f"Your order #{order.id} is cancelled"


async def test_nothing_is_sent_when_nothing_is_due(shop: Shop) -> None:
    mailer = RecordingMailer()

    assert await shop.deliver(mailer).execute() == 0
    assert mailer.sent == []


async def test_a_pass_delivers_at_most_one_batch(shop: Shop) -> None:
    for n in range(3):
        await shop.register(f"user{n}@example.com")
    mailer = RecordingMailer()
    deliver = shop.deliver(mailer, batch_size=2)

    assert await deliver.execute() == 2
    assert await deliver.execute() == 1
    assert [m.to for m in mailer.sent] == [f"user{n}@example.com" for n in range(3)]


async def test_a_failed_delivery_is_retried_after_the_backoff_delay(shop: Shop) -> None:
    await shop.register()
    mailer = FailingMailer()
    # base 5 s, jitter 0.5: the first retry waits 2.5 s.
    deliver = shop.deliver(mailer)

    assert await deliver.execute() == 0
    assert await shop.counts() == {"pending": 1, "delivered": 0, "failed": 0}

    shop.clock.advance(seconds=2)
    assert await deliver.execute() == 0
    assert len(mailer.tried) == 1

    mailer.refuse = lambda _: False
    shop.clock.advance(seconds=0.5)
    assert await deliver.execute() == 1
    assert len(mailer.tried) == 2
    assert await shop.counts() == {"pending": 0, "delivered": 1, "failed": 0}


async def test_a_message_keeps_its_message_id_across_attempts(shop: Shop) -> None:
    await shop.register()
    await shop.register("bob@example.com")
    mailer = FailingMailer()
    deliver = shop.deliver(mailer)
    await deliver.execute()
    mailer.refuse = lambda _: False
    shop.clock.advance(minutes=1)
    await deliver.execute()

    first, second, *retries = [message.message_id for message in mailer.tried]

    assert retries == [first, second]
    assert first != second
    assert first.startswith("<outbox-")
    assert first.endswith("@shop.test>")


async def test_a_message_failing_every_attempt_is_parked_as_failed(shop: Shop) -> None:
    await shop.register()
    mailer = FailingMailer()
    deliver = shop.deliver(mailer, retry=RetryPolicy(max_attempts=3))

    for _ in range(5):
        await deliver.execute()
        shop.clock.advance(hours=1)

    assert len(mailer.tried) == 3
    assert await shop.counts() == {"pending": 0, "delivered": 0, "failed": 1}
    failed = next(iter(shop.store.outbox.values()))
    assert failed.attempts == 3
    assert failed.last_error == "421 Service not available"


async def test_one_refused_message_does_not_hold_up_the_others(shop: Shop) -> None:
    await shop.register("bounce@example.com")
    await shop.register("ann@example.com")
    mailer = FailingMailer(refuse=lambda to: to.startswith("bounce"))

    assert await shop.deliver(mailer).execute() == 1

    assert [m.to for m in mailer.sent] == ["ann@example.com"]
    assert await shop.counts() == {"pending": 1, "delivered": 1, "failed": 0}


async def test_a_message_for_a_customer_who_no_longer_exists_is_parked(shop: Shop) -> None:
    async with shop.uow() as uow:
        uow.record(OrderCancelled(order_id=1, user_id=999, total=Decimal("1.00")))
        await uow.commit()
    mailer = RecordingMailer()

    assert await shop.deliver(mailer).execute() == 0

    assert mailer.sent == []
    assert await shop.counts() == {"pending": 0, "delivered": 0, "failed": 1}


async def test_delivered_messages_are_purged_after_the_retention_period(shop: Shop) -> None:
    await shop.register()
    await shop.deliver(RecordingMailer()).execute()
    purge = PurgeOutbox(shop.uow, shop.clock, retention=timedelta(days=7))

    shop.clock.advance(days=6)
    assert await purge.execute() == 0
    shop.clock.advance(days=1, seconds=1)
    assert await purge.execute() == 1
    assert await shop.counts() == {"pending": 0, "delivered": 0, "failed": 0}


def test_a_link_stands_on_a_line_of_its_own_and_is_anchored_in_the_html() -> None:
    link = "http://shop.test/reset-password?token=" + "b" * 43

    letter = reset_letter(link, timedelta(minutes=30))

    assert f"\n{link}\n" in letter.text
    assert f'<a href="{link}">' in letter.html
    assert "30 minutes" in letter.text


def test_lifetimes_read_naturally_in_the_letters() -> None:
    link = "http://shop.test/verify-email?token=" + "c" * 43

    assert "48 hours" in verification_letter("a@b.co", link, timedelta(hours=48)).text
    assert "1 hour:" in verification_letter("a@b.co", link, timedelta(hours=1)).text
    assert "90 minutes" in reset_letter(link, timedelta(minutes=90)).text
