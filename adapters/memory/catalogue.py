"""In-memory twin of the product repository, with the SQL adapters' ordering and folding."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from adapters.memory.store import (
    InMemoryStore,
    Journal,
    apply_changes,
    ascii_lower,
    check_version,
    cut_page,
)
from application.pagination import KeysetPosition, Slice
from application.ports.catalogue import (
    ProductChanges,
    ProductQuery,
    ProductSort,
    ReservedStock,
)
from domain.errors import Conflict, InsufficientStock
from domain.products import Product

_PRODUCT_CHANGE_FIELDS = ("name", "description", "price", "stock", "category", "image_url")


_SLUG_NUMBER = re.compile(r"-[0-9]+")


def _sort_value(product: Product, sort_field: str) -> Any:
    return getattr(product, sort_field)


class InMemoryProductRepository:
    """The catalogue in an :class:`InMemoryStore`; archived products keep their slugs."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
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
        check_version("Product", current, expected_version)
        stored = copy.copy(current)
        apply_changes(stored, changes, _PRODUCT_CHANGE_FIELDS)
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
        check_version("Product", current, expected_version)
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
        found = cut_page(ordered, query.page, after_test)
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
        if current is None:
            return None
        stored = copy.copy(current)
        try:
            stored.take(quantity)
        except InsufficientStock:
            return None
        stored.updated_at = at
        stored.version += 1
        self._journal.put(self._store.products, product_id, stored)
        return ReservedStock(product_id=product_id, name=stored.name, price=stored.price)

    async def release_stock(self, product_id: int, quantity: int, at: datetime) -> None:
        current = self._store.products.get(product_id)
        if current is None:
            return
        stored = copy.copy(current)
        stored.give_back(quantity)
        stored.updated_at = at
        stored.version += 1
        self._journal.put(self._store.products, product_id, stored)
