"""Catalogue ports: the product repository and the queries and changes it takes."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from application.changes import UNSET, Unset
from application.pagination import PageRequest, Slice
from domain.products import Product


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
