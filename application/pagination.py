"""Offset and keyset pagination shared by every list use case.

A keyset cursor is opaque to clients: URL-safe base64 of a small JSON document
holding the sort it belongs to and the position of the last item served.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.errors import InvalidInput

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class KeysetPosition:
    """Where the previous page ended: its last item's sort value (as text) and id."""

    value: str | None
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


def encode_cursor(sort: str, position: KeysetPosition) -> str:
    raw = json.dumps([sort, position.value, position.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: str) -> KeysetPosition:
    """Read a cursor made by :func:`encode_cursor` for the same sort, or refuse it."""
    invalid = InvalidInput("after is not a valid cursor for this list", field="query.after")
    if len(cursor) > 1024:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, item_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    if (
        cursor_sort != sort
        or not (value is None or isinstance(value, str))
        or not isinstance(item_id, int)
        or isinstance(item_id, bool)
    ):
        raise invalid
    return KeysetPosition(value=value, id=item_id)


def page_request(skip: int, limit: int, after: str | None, sort: str) -> PageRequest:
    """A page by offset, or by the cursor of the previous page when ``after`` is given."""
    position = None if after is None else decode_cursor(after, sort)
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
