"""What the use cases need from the outside world, and nothing about how it is done.

Every Protocol here has at least two implementations in ``adapters/``: a real one
and an in-memory twin that passes the same contract tests.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from application.changes import UNSET, Unset
from application.pagination import KeysetPosition, PageRequest, Slice
from domain.events import DomainEvent
from domain.orders import Order, UserStats
from domain.products import Product
from domain.sessions import RefreshToken
from domain.users import User


class DependencyUnavailable(Exception):
    """A backing service (the database) cannot be reached; the caller may retry later."""

    def __init__(self, detail: str, retry_after_seconds: int = 2) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_seconds = retry_after_seconds


# --- catalogue queries ------------------------------------------------------------------


class ProductSort(enum.StrEnum):
    ID = "id"
    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price"
    PRICE_DESC = "-price"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"

    @property
    def field(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True, slots=True)
class ProductQuery:
    """A page of the catalogue. Ties on the sort key are broken by id, same direction.

    With ``page.after`` set, the page starts after that position (keyset pagination)
    and ``page.skip`` is ignored.
    """

    page: PageRequest
    category: str | None = None
    search: str | None = None
    sort: ProductSort = ProductSort.ID


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    user_id: int
    key: str
    request_hash: str
    order_id: int
    created_at: datetime


# --- repositories -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserChanges:
    """The fields one write sets; every other column keeps whatever it holds then.

    ``end_sessions`` bumps the token version in the same statement, so access tokens
    issued before it stop working.
    """

    email: str | Unset = UNSET
    hashed_password: str | Unset = UNSET
    full_name: str | Unset | None = UNSET
    is_active: bool | Unset = UNSET
    is_superuser: bool | Unset = UNSET
    end_sessions: bool = False


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Store a new user and return it with its id; a taken e-mail raises ``Conflict``."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Look up by normalised e-mail (comparison is case-insensitive)."""
        ...

    async def get_for_update(self, user_id: int) -> User | None:
        """Read and lock the user's row until the transaction ends."""
        ...

    async def lock_active_superusers(self) -> list[int]:
        """Ids of the active superusers, their rows locked (in id order) until the
        transaction ends: of two transactions removing superusers, the second sees
        what the first left."""
        ...

    async def change(
        self,
        user_id: int,
        changes: UserChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> User | None:
        """Set only the given fields (and ``updated_at``) in one conditional statement,
        bump the version, and return the user as stored; None if there is no such user.

        With ``expected_version``, a user whose version differs raises
        ``PreconditionFailed`` and nothing is written. A taken e-mail raises ``Conflict``.
        """
        ...

    async def list_page(self, page: PageRequest) -> Slice[User]:
        """Users by ascending id."""
        ...


@dataclass(frozen=True, slots=True)
class ReservedStock:
    """What an order line copies from the product whose units it just took."""

    product_id: int
    name: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """The client-settable fields one product write sets, each already validated."""

    name: str | Unset = UNSET
    description: str | Unset | None = UNSET
    price: Decimal | Unset = UNSET
    stock: int | Unset = UNSET
    category: str | Unset = UNSET
    image_url: str | Unset | None = UNSET


class ProductRepository(Protocol):
    async def add(self, product: Product) -> Product:
        """Store a new product; a taken slug raises ``Conflict``."""
        ...

    async def get(self, product_id: int) -> Product | None:
        """A product of the catalogue; archived products are not found."""
        ...

    async def get_by_slug(self, slug: str) -> Product | None: ...

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        """The catalogue products among ``product_ids``, by id, in one round trip."""
        ...

    async def slugs_like(self, base: str) -> set[str]:
        """Slugs in use (archived products included) equal to ``base`` or ``base-<n>``.

        Call :meth:`lock_slug_base` first in the same transaction: then no other
        transaction picks from the same list until this one ends.
        """
        ...

    async def lock_slug_base(self, base: str) -> None:
        """Serialise slug allocation for ``base`` until the transaction ends, so that
        concurrent creations of same-named products each see the others' slugs."""
        ...

    async def change(
        self,
        product_id: int,
        changes: ProductChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> Product | None:
        """Set only the given fields (and ``updated_at``) of a catalogue product in one
        statement, bump its version, and return it as stored; None if not in the catalogue.

        Stock is written only when ``changes.stock`` is given. With ``expected_version``,
        a product whose version differs raises ``PreconditionFailed``, nothing written.
        """
        ...

    async def archive(
        self, product_id: int, at: datetime, expected_version: int | None = None
    ) -> bool:
        """Take a product out of the catalogue for good; False if it was not there.

        With ``expected_version``, a version that differs raises ``PreconditionFailed``.
        """
        ...

    async def list_page(self, query: ProductQuery) -> Slice[Product]: ...

    async def reserve_stock(
        self, product_id: int, quantity: int, at: datetime
    ) -> ReservedStock | None:
        """Atomically take ``quantity`` units of a catalogue product if that many are in
        stock, in one round trip; None if not (or if the product is not in the catalogue)."""
        ...

    async def release_stock(self, product_id: int, quantity: int, at: datetime) -> None:
        """Give back units taken by an order (archived products included)."""
        ...


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: str) -> RefreshToken | None: ...

    async def spend(self, token_hash: str, at: datetime) -> bool:
        """Mark a usable token used, atomically: of two concurrent calls one wins."""
        ...

    async def revoke_family(self, family_id: str, at: datetime) -> None: ...

    async def revoke_all_for_user(self, user_id: int, at: datetime) -> None:
        """End every refresh-token family of the user (a logout everywhere)."""
        ...

    async def purge(self, expired_before: datetime) -> int:
        """Delete tokens that expired before the given time; return how many.

        Spent and revoked tokens are kept until they expire: a spent token presented
        again is how reuse is detected, and its family revoked.
        """
        ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> Order:
        """Store a new order with its lines; return it with its id."""
        ...

    async def get(self, order_id: int) -> Order | None: ...

    async def cancel(self, order_id: int, at: datetime) -> bool:
        """Mark a placed order cancelled, atomically; False if it was not placed.

        Of two concurrent cancellations exactly one wins, so stock is returned once.
        """
        ...

    async def list_for_user(self, user_id: int, page: PageRequest) -> Slice[Order]:
        """The user's orders, newest first (by descending id)."""
        ...

    async def stats_for_user(self, user_id: int) -> UserStats:
        """Count and sum of the user's placed orders, computed by the store."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def get(self, user_id: int, key: str, not_before: datetime) -> IdempotencyRecord | None:
        """The record for this user and key, unless it was created before ``not_before``."""
        ...

    async def claim(self, record: IdempotencyRecord, not_before: datetime) -> None:
        """Store the record, replacing one created before ``not_before`` (expired).

        A live record for the same user and key raises ``Conflict``.
        """
        ...


# --- outbox and e-mail ----------------------------------------------------------------


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


class MailDeliveryError(Exception):
    """The message could not be handed to the mail server; it may succeed later."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over, within a bounded time; raise ``MailDeliveryError``."""
        ...


# --- transactions -----------------------------------------------------------------------


class UnitOfWork(Protocol):
    """One transaction: the repositories see and change the same state.

    Leaving the ``async with`` block without :meth:`commit` rolls everything back,
    including the events recorded with :meth:`record`.
    """

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    idempotency_keys: IdempotencyKeyRepository
    outbox: OutboxRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """Keep an event to be written to the outbox in this transaction."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""A fresh unit of work per use-case run, so concurrent requests never share one."""


# --- security ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    valid: bool
    new_hash: str | None = None
    """A fresh hash when the stored one uses outdated parameters."""


class PasswordHasher(Protocol):
    """Slow, salted password hashing; implementations never block the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, hashed: str) -> PasswordCheck: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so unknown e-mails cannot be told apart."""
        ...


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    """Seconds until it expires."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    token_version: int


class TokenService(Protocol):
    """Short-lived signed access tokens."""

    def issue_access_token(self, user: User) -> IssuedAccessToken: ...

    def read_access_token(self, token: str) -> AccessClaims:
        """Verify and decode; any defect raises ``InvalidCredentials``."""
        ...


@dataclass(frozen=True, slots=True)
class Admission:
    """A throttle's answer to one attempt."""

    keys: tuple[str, ...]
    ticket: str
    """Identifies the attempt, counted as a failure until cleared."""
    retry_after: int | None = None
    """Set when refused: seconds to wait. A refused attempt is not counted."""


class LoginThrottle(Protocol):
    """Counts password attempts per key (e-mail, client address) in a sliding window.

    An attempt counts from the moment it is admitted, before the password is checked,
    so however many arrive at once no more than the limit per key are checked.
    """

    async def admit(self, keys: Sequence[str]) -> Admission:
        """In one atomic step: refuse (``retry_after`` set, nothing counted) if any key is
        at its limit, else count the attempt against every key."""
        ...

    async def clear(self, admission: Admission) -> None:
        """The admitted attempt succeeded: it no longer counts."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every attempt counted against ``key``."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


__all__ = [
    "AccessClaims",
    "Admission",
    "Clock",
    "DependencyUnavailable",
    "EmailMessage",
    "IdempotencyKeyRepository",
    "IdempotencyRecord",
    "IssuedAccessToken",
    "KeysetPosition",
    "LoginThrottle",
    "MailDeliveryError",
    "Mailer",
    "OrderRepository",
    "OutboxMessage",
    "OutboxRepository",
    "PasswordCheck",
    "PasswordHasher",
    "ProductChanges",
    "ProductQuery",
    "ProductRepository",
    "ProductSort",
    "RefreshTokenRepository",
    "TokenService",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserChanges",
    "UserRepository",
]
