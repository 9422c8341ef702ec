"""What to send when something happens, and the delivery of the outbox.

Events are written to the outbox in the transaction that caused them; a dispatcher
(:class:`DeliverOutbox`, run in a loop by the API process or ``storefront worker``)
turns each into an e-mail and hands it to the mailer. Delivery is at least once:
a message is marked delivered only after the mail server took it.
"""

from __future__ import annotations

import html
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.account_mail import EmailLinks, compose_account_mail
from application.letters import Envelope, Letter, Skip, html_page, money, plain
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from application.ports.notifications import (
    EmailMessage,
    MailDeliveryError,
    Mailer,
    OutboxMessage,
)
from domain.events import DomainEvent, OrderCancelled, OrderPlaced

logger = logging.getLogger(__name__)


def order_placed_letter(event: OrderPlaced) -> Letter:
    title = f"Your order #{event.order_id} is confirmed"
    text_lines = [
        f"  {quantity} x {name}: {money(line_total)}" for name, quantity, line_total in event.lines
    ]
    text = (
        f"Thank you for your order #{event.order_id}.\n\n"
        + "\n".join(text_lines)
        + f"\n\nTotal: {money(event.total)}\n"
    )
    rows = "".join(
        f"<tr><td>{quantity}</td><td>{html.escape(name)}</td><td>{money(line_total)}</td></tr>"
        for name, quantity, line_total in event.lines
    )
    table = (
        "<table><thead><tr><th>Qty</th><th>Product</th><th>Amount</th></tr></thead>"
        f'<tbody>{rows}</tbody><tfoot><tr><td colspan="2">Total</td>'
        f"<td>{money(event.total)}</td></tr></tfoot></table>"
    )
    return Letter(
        subject=title,
        text=text,
        html=html_page(title, [f"Thank you for your order #{event.order_id}."], table),
    )


def order_cancelled_letter(event: OrderCancelled) -> Letter:
    title = f"Your order #{event.order_id} is cancelled"
    lines = [
        f"Your order #{event.order_id} of {money(event.total)} has been cancelled.",
        "Nothing will be charged for it.",
    ]
    return Letter(subject=title, text=plain(lines), html=html_page(title, lines))


async def compose(
    uow: UnitOfWork, event: DomainEvent, links: EmailLinks, now: datetime
) -> Envelope | Skip:
    """The e-mail an event calls for, addressed as things stand now (an order's e-mail
    goes to the customer's current address)."""
    if not isinstance(event, OrderPlaced | OrderCancelled):
        return await compose_account_mail(uow, event, links, now)
    user = await uow.users.get(event.user_id)
    if user is None or user.email is None:
        return Skip("the recipient no longer exists", failed=True)
    if isinstance(event, OrderPlaced):
        return Envelope(user.email, order_placed_letter(event))
    return Envelope(user.email, order_cancelled_letter(event))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, up to a number of attempts."""

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, failed_attempts: int, jitter: float) -> timedelta:
        """``jitter`` in [0, 1): spreads retries so recovering servers are not stampeded."""
        ceiling: timedelta = min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))
        return max(timedelta(seconds=1), ceiling * jitter)


class DeliverOutbox:
    """One pass of the dispatcher: claim a batch of due messages and deliver each."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        mailer: Mailer,
        clock: Clock,
        *,
        message_domain: str = "storefront.invalid",
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=5),
        retry: RetryPolicy | None = None,
        jitter: Callable[[], float] = random.random,
        links: EmailLinks | None = None,
    ) -> None:
        self._uow = uow
        self._links = links or EmailLinks()
        self._mailer = mailer
        self._clock = clock
        self._message_domain = message_domain
        self._batch_size = batch_size
        self._lease = lease
        self._retry = retry or RetryPolicy()
        self._jitter = jitter

    async def execute(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Deliver what is due now; return how many messages were delivered.

        ``should_stop`` is asked before each message: a stopping dispatcher gives the
        rest of its batch back at once instead of leaving it leased.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            batch = await uow.outbox.claim(self._batch_size, now, now + self._lease)
            # Tokens minted for the links are stored in this transaction: a link is never
            # sent whose token was not committed first.
            composed = [
                (message, await compose(uow, message.event, self._links, now)) for message in batch
            ]
            await uow.commit()
        delivered = 0
        for index, (message, envelope) in enumerate(composed):
            if should_stop():
                await self._release([m.id for m, _ in composed[index:]])
                break
            delivered += await self._deliver(message, envelope)
        return delivered

    async def _release(self, message_ids: list[int]) -> None:
        async with self._uow() as uow:
            await uow.outbox.release(message_ids)
            await uow.commit()

    async def _deliver(self, message: OutboxMessage, envelope: Envelope | Skip) -> int:
        if isinstance(envelope, Skip):
            if envelope.failed:
                await self._settle(message, failed=envelope.reason, final=True)
            else:
                logger.debug("Outbox message %s needs no e-mail: %s", message.id, envelope.reason)
                await self._settle(message, failed=None, final=True)
            return 0
        letter = envelope.letter
        email = EmailMessage(
            to=envelope.to,
            subject=letter.subject,
            text=letter.text,
            html=letter.html,
            message_id=f"<outbox-{message.id}@{self._message_domain}>",
            traceparent=message.traceparent,
            secrets=envelope.secrets,
        )
        try:
            await self._mailer.send(email)
        except Exception as error:
            # Any failure, expected (MailDeliveryError) or not, counts as an attempt:
            # otherwise a message that breaks the mailer would be retried forever.
            attempts = message.attempts + 1
            final = attempts >= self._retry.max_attempts
            logger.warning(
                "Outbox message %s not delivered (attempt %s): %s",
                message.id,
                attempts,
                error,
                exc_info=not isinstance(error, MailDeliveryError),
            )
            await self._settle(message, failed=str(error) or type(error).__name__, final=final)
            return 0
        await self._settle(message, failed=None, final=True)
        return 1

    async def _settle(self, message: OutboxMessage, *, failed: str | None, final: bool) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            if failed is None:
                await uow.outbox.mark_delivered(message.id, now)
            elif final:
                await uow.outbox.mark_failed(message.id, failed, now)
            else:
                delay = self._retry.delay(message.attempts + 1, self._jitter())
                await uow.outbox.retry_later(message.id, failed, now + delay)
            await uow.commit()


class PurgeOutbox:
    """Delete delivered messages older than the retention period."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, retention: timedelta = timedelta(days=7)
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._retention = retention

    async def execute(self) -> int:
        async with self._uow() as uow:
            purged = await uow.outbox.purge_delivered(self._clock.now() - self._retention)
            await uow.commit()
        return purged


class CountOutboxMessages:
    """How many outbox messages are pending, delivered and failed (for the metrics)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self) -> dict[str, int]:
        async with self._uow() as uow:
            return await uow.outbox.count_by_status()
