"""The product catalogue: what superusers curate and everybody browses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from application.changes import UNSET, Unset
from application.pagination import (
    KeysetPosition,
    Page,
    ReadSortValue,
    no_sort_value,
    page_from_slice,
    page_request,
    read_utc_time,
)
from application.ports.catalogue import ProductChanges, ProductQuery, ProductSort
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from domain.errors import Conflict, InvalidInput, NotFound
from domain.products import (
    NAME_MAX_LENGTH,
    Product,
    ProductDetails,
    check_category,
    check_description,
    check_image_url,
    check_name,
    check_price,
    check_stock,
    numbered_slug,
    slugify,
)

T = TypeVar("T")

SEARCH_MAX_LENGTH = 200
# Creations of same-named products take turns (lock_slug_base), so each sees the
# slugs of those before it; the unique index stays the last word, and a refused slug
# is picked again. More than a handful of such refusals means something else is wrong.
SLUG_ATTEMPTS = 5


async def load_product(uow: UnitOfWork, product_id: int) -> Product:
    product = await uow.products.get(product_id)
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    return product


class CreateProduct:
    """Add a product with a unique slug made from its name (``red-shirt``, ``red-shirt-2``...)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, details: ProductDetails) -> Product:
        base = slugify(details.name)
        for attempt in range(1, SLUG_ATTEMPTS + 1):
            now = self._clock.now()
            try:
                async with self._uow() as uow:
                    await uow.products.lock_slug_base(base)
                    slug = numbered_slug(base, await uow.products.slugs_like(base))
                    product = await uow.products.add(Product.new(details, slug=slug, at=now))
                    await uow.commit()
                    return product
            except Conflict:
                if attempt == SLUG_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


async def save_product_changes(
    uow_factory: UnitOfWorkFactory,
    product_id: int,
    changes: ProductChanges,
    at: datetime,
    expected_version: int | None,
) -> Product:
    """One per-field UPDATE: stock is written only when the client gave one, so orders
    running at the same time are never undone by a write-back of what was read."""
    async with uow_factory() as uow:
        product = await uow.products.change(product_id, changes, at, expected_version)
        if product is None:
            raise NotFound(f"Product {product_id} not found")
        await uow.commit()
    return product


@dataclass(frozen=True, slots=True)
class ReplaceProductCommand:
    product_id: int
    details: ProductDetails
    expected_version: int | None = None
    """The version the client saw (If-Match); None: apply whatever changed since."""


class ReplaceProduct:
    """Replace every client-settable field; the slug stays, so links keep working."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: ReplaceProductCommand) -> Product:
        details = command.details
        changes = ProductChanges(
            name=details.name,
            description=details.description,
            price=details.price,
            stock=details.stock,
            category=details.category,
            image_url=details.image_url,
        )
        return await save_product_changes(
            self._uow, command.product_id, changes, self._clock.now(), command.expected_version
        )


@dataclass(frozen=True, slots=True)
class UpdateProductCommand:
    product_id: int
    name: str | Unset = UNSET
    description: str | Unset | None = UNSET
    price: Decimal | Unset = UNSET
    stock: int | Unset = UNSET
    category: str | Unset = UNSET
    image_url: str | Unset | None = UNSET
    expected_version: int | None = None
    """The version the client saw (If-Match); None: apply whatever changed since."""


class UpdateProduct:
    """Change only the fields given, each checked by the catalogue's rules."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: UpdateProductCommand) -> Product:
        changes = ProductChanges(
            name=_checked(check_name, command.name),
            description=_checked(check_description, command.description),
            price=_checked(check_price, command.price),
            stock=_checked(check_stock, command.stock),
            category=_checked(check_category, command.category),
            image_url=_checked(check_image_url, command.image_url),
        )
        return await save_product_changes(
            self._uow, command.product_id, changes, self._clock.now(), command.expected_version
        )


def _checked(check: Callable[[Any], T], value: object) -> T | Unset:
    """``value`` through ``check``, unless it was not given."""
    return UNSET if value is UNSET else check(value)


class DeleteProduct:
    """Take a product out of the catalogue; orders that hold it keep their lines."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, product_id: int, expected_version: int | None = None) -> None:
        async with self._uow() as uow:
            if not await uow.products.archive(product_id, self._clock.now(), expected_version):
                raise NotFound(f"Product {product_id} not found")
            await uow.commit()


class GetProduct:
    """One catalogue product by id."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, product_id: int) -> Product:
        async with self._uow() as uow:
            return await load_product(uow, product_id)


class GetProductBySlug:
    """One catalogue product by slug."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, slug: str) -> Product:
        async with self._uow() as uow:
            product = await uow.products.get_by_slug(slug)
        if product is None:
            raise NotFound(f"Product '{slug}' not found")
        return product


@dataclass(frozen=True, slots=True)
class ListProductsCommand:
    skip: int = 0
    limit: int = 20
    after: str | None = None
    category: str | None = None
    q: str | None = None
    sort: str = "id"


PositionOfProduct = Callable[[Product], KeysetPosition]


def product_position(sort: ProductSort) -> PositionOfProduct:
    """How to read the keyset position of a product under ``sort``."""
    field = sort.field
    if field == "id":
        return lambda product: KeysetPosition(value=None, id=product.id)
    if field == "name":
        return lambda product: KeysetPosition(value=product.name, id=product.id)
    if field == "price":
        return lambda product: KeysetPosition(value=product.price, id=product.id)
    return lambda product: KeysetPosition(value=product.created_at, id=product.id)


def _read_name(text: str | None) -> str:
    if text is None or len(text) > NAME_MAX_LENGTH or "\x00" in text:
        raise ValueError("not a product name")
    return text


def _read_price(text: str | None) -> Decimal:
    if text is None:
        raise ValueError("a price is required")
    price = Decimal(text)
    # check_price refuses (InvalidInput) what no product can cost: 1e20, 1e-999999, NaN.
    try:
        if check_price(price) != price:
            raise ValueError("a price has at most two decimal places")
    except InvalidInput:
        raise ValueError("not a price") from None
    return price


_SORT_VALUE_READERS: dict[str, ReadSortValue] = {
    "id": no_sort_value,
    "name": _read_name,
    "price": _read_price,
    "created_at": read_utc_time,
}


class ListProducts:
    """A page of the catalogue, filtered, searched and sorted; by offset or by cursor."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: ListProductsCommand) -> Page[Product]:
        try:
            sort = ProductSort(command.sort)
        except ValueError:
            allowed = ", ".join(s.value for s in ProductSort)
            raise InvalidInput(f"sort must be one of {allowed}", field="query.sort") from None
        if command.q is not None and len(command.q) > SEARCH_MAX_LENGTH:
            raise InvalidInput(f"q must be at most {SEARCH_MAX_LENGTH} characters", field="query.q")
        page = page_request(
            command.skip, command.limit, command.after, sort.value, _SORT_VALUE_READERS[sort.field]
        )
        query = ProductQuery(
            page=page, category=command.category or None, search=command.q or None, sort=sort
        )
        async with self._uow() as uow:
            found = await uow.products.list_page(query)
        return page_from_slice(found, page, sort.value, product_position(sort))
