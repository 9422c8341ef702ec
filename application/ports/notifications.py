"""Notifications ports: the transactional outbox and the mailer that delivers from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An event waiting to be acted on, as the dispatcher sees it."""

    id: int
    event: DomainEvent
    attempts: int
    """Delivery attempts that failed so far."""
    created_at: datetime
    traceparent: str | None = None
    """The W3C trace context of the request that queued it, when it was traced."""


class OutboxRepository(Protocol):
    """Events written in the transaction that caused them, delivered at least once.

    Events reach the outbox through :meth:`UnitOfWork.record`; this repository is the
    dispatcher's side.
    """

    async def claim(self, limit: int, now: datetime, lease_until: datetime) -> list[OutboxMessage]:
        """Lease up to ``limit`` due messages, oldest first, until ``lease_until``.

        A message leased by another dispatcher is skipped, not waited for (``FOR UPDATE
        SKIP LOCKED`` on PostgreSQL); a lease that ran out (its dispatcher died) makes
        the message due again.
        """
        ...

    async def mark_delivered(self, message_id: int, at: datetime) -> None: ...

    async def retry_later(self, message_id: int, error: str, not_before: datetime) -> None:
        """Count a failed attempt, release the lease and make it due at ``not_before``."""
        ...

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        """Count the last failed attempt and park the message for an operator.

        It is not tried again.
        """
        ...

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give leased messages back without counting an attempt (a dispatcher stopping)."""
        ...

    async def purge_delivered(self, before: datetime) -> int:
        """Delete messages delivered before the given time."""
        ...

    async def forget_user(self, user_id: int) -> int:
        """Delete every message about the user, whatever its state; return how many.

        Messages carry the account's address and name: an erased account's are not sent,
        nor kept. One a dispatcher has already leased may still go out.
        """
        ...

    async def count_by_status(self) -> dict[str, int]:
        """How many messages are pending, delivered and failed (for operators and tests)."""
        ...


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    """Stable per outbox message, so a duplicate delivery is recognisable."""
    traceparent: str | None = None
    """The outbox message's, for a delivery span linked to the request that queued it."""
    secrets: tuple[str, ...] = ()
    """Parts of the body that must never reach a log (the token of a link): a mailer
    that writes messages anywhere but to their recipient leaves these out."""


class MailDeliveryError(Exception):
    """The message could not be handed to the mail server; it may succeed later."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over, within a bounded time; raise ``MailDeliveryError``."""
        ...
