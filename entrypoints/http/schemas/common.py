"""What every context's HTTP schemas share: problems, health, money and time on the wire,
the pagination fields and the conversion of absent fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.changes import UNSET as UNSET_FIELD
from application.changes import Unset
from application.pagination import Page
from domain.errors import InvalidInput
from domain.ids import MAX_ID

MAX_SKIP = 1_000_000_000
"""Largest offset a list accepts; deeper pages are reached with ``after`` cursors."""


T = TypeVar("T")

FieldRules = dict[str, Callable[[Any], object]]
"""The domain's rules on single fields of a request Struct, kept on the Struct as its
``field_rules`` class variable and run with the type checks so that one 422 names
every offending field. The use cases check them again: they do not trust the edge."""


MONEY_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
"""Money as clients send it: ASCII digits, at most 8 before the point and 2 after it."""


_MONEY = re.compile(MONEY_PATTERN.removesuffix("$"))


PositiveId = Annotated[int, Meta(ge=1, le=MAX_ID)]


Money = Annotated[str, Meta(pattern=r"^-?\d+\.\d{2}$", examples=["19.99"])]


Timestamp = Annotated[datetime, Meta(tz=True, description="RFC 3339, UTC")]


class FieldError(msgspec.Struct, frozen=True):
    """One offending input field: ``body.price``, ``query.limit``, ``header.Idempotency-Key``."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | UnsetType = UNSET
    checks: dict[str, str] | UnsetType = UNSET
    """Readiness only: the state of each dependency."""


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok"]
    version: str


class Readiness(msgspec.Struct, frozen=True):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


def money_amount(text: str) -> Decimal:
    """A money string as an amount; anything but the exact pattern is refused."""
    if not _MONEY.fullmatch(text):
        raise InvalidInput(
            "Money is a string of ASCII digits with at most 2 decimal places, like 19.99",
            field="price",
        )
    return Decimal(text)


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def utc(moment: datetime) -> datetime:
    """Times leave in UTC (a naive time is taken to be UTC already)."""
    zone = moment.tzinfo
    if zone is UTC:  # the usual case, decided without computing an offset
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def page_fields(page: Page[Any]) -> dict[str, Any]:
    """The pagination fields every list response shares."""
    return {
        "total": page.total,
        "page": page.page,
        "size": page.limit,
        "pages": page.pages,
        "next_cursor": page.next_cursor,
    }


def given(value: T | UnsetType) -> T | Unset:
    """msgspec's "field absent" as the use cases spell it."""
    return UNSET_FIELD if isinstance(value, UnsetType) else value


def given_money(value: str | UnsetType) -> Decimal | Unset:
    """An optional money field as the use cases take it."""
    return UNSET_FIELD if isinstance(value, UnsetType) else money_amount(value)


def closed_struct_names() -> list[str]:
    """Names of the request Structs that refuse unknown fields, in every context's module."""
    return sorted(
        struct.__name__
        for struct in _request_structs(msgspec.Struct)
        if struct.__module__.startswith(_PACKAGE) and struct.__struct_config__.forbid_unknown_fields
    )


_PACKAGE = __name__.rpartition(".")[0] + "."


def _request_structs(base: type[msgspec.Struct]) -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_request_structs(sub))
    return found
