"""The shapes of HTTP requests and responses, as msgspec Structs.

Constraints live on the Structs (``Meta``) so the OpenAPI document shows them and
Litestar rejects bad input with a 422 before a use case runs; the business rules
proper are checked again by the domain. Request bodies forbid unknown fields, and
none of them has a field a client may not set (``id``, ``slug``, ``is_superuser``
on one's own profile...). Money leaves as a string with two decimal places and
times as RFC 3339 UTC.
"""

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
from domain.orders import MAX_LINES, MAX_QUANTITY, Order, OrderRequestLine, check_order_request
from domain.products import (
    CATEGORY_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    IMAGE_URL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    STOCK_MAX,
    Product,
    check_category,
    check_description,
    check_image_url,
    check_name,
    check_price,
)
from domain.users import (
    EMAIL_MAX_LENGTH,
    FULL_NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    User,
    normalise_email,
)

MAX_SKIP = 1_000_000_000
"""Largest offset a list accepts; deeper pages are reached with ``after`` cursors."""

T = TypeVar("T")

# --- field types ----------------------------------------------------------------------------

Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        description="E-mail address, compared case-insensitively",
        examples=["alice@example.com"],
    ),
]
NewPassword = Annotated[
    str,
    Meta(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
    ),
]
# A password being checked (not set) only needs a sane size bound: argon2 of a huge
# input would cost the server, and no stored password is longer than the maximum.
GivenPassword = Annotated[str, Meta(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
FullName = Annotated[str, Meta(max_length=FULL_NAME_MAX_LENGTH)]
RefreshTokenValue = Annotated[str, Meta(min_length=1, max_length=1024)]
ProductName = Annotated[str, Meta(min_length=1, max_length=NAME_MAX_LENGTH, examples=["Red Shirt"])]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX_LENGTH)]
MONEY_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
"""Money as clients send it: ASCII digits, at most 8 before the point and 2 after it."""
_MONEY = re.compile(MONEY_PATTERN.removesuffix("$"))
# A string, never a JSON number (a float cannot hold 0.10 exactly). msgspec's pattern
# lets a trailing newline through ($); money_amount matches the whole string.
Price = Annotated[
    str,
    Meta(
        pattern=MONEY_PATTERN,
        description="A decimal string greater than 0 with at most 2 decimal places",
        examples=["19.99"],
    ),
]
Stock = Annotated[int, Meta(ge=0, le=STOCK_MAX)]
Category = Annotated[str, Meta(min_length=1, max_length=CATEGORY_MAX_LENGTH, examples=["shirts"])]
ImageUrl = Annotated[
    str,
    Meta(
        max_length=IMAGE_URL_MAX_LENGTH,
        pattern=r"^https?://",
        description="Absolute http(s) URL",
        examples=["https://images.example.com/red-shirt.png"],
    ),
]
PositiveId = Annotated[int, Meta(ge=1, le=MAX_ID)]
Quantity = Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]
Money = Annotated[str, Meta(pattern=r"^-?\d+\.\d{2}$", examples=["19.99"])]
Timestamp = Annotated[datetime, Meta(tz=True, description="RFC 3339, UTC")]


# --- errors ---------------------------------------------------------------------------------


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


# --- health ---------------------------------------------------------------------------------


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok"]
    version: str


class Readiness(msgspec.Struct, frozen=True):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


# --- auth -----------------------------------------------------------------------------------


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    password: NewPassword
    full_name: FullName | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The JSON form of a login; the OAuth2 form uses ``username`` for the e-mail."""

    email: Annotated[str, Meta(min_length=1, max_length=EMAIL_MAX_LENGTH)]
    password: GivenPassword


class LoginForm(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """The OAuth2 password flow form (``grant_type``, ``scope`` and client fields are ignored)."""

    username: Annotated[str, Meta(min_length=1, max_length=EMAIL_MAX_LENGTH)]
    password: GivenPassword
    grant_type: Literal["password"] | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh_token: RefreshTokenValue


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    refresh_token: RefreshTokenValue


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int


# --- users ----------------------------------------------------------------------------------


class UserResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: Timestamp
    updated_at: Timestamp


class UserStatsResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: Timestamp
    updated_at: Timestamp
    order_count: int
    total_spent: Money


class ProfileUpdateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changing ``email`` or ``password`` requires ``current_password``."""

    full_name: FullName | UnsetType | None = UNSET
    email: Email | UnsetType = UNSET
    password: NewPassword | UnsetType = UNSET
    current_password: GivenPassword | UnsetType | None = UNSET


class AdminUserUpdateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    full_name: FullName | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET
    is_superuser: bool | UnsetType = UNSET


class UserPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[UserResponse]
    total: int
    page: int
    size: int
    pages: int
    next_cursor: str | None


# --- products -------------------------------------------------------------------------------


class ProductRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole product, as created (POST) or replaced (PUT); the slug is made by the server."""

    name: ProductName
    description: Description | None = None
    price: Price
    stock: Stock = 0
    category: Category
    image_url: ImageUrl | None = None


class ProductPatchRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change."""

    name: ProductName | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    price: Price | UnsetType = UNSET
    stock: Stock | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    image_url: ImageUrl | UnsetType | None = UNSET


class ProductResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    slug: str
    description: str | None
    price: Money
    stock: int
    category: str
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ProductPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ProductResponse]
    total: int
    page: int
    size: int
    pages: int
    next_cursor: str | None
    total_is_estimate: bool | UnsetType = UNSET
    """Present (true) only when ``total`` is an estimate: counting a very large filtered
    catalogue exactly on every page would cost more than the page itself."""


# --- orders ---------------------------------------------------------------------------------


class OrderItemRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: PositiveId
    quantity: Quantity


class OrderRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """1 to 100 lines, each product at most once."""

    items: Annotated[list[OrderItemRequest], Meta(min_length=1, max_length=MAX_LINES)]


class OrderLineResponse(msgspec.Struct, frozen=True, kw_only=True):
    product_id: int
    product_name: str
    unit_price: Money
    quantity: int
    line_total: Money


class OrderResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    status: Literal["placed", "cancelled"]
    items: list[OrderLineResponse]
    total: Money
    created_at: Timestamp
    updated_at: Timestamp


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[OrderResponse]
    total: int
    page: int
    size: int
    pages: int
    next_cursor: str | None


# --- business rules checked at the edge -----------------------------------------------------


def money_amount(text: str) -> Decimal:
    """A money string as an amount; anything but the exact pattern is refused."""
    if not _MONEY.fullmatch(text):
        raise InvalidInput(
            "Money is a string of ASCII digits with at most 2 decimal places, like 19.99",
            field="price",
        )
    return Decimal(text)


def _distinct_products(items: list[OrderItemRequest]) -> None:
    check_order_request(
        tuple(OrderRequestLine(product_id=i.product_id, quantity=i.quantity) for i in items)
    )


_PRODUCT_RULES: dict[str, Callable[[Any], object]] = {
    "name": check_name,
    "description": check_description,
    "price": lambda text: check_price(money_amount(text)),
    "category": check_category,
    "image_url": check_image_url,
}
FIELD_RULES: dict[type[msgspec.Struct], dict[str, Callable[[Any], object]]] = {
    ProductRequest: _PRODUCT_RULES,
    ProductPatchRequest: _PRODUCT_RULES,
    RegisterRequest: {"email": normalise_email},
    ProfileUpdateRequest: {"email": normalise_email},
    OrderRequest: {"items": _distinct_products},
}
"""The domain's rules on single fields, run with the type checks so that one 422 names
every offending field. The use cases check them again: they do not trust the edge."""


# --- from the domain ------------------------------------------------------------------------


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


def user_response(user: User) -> UserResponse:
    return UserResponse(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        created_at=utc(user.created_at),
        updated_at=utc(user.updated_at),
    )


def _page_fields(page: Page[Any]) -> dict[str, Any]:
    """The pagination fields every list response shares."""
    return {
        "total": page.total,
        "page": page.page,
        "size": page.limit,
        "pages": page.pages,
        "next_cursor": page.next_cursor,
    }


def user_page(page: Page[User]) -> UserPage:
    return UserPage(
        items=[user_response(user) for user in page.items],
        **_page_fields(page),
    )


def product_response(product: Product) -> ProductResponse:
    return ProductResponse(
        id=product.id,
        name=product.name,
        slug=product.slug,
        description=product.description,
        price=money(product.price),
        stock=product.stock,
        category=product.category,
        image_url=product.image_url,
        created_at=utc(product.created_at),
        updated_at=utc(product.updated_at),
    )


def product_page(page: Page[Product]) -> ProductPage:
    return ProductPage(
        items=[product_response(product) for product in page.items],
        **_page_fields(page),
        total_is_estimate=True if page.total_is_estimate else UNSET,
    )


def order_response(order: Order) -> OrderResponse:
    return OrderResponse(
        id=order.id,
        status=order.status.value,
        items=[
            OrderLineResponse(
                product_id=line.product_id,
                product_name=line.product_name,
                unit_price=money(line.unit_price),
                quantity=line.quantity,
                line_total=money(line.line_total),
            )
            for line in order.lines
        ],
        total=money(order.total),
        created_at=utc(order.created_at),
        updated_at=utc(order.updated_at),
    )


def order_page(page: Page[Order]) -> OrderPage:
    return OrderPage(
        items=[order_response(order) for order in page.items],
        **_page_fields(page),
    )


def given(value: T | UnsetType) -> T | Unset:
    """msgspec's "field absent" as the use cases spell it."""
    return UNSET_FIELD if isinstance(value, UnsetType) else value


def given_money(value: str | UnsetType) -> Decimal | Unset:
    """An optional money field as the use cases take it."""
    return UNSET_FIELD if isinstance(value, UnsetType) else money_amount(value)


def closed_struct_names() -> list[str]:
    """Names of the request Structs that refuse unknown fields."""
    return [
        struct.__name__
        for struct in _request_structs()
        if struct.__struct_config__.forbid_unknown_fields
    ]


def _request_structs() -> list[type[msgspec.Struct]]:
    return [
        value
        for value in globals().values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__module__ == __name__
    ]
