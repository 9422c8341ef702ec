"""Products of the catalogue and the rules on their names, prices and stock."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from domain.errors import InsufficientStock, InvalidInput
from domain.ids import NEW_ID

NAME_MAX_LENGTH = 200
CATEGORY_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 5000
IMAGE_URL_MAX_LENGTH = 2048
SLUG_MAX_LENGTH = 220
PRICE_MAX = Decimal("99999999.99")
STOCK_MAX = 2_147_483_647

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """``"Red Shirt"`` -> ``"red-shirt"``; accents folded, never empty."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_name.lower()).strip("-")
    return slug[: SLUG_MAX_LENGTH - 12].rstrip("-") or "product"


def numbered_slug(base: str, taken: set[str]) -> str:
    """The first of ``base``, ``base-2``, ``base-3``... that is not taken."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidInput(f"Name must be 1 to {NAME_MAX_LENGTH} characters long", field="name")
    return name


def check_category(category: str) -> str:
    category = category.strip()
    if not 1 <= len(category) <= CATEGORY_MAX_LENGTH:
        raise InvalidInput(
            f"Category must be 1 to {CATEGORY_MAX_LENGTH} characters long", field="category"
        )
    return category


def check_price(price: Decimal) -> Decimal:
    try:
        exponent = price.as_tuple().exponent
        if not isinstance(exponent, int) or not price.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidInput("Price must be a decimal number", field="price") from None
    if price <= 0 or price > PRICE_MAX:
        raise InvalidInput(f"Price must be greater than 0 and at most {PRICE_MAX}", field="price")
    if exponent < -2 and price != price.quantize(Decimal("0.01")):
        raise InvalidInput("Price must have at most two decimal places", field="price")
    return price.quantize(Decimal("0.01"))


def check_stock(stock: int) -> int:
    if not 0 <= stock <= STOCK_MAX:
        raise InvalidInput(f"Stock must be between 0 and {STOCK_MAX}", field="stock")
    return stock


def check_image_url(url: str | None) -> str | None:
    """Only absolute http(s) URLs: the server never fetches them, clients do."""
    if url is None:
        return None
    invalid = InvalidInput("Image URL must be an absolute http or https URL", field="image_url")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" or "]" in the host ("Invalid IPv6 URL")
        raise invalid from None
    if (
        len(url) > IMAGE_URL_MAX_LENGTH
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() for ch in url)
    ):
        raise invalid
    return url


def check_description(description: str | None) -> str | None:
    if description is not None and len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"Description must be at most {DESCRIPTION_MAX_LENGTH} characters long",
            field="description",
        )
    return description


@dataclass(slots=True)
class Product:
    id: int
    name: str
    slug: str
    description: str | None
    price: Decimal
    stock: int
    category: str
    image_url: str | None
    created_at: datetime
    updated_at: datetime
    # Bumped by every write, stock changes by orders included: what an ETag is made of.
    version: int = 1

    @classmethod
    def new(cls, details: ProductDetails, *, slug: str, at: datetime) -> Product:
        """A catalogue entry not stored yet: the store assigns its id."""
        return cls(
            id=NEW_ID,
            name=details.name,
            slug=slug,
            description=details.description,
            price=details.price,
            stock=details.stock,
            category=details.category,
            image_url=details.image_url,
            created_at=at,
            updated_at=at,
        )

    def take(self, quantity: int) -> None:
        """Remove ``quantity`` units from stock, refusing to go below zero."""
        if quantity > self.stock:
            raise InsufficientStock(self.id, quantity)
        self.stock -= quantity

    def give_back(self, quantity: int) -> None:
        """Return ``quantity`` units to stock (a cancelled order's line)."""
        self.stock += quantity


@dataclass(frozen=True, slots=True)
class ProductDetails:
    """The client-settable part of a product, validated as a whole."""

    name: str
    description: str | None
    price: Decimal
    stock: int
    category: str
    image_url: str | None

    @classmethod
    def checked(
        cls,
        *,
        name: str,
        description: str | None,
        price: Decimal,
        stock: int,
        category: str,
        image_url: str | None,
    ) -> ProductDetails:
        return cls(
            name=check_name(name),
            description=check_description(description),
            price=check_price(price),
            stock=check_stock(stock),
            category=check_category(category),
            image_url=check_image_url(image_url),
        )
