"""HTTP schemas of the catalogue context: products and pages of them."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.pagination import Page
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
from entrypoints.http.schemas.common import (
    MONEY_PATTERN,
    FieldRules,
    Money,
    Timestamp,
    money,
    money_amount,
    page_fields,
    utc,
)

ProductName = Annotated[str, Meta(min_length=1, max_length=NAME_MAX_LENGTH, examples=["Red Shirt"])]


Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX_LENGTH)]


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


_PRODUCT_RULES: FieldRules = {
    "name": check_name,
    "description": check_description,
    "price": lambda text: check_price(money_amount(text)),
    "category": check_category,
    "image_url": check_image_url,
}


class ProductRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole product, as created (POST) or replaced (PUT); the slug is made by the server."""

    field_rules: ClassVar[FieldRules] = _PRODUCT_RULES

    name: ProductName
    description: Description | None = None
    price: Price
    stock: Stock = 0
    category: Category
    image_url: ImageUrl | None = None


class ProductPatchRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change."""

    field_rules: ClassVar[FieldRules] = _PRODUCT_RULES

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
        **page_fields(page),
        total_is_estimate=True if page.total_is_estimate else UNSET,
    )
