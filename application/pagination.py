"""Offset and keyset pagination shared by every list use case.

A keyset cursor is opaque to clients: URL-safe base64 of a small JSON document
holding the sort it belongs to and the position of the last item served. A cursor
is decoded once, here, into a typed :class:`KeysetPosition` whose values are checked
against the ranges the stores hold; anything else a client sends is refused (422),
so no adapter ever sees an out-of-range id, price or time.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from domain.errors import InvalidInput
from domain.ids import MAX_ID

T = TypeVar("T")

SortValue = str | Decimal | datetime | None
"""A keyset position's sort value: a name, a price, a time, or none (sorting by id)."""
ReadSortValue = Callable[[str | None], SortValue]
"""Turns a cursor's text back into a sort value, raising ``ValueError`` if it cannot be one."""

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class KeysetPosition:
    """Where the previous page ended: its last item's sort value and id."""

    value: SortValue
    id: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    skip: int = 0
    limit: int = 20
    after: KeysetPosition | None = None

    def __post_init__(self) -> None:
        if self.skip < 0:
            raise InvalidInput("skip must be 0 or more", field="query.skip")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be 1 to {MAX_PAGE_SIZE}", field="query.limit")


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    """What a repository returns for one page: the rows, the total, and whether more follow."""

    items: Sequence[T]
    total: int
    has_more: bool
    total_is_estimate: bool = False
    """True when ``total`` is the database's estimate (large result sets), not a count."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    skip: int
    limit: int
    next_cursor: str | None
    total_is_estimate: bool = False

    @property
    def page(self) -> int:
        return self.skip // self.limit + 1

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit)


def _value_text(value: SortValue) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def no_sort_value(text: str | None) -> None:
    """The sort value reader of lists sorted by id alone: there is none."""
    if text is not None:
        raise ValueError("a list sorted by id has no sort value")


def read_utc_time(text: str | None) -> datetime:
    """An RFC 3339 time with its offset, that is a valid time in UTC too."""
    if text is None:
        raise ValueError("a time is required")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time needs its UTC offset")
    # 0001-01-01T00:00:00+14:00 exists, but not in UTC (OverflowError).
    return moment.astimezone(UTC)


def encode_cursor(sort: str, position: KeysetPosition) -> str:
    raw = json.dumps(
        [sort, _value_text(position.value), position.id], separators=(",", ":")
    ).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(
    cursor: str, sort: str, read_value: ReadSortValue = no_sort_value
) -> KeysetPosition:
    """Read a cursor made by :func:`encode_cursor` for the same sort, or refuse it (422).

    ``read_value`` turns the sort value's text into a value of the sort column, in range.
    """
    invalid = InvalidInput("after is not a valid cursor for this list", field="query.after")
    if len(cursor) > 1024:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, text, item_id = json.loads(raw)
        if (
            cursor_sort != sort
            or not (text is None or isinstance(text, str))
            or type(item_id) is not int
            or not 1 <= item_id <= MAX_ID
        ):
            raise invalid
        return KeysetPosition(value=read_value(text), id=item_id)
    except (binascii.Error, ValueError, TypeError, ArithmeticError, RecursionError):
        raise invalid from None


def page_request(
    skip: int,
    limit: int,
    after: str | None,
    sort: str,
    read_value: ReadSortValue = no_sort_value,
) -> PageRequest:
    """A page by offset, or by the cursor of the previous page when ``after`` is given."""
    position = None if after is None else decode_cursor(after, sort, read_value)
    return PageRequest(skip=skip, limit=limit, after=position)


def page_from_slice(
    found: Slice[T], request: PageRequest, sort: str, position_of: Callable[[T], KeysetPosition]
) -> Page[T]:
    """Assemble the page a client sees, with the cursor of its last item if more follow."""
    next_cursor = None
    if found.has_more and found.items:
        next_cursor = encode_cursor(sort, position_of(found.items[-1]))
    return Page(
        items=found.items,
        total=found.total,
        skip=request.skip,
        limit=request.limit,
        next_cursor=next_cursor,
        total_is_estimate=found.total_is_estimate,
    )
