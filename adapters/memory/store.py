"""The state the in-memory twins share: one :class:`InMemoryStore` and the undo journal.

One store holds all state; every unit of work made on it takes the store's lock for
its whole ``async with`` block, so transactions are serialised the way a database
serialises conflicting writers. Changes are applied in place and journalled; leaving
the block without ``commit`` replays the journal backwards.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from application.changes import UNSET
from application.pagination import PageRequest, Slice
from application.ports.ordering import IdempotencyRecord
from domain.email_tokens import EmailToken
from domain.errors import PreconditionFailed
from domain.events import DomainEvent
from domain.orders import Order
from domain.products import Product
from domain.sessions import LoginSession, RefreshToken
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


class Journal:
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
    email_tokens: dict[str, EmailToken] = field(default_factory=dict)
    sessions: dict[int, LoginSession] = field(default_factory=dict)
    idempotency_keys: dict[tuple[int, str], IdempotencyRecord] = field(default_factory=dict)
    outbox: dict[int, OutboxRecord] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Like database sequences, id counters never go back, even on rollback.
    user_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    product_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    order_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    session_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    outbox_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def events(self) -> list[DomainEvent]:
        """Events of committed units of work still in the outbox, oldest first."""
        return [record.event for record in sorted(self.outbox.values(), key=by_id)]


def by_id(record: OutboxRecord) -> int:
    return record.id


def check_version(kind: str, entity: User | Product, expected_version: int | None) -> None:
    if expected_version is not None and entity.version != expected_version:
        raise PreconditionFailed(f"{kind} {entity.id} has changed since version {expected_version}")


def apply_changes(entity: T, changes: object, fields: Sequence[str]) -> None:
    """Set the given (not UNSET) fields of ``changes`` on ``entity``."""
    for name in fields:
        value = getattr(changes, name)
        if value is not UNSET:
            setattr(entity, name, value)


def cut_page(rows: Sequence[T], page: PageRequest, after: Callable[[T], bool] | None) -> Slice[T]:
    """Cut one page out of rows already filtered and sorted."""
    total = len(rows)
    if page.after is not None and after is not None:
        start = next((index for index, row in enumerate(rows) if after(row)), total)
    else:
        start = page.skip
    items = rows[start : start + page.limit]
    return Slice(items=items, total=total, has_more=start + page.limit < total)
