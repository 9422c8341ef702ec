"""In-memory twins of the repositories and the unit of work.

They are real implementations, held to the same contract tests as the SQL adapters:
same id order, same uniqueness rules, same ordering and tie-breaks, same rollback.
One :class:`InMemoryStore` holds all state; every :class:`InMemoryUnitOfWork` made on it
takes the store's lock for its whole ``async with`` block, so transactions are
serialised the way a database serialises conflicting writers.

Changes are applied in place and journalled; leaving the block without ``commit``
replays the journal backwards. Entities go in and out as copies, so a caller mutating
a returned object changes nothing until it calls ``update``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

from adapters.clock import SystemClock
from adapters.trace_context import current_traceparent
from application.changes import UNSET
from application.pagination import KeysetPosition, PageRequest, Slice
from application.ports import (
    Clock,
    IdempotencyKeyRepository,
    IdempotencyRecord,
    OrderRepository,
    OutboxMessage,
    OutboxRepository,
    ProductChanges,
    ProductQuery,
    ProductRepository,
    ProductSort,
    RefreshTokenRepository,
    ReservedStock,
    UserChanges,
    UserRepository,
)
from domain.errors import Conflict, PreconditionFailed
from domain.events import DomainEvent
from domain.orders import Order, OrderStatus, UserStats
from domain.products import Product
from domain.sessions import RefreshToken
from domain.users import User

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


_MISSING: Any = object()

# Both databases fold only ASCII letters in lower(): PostgreSQL because product names
# use the "C" collation (byte order, the same as SQLite and as Python's str ordering),
# SQLite because its built-in lower() is ASCII-only. The twin folds the same way.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQL ``lower()`` does on both databases."""
    return text.translate(_ASCII_LOWER)


class _Journal:
    """Undo log of one transaction: the previous value of every key it touched."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: list[tuple[MutableMapping[Any, Any], Any, Any]] = []

    def put(self, mapping: MutableMapping[K, V], key: K, value: V) -> None:
        self._entries.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def delete(self, mapping: MutableMapping[K, V], key: K) -> None:
        self._entries.append((mapping, key, mapping.pop(key)))

    def undo(self) -> None:
        for mapping, key, previous in reversed(self._entries):
            if previous is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = previous
        self._entries.clear()

    def forget(self) -> None:
        self._entries.clear()


@dataclass(slots=True)
class OutboxRecord:
    """One row of the in-memory outbox, with the columns of the SQL table."""

    id: int
    event: DomainEvent
    created_at: datetime
    next_attempt_at: datetime
    status: str = "pending"
    attempts: int = 0
    locked_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    traceparent: str | None = None


@dataclass(eq=False)
class InMemoryStore:
    """Everything the in-memory adapters hold; one per application or test."""

    users: dict[int, User] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    archived_products: dict[int, datetime] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    idempotency_keys: dict[tuple[int, str], IdempotencyRecord] = field(default_factory=dict)
    outbox: dict[int, OutboxRecord] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Like database sequences, id counters never go back, even on rollback.
    user_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    product_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    order_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    outbox_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def events(self) -> list[DomainEvent]:
        """Events of committed units of work still in the outbox, oldest first."""
        return [record.event for record in sorted(self.outbox.values(), key=_by_id)]


def _by_id(record: OutboxRecord) -> int:
    return record.id


def _check_version(kind: str, entity: User | Product, expected_version: int | None) -> None:
    if expected_version is not None and entity.version != expected_version:
        raise PreconditionFailed(f"{kind} {entity.id} has changed since version {expected_version}")


def _apply(entity: T, changes: object, fields: Sequence[str]) -> None:
    """Set the given (not UNSET) fields of ``changes`` on ``entity``."""
    for name in fields:
        value = getattr(changes, name)
        if value is not UNSET:
            setattr(entity, name, value)


_USER_CHANGE_FIELDS = ("email", "hashed_password", "full_name", "is_active", "is_superuser")
_PRODUCT_CHANGE_FIELDS = ("name", "description", "price", "stock", "category", "image_url")


def _page(rows: Sequence[T], page: PageRequest, after: Callable[[T], bool] | None) -> Slice[T]:
    """Cut one page out of rows already filtered and sorted."""
    total = len(rows)
    if page.after is not None and after is not None:
        start = next((index for index, row in enumerate(rows) if after(row)), total)
    else:
        start = page.skip
    items = rows[start : start + page.limit]
    return Slice(items=items, total=total, has_more=start + page.limit < total)


class InMemoryUserRepository:
    """Users in an :class:`InMemoryStore`; e-mails unique regardless of case."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    def _check_email_free(self, email: str, user_id: int) -> None:
        wanted = ascii_lower(email)
        for other in self._store.users.values():
            if other.id != user_id and ascii_lower(other.email) == wanted:
                raise Conflict("E-mail already registered")

    async def add(self, user: User) -> User:
        self._check_email_free(user.email, user_id=0)
        stored = copy.copy(user)
        stored.id = next(self._store.user_ids)
        self._journal.put(self._store.users, stored.id, stored)
        return copy.copy(stored)

    async def get(self, user_id: int) -> User | None:
        user = self._store.users.get(user_id)
        return copy.copy(user) if user is not None else None

    async def get_by_email(self, email: str) -> User | None:
        wanted = ascii_lower(email)
        for user in self._store.users.values():
            if ascii_lower(user.email) == wanted:
                return copy.copy(user)
        return None

    async def get_for_update(self, user_id: int) -> User | None:
        # Units of work on the store are serialised: every read is as good as locked.
        return await self.get(user_id)

    async def lock_active_superusers(self) -> list[int]:
        return sorted(
            user.id for user in self._store.users.values() if user.is_active and user.is_superuser
        )

    async def change(
        self,
        user_id: int,
        changes: UserChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> User | None:
        current = self._store.users.get(user_id)
        if current is None:
            return None
        _check_version("User", current, expected_version)
        if changes.email is not UNSET:
            self._check_email_free(changes.email, user_id)
        stored = copy.copy(current)
        _apply(stored, changes, _USER_CHANGE_FIELDS)
        if changes.end_sessions:
            stored.token_version += 1
        stored.version += 1
        stored.updated_at = at
        self._journal.put(self._store.users, user_id, stored)
        return copy.copy(stored)

    async def list_page(self, page: PageRequest) -> Slice[User]:
        rows = sorted(self._store.users.values(), key=lambda user: user.id)
        after = page.after
        found = _page(rows, page, (lambda user: user.id > after.id) if after else None)
        return Slice([copy.copy(u) for u in found.items], found.total, found.has_more)


_SLUG_NUMBER = re.compile(r"-[0-9]+")


def _sort_value(product: Product, sort_field: str) -> Any:
    return getattr(product, sort_field)


class InMemoryProductRepository:
    """The catalogue in an :class:`InMemoryStore`; archived products keep their slugs."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    def _live(self, product_id: int) -> Product | None:
        if product_id in self._store.archived_products:
            return None
        return self._store.products.get(product_id)

    def _check_slug_free(self, slug: str, product_id: int) -> None:
        for other in self._store.products.values():
            if other.id != product_id and other.slug == slug:
                raise Conflict(f"Slug {slug!r} is already taken")

    async def add(self, product: Product) -> Product:
        self._check_slug_free(product.slug, product_id=0)
        stored = copy.copy(product)
        stored.id = next(self._store.product_ids)
        self._journal.put(self._store.products, stored.id, stored)
        return copy.copy(stored)

    async def get(self, product_id: int) -> Product | None:
        product = self._live(product_id)
        return copy.copy(product) if product is not None else None

    async def get_by_slug(self, slug: str) -> Product | None:
        for product in self._store.products.values():
            if product.slug == slug and product.id not in self._store.archived_products:
                return copy.copy(product)
        return None

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        found: dict[int, Product] = {}
        for product_id in product_ids:
            product = self._live(product_id)
            if product is not None:
                found[product_id] = copy.copy(product)
        return found

    async def lock_slug_base(self, base: str) -> None:
        """Units of work on the store are serialised already."""

    async def slugs_like(self, base: str) -> set[str]:
        prefix = base + "-"
        return {
            product.slug
            for product in self._store.products.values()
            if product.slug == base
            or (
                product.slug.startswith(prefix)
                and _SLUG_NUMBER.fullmatch(product.slug, len(base)) is not None
            )
        }

    async def change(
        self,
        product_id: int,
        changes: ProductChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> Product | None:
        current = self._live(product_id)
        if current is None:
            return None
        _check_version("Product", current, expected_version)
        stored = copy.copy(current)
        _apply(stored, changes, _PRODUCT_CHANGE_FIELDS)
        stored.version += 1
        stored.updated_at = at
        self._journal.put(self._store.products, product_id, stored)
        return copy.copy(stored)

    async def archive(
        self, product_id: int, at: datetime, expected_version: int | None = None
    ) -> bool:
        current = self._live(product_id)
        if current is None:
            return False
        _check_version("Product", current, expected_version)
        self._journal.put(self._store.archived_products, product_id, at)
        stored = copy.copy(current)
        stored.updated_at = at
        stored.version += 1
        self._journal.put(self._store.products, product_id, stored)
        return True

    async def list_page(self, query: ProductQuery) -> Slice[Product]:
        rows: Iterable[Product] = (
            product
            for product in self._store.products.values()
            if product.id not in self._store.archived_products
        )
        if query.category is not None:
            category = query.category
            rows = (product for product in rows if product.category == category)
        if query.search:
            needle = ascii_lower(query.search)
            rows = (product for product in rows if needle in ascii_lower(product.name))
        sort = query.sort
        sort_field = sort.field
        if sort is ProductSort.ID:
            ordered = sorted(rows, key=lambda product: product.id, reverse=sort.descending)
        else:
            ordered = sorted(
                rows,
                key=lambda product: (_sort_value(product, sort_field), product.id),
                reverse=sort.descending,
            )
        after_test: Callable[[Product], bool] | None = None
        position = query.page.after
        if position is not None:
            after_test = self._after(sort, position)
        found = _page(ordered, query.page, after_test)
        return Slice([copy.copy(p) for p in found.items], found.total, found.has_more)

    @staticmethod
    def _after(sort: ProductSort, position: KeysetPosition) -> Callable[[Product], bool]:
        descending = sort.descending
        if sort is ProductSort.ID:
            if descending:
                return lambda product: product.id < position.id
            return lambda product: product.id > position.id
        sort_field = sort.field
        mark = (position.value, position.id)
        if descending:
            return lambda product: (_sort_value(product, sort_field), product.id) < mark
        return lambda product: (_sort_value(product, sort_field), product.id) > mark

    async def reserve_stock(
        self, product_id: int, quantity: int, at: datetime
    ) -> ReservedStock | None:
        current = self._live(product_id)
        if current is None or current.stock < quantity:
            return None
        stored = copy.copy(current)
        stored.stock -= quantity
        stored.updated_at = at
        stored.version += 1
        self._journal.put(self._store.products, product_id, stored)
        return ReservedStock(product_id=product_id, name=stored.name, price=stored.price)

    async def release_stock(self, product_id: int, quantity: int, at: datetime) -> None:
        current = self._store.products.get(product_id)
        if current is None:
            return
        stored = copy.copy(current)
        stored.stock += quantity
        stored.updated_at = at
        stored.version += 1
        self._journal.put(self._store.products, product_id, stored)


class InMemoryRefreshTokenRepository:
    """Refresh tokens in an :class:`InMemoryStore`, keyed by their hash."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    async def add(self, token: RefreshToken) -> None:
        if token.token_hash in self._store.refresh_tokens:
            raise Conflict("Refresh token already stored")
        self._journal.put(self._store.refresh_tokens, token.token_hash, copy.copy(token))

    async def get(self, token_hash: str) -> RefreshToken | None:
        token = self._store.refresh_tokens.get(token_hash)
        return copy.copy(token) if token is not None else None

    async def spend(self, token_hash: str, at: datetime) -> bool:
        token = self._store.refresh_tokens.get(token_hash)
        if token is None or not token.is_usable(at):
            return False
        spent = copy.copy(token)
        spent.used_at = at
        self._journal.put(self._store.refresh_tokens, token_hash, spent)
        return True

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        for token in list(self._store.refresh_tokens.values()):
            if token.family_id == family_id and token.revoked_at is None:
                revoked = copy.copy(token)
                revoked.revoked_at = at
                self._journal.put(self._store.refresh_tokens, token.token_hash, revoked)

    async def revoke_all_for_user(self, user_id: int, at: datetime) -> None:
        for token in list(self._store.refresh_tokens.values()):
            if token.user_id == user_id and token.revoked_at is None:
                revoked = copy.copy(token)
                revoked.revoked_at = at
                self._journal.put(self._store.refresh_tokens, token.token_hash, revoked)

    async def purge(self, expired_before: datetime) -> int:
        doomed = [
            token.token_hash
            for token in self._store.refresh_tokens.values()
            if token.expires_at < expired_before
        ]
        for token_hash in doomed:
            self._journal.delete(self._store.refresh_tokens, token_hash)
        return len(doomed)


class InMemoryOrderRepository:
    """Orders in an :class:`InMemoryStore`; lines are immutable and shared safely."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    async def add(self, order: Order) -> Order:
        stored = copy.copy(order)
        stored.id = next(self._store.order_ids)
        self._journal.put(self._store.orders, stored.id, stored)
        return copy.copy(stored)

    async def get(self, order_id: int) -> Order | None:
        order = self._store.orders.get(order_id)
        return copy.copy(order) if order is not None else None

    async def cancel(self, order_id: int, at: datetime) -> bool:
        current = self._store.orders.get(order_id)
        if current is None or current.status is not OrderStatus.PLACED:
            return False
        stored = copy.copy(current)
        stored.status = OrderStatus.CANCELLED
        stored.updated_at = at
        self._journal.put(self._store.orders, order_id, stored)
        return True

    async def list_for_user(self, user_id: int, page: PageRequest) -> Slice[Order]:
        rows = sorted(
            (order for order in self._store.orders.values() if order.user_id == user_id),
            key=lambda order: order.id,
            reverse=True,
        )
        after = page.after
        found = _page(rows, page, (lambda order: order.id < after.id) if after else None)
        return Slice([copy.copy(o) for o in found.items], found.total, found.has_more)

    async def stats_for_user(self, user_id: int) -> UserStats:
        placed = [
            order.total
            for order in self._store.orders.values()
            if order.user_id == user_id and order.status is OrderStatus.PLACED
        ]
        return UserStats(order_count=len(placed), total_spent=sum(placed, Decimal("0.00")))


class InMemoryIdempotencyKeyRepository:
    """Idempotency records in an :class:`InMemoryStore`, one per user and key."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    async def get(self, user_id: int, key: str, not_before: datetime) -> IdempotencyRecord | None:
        record = self._store.idempotency_keys.get((user_id, key))
        if record is None or record.created_at < not_before:
            return None
        return record

    async def claim(self, record: IdempotencyRecord, not_before: datetime) -> None:
        """Store ``record``; an existing one created before ``not_before`` is replaced."""
        existing = self._store.idempotency_keys.get((record.user_id, record.key))
        if existing is not None and existing.created_at >= not_before:
            raise Conflict("Idempotency key already used")
        self._journal.put(self._store.idempotency_keys, (record.user_id, record.key), record)


class InMemoryOutboxRepository:
    """The outbox of an :class:`InMemoryStore`; events are kept as objects, not encoded."""

    def __init__(self, store: InMemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    def _change(self, record: OutboxRecord, **changes: Any) -> None:
        changed = copy.copy(record)
        for name, value in changes.items():
            setattr(changed, name, value)
        self._journal.put(self._store.outbox, record.id, changed)

    def _pending(self, message_id: int) -> OutboxRecord | None:
        record = self._store.outbox.get(message_id)
        return record if record is not None and record.status == "pending" else None

    async def claim(self, limit: int, now: datetime, lease_until: datetime) -> list[OutboxMessage]:
        due = [
            record
            for record in sorted(self._store.outbox.values(), key=_by_id)
            if record.status == "pending"
            and record.next_attempt_at <= now
            and (record.locked_until is None or record.locked_until <= now)
        ][:limit]
        for record in due:
            self._change(record, locked_until=lease_until)
        return [
            OutboxMessage(
                id=record.id,
                event=record.event,
                attempts=record.attempts,
                created_at=record.created_at,
                traceparent=record.traceparent,
            )
            for record in due
        ]

    async def mark_delivered(self, message_id: int, at: datetime) -> None:
        record = self._store.outbox.get(message_id)
        if record is not None:
            self._change(record, status="delivered", delivered_at=at, locked_until=None)

    async def retry_later(self, message_id: int, error: str, not_before: datetime) -> None:
        record = self._pending(message_id)
        if record is not None:
            self._change(
                record,
                attempts=record.attempts + 1,
                last_error=error,
                next_attempt_at=not_before,
                locked_until=None,
            )

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        record = self._pending(message_id)
        if record is not None:
            self._change(
                record,
                status="failed",
                attempts=record.attempts + 1,
                last_error=error,
                failed_at=at,
                locked_until=None,
            )

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give leased messages back without counting an attempt (a dispatcher stopping)."""
        for message_id in message_ids:
            record = self._pending(message_id)
            if record is not None:
                self._change(record, locked_until=None)

    async def purge_delivered(self, before: datetime) -> int:
        doomed = [
            record.id
            for record in self._store.outbox.values()
            if record.status == "delivered"
            and record.delivered_at is not None
            and record.delivered_at < before
        ]
        for message_id in doomed:
            self._journal.delete(self._store.outbox, message_id)
        return len(doomed)

    async def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "delivered", "failed"), 0)
        for record in self._store.outbox.values():
            counts[record.status] += 1
        return counts


_SYSTEM_CLOCK = SystemClock()


class InMemoryUnitOfWork:
    """One serialised transaction over an :class:`InMemoryStore`.

    Not re-entrant; make a fresh one per use-case run
    (``lambda: InMemoryUnitOfWork(store, clock=clock)``). Recorded events join the
    store's outbox on :meth:`commit`, stamped with ``clock``'s time (the dispatcher
    must use the same clock).
    """

    users: UserRepository
    products: ProductRepository
    orders: OrderRepository
    refresh_tokens: RefreshTokenRepository
    idempotency_keys: IdempotencyKeyRepository
    outbox: OutboxRepository

    def __init__(self, store: InMemoryStore, *, clock: Clock | None = None) -> None:
        self._store = store
        self._clock: Clock = clock or _SYSTEM_CLOCK
        self._journal = _Journal()
        self._events: list[DomainEvent] = []
        self._active = False

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("This unit of work is already in use")
        await self._store.lock.acquire()
        self._active = True
        store, journal = self._store, self._journal
        self.users = InMemoryUserRepository(store, journal)
        self.products = InMemoryProductRepository(store, journal)
        self.orders = InMemoryOrderRepository(store, journal)
        self.refresh_tokens = InMemoryRefreshTokenRepository(store, journal)
        self.idempotency_keys = InMemoryIdempotencyKeyRepository(store, journal)
        self.outbox = InMemoryOutboxRepository(store, journal)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._journal.undo()
            self._events.clear()
        finally:
            self._active = False
            self._store.lock.release()

    async def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit() outside the unit of work's async with block")
        self._journal.forget()
        if self._events:
            now = self._clock.now()
            traceparent = current_traceparent()
            for event in self._events:
                message_id = next(self._store.outbox_ids)
                self._store.outbox[message_id] = OutboxRecord(
                    id=message_id,
                    event=event,
                    created_at=now,
                    next_attempt_at=now,
                    traceparent=traceparent,
                )
            self._events.clear()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)


__all__ = [
    "InMemoryIdempotencyKeyRepository",
    "InMemoryOrderRepository",
    "InMemoryOutboxRepository",
    "InMemoryProductRepository",
    "InMemoryRefreshTokenRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUserRepository",
    "OutboxRecord",
]
