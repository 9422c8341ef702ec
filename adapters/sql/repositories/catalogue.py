"""The catalogue in SQL: products by id and slug, writes, slugs, and stock taken atomically.

How a page of the catalogue is read (filters, sort, keyset, totals, search) is in
``catalogue_pages.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.columns import UtcDateTime
from adapters.sql.database import HotStatement, Transaction
from adapters.sql.partial_updates import change_parameters
from adapters.sql.repositories.catalogue_pages import CataloguePageReader
from adapters.sql.repositories.catalogue_statements import IN_CATALOGUE, like_escape
from adapters.sql.rows import PRODUCT_COLUMNS, product_from_row, product_values
from adapters.sql.tables import products
from application.pagination import Slice
from application.ports.catalogue import ProductChanges, ProductQuery, ReservedStock
from domain.errors import Conflict, PreconditionFailed
from domain.products import Product

_AT = sa.bindparam("at", type_=UtcDateTime)


_INSERT_PRODUCT = {
    True: postgresql.insert(products).on_conflict_do_nothing().returning(products.c.id),
    False: sqlite.insert(products).on_conflict_do_nothing().returning(products.c.id),
}


_SELECT_PRODUCT = HotStatement(
    sa.select(*PRODUCT_COLUMNS).where(products.c.id == sa.bindparam("id"), IN_CATALOGUE)
)


_SELECT_PRODUCT_BY_SLUG = HotStatement(
    sa.select(*PRODUCT_COLUMNS).where(products.c.slug == sa.bindparam("slug"), IN_CATALOGUE)
)


_SELECT_PRODUCTS_POSTGRESQL = sa.select(*PRODUCT_COLUMNS).where(
    products.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger))),
    IN_CATALOGUE,
)


_SELECT_PRODUCTS_SQLITE = sa.select(*PRODUCT_COLUMNS).where(
    products.c.id.in_(sa.bindparam("ids", expanding=True)), IN_CATALOGUE
)


# A transaction-scoped advisory lock keyed by the slug's base, released at commit.
_LOCK_SLUG_BASE = sa.select(
    sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(sa.bindparam("base", type_=sa.String), 0)
    )
)


_SELECT_SLUGS_LIKE = sa.select(products.c.slug).where(
    sa.or_(
        products.c.slug == sa.bindparam("base"),
        products.c.slug.like(sa.bindparam("prefix"), escape="\\"),
    )
)


_SELECT_PRODUCT_VERSION = sa.select(products.c.version).where(
    products.c.id == sa.bindparam("id"), IN_CATALOGUE
)


_PRODUCT_CHANGE_FIELDS = ("name", "description", "price", "stock", "category", "image_url")


_NEXT_VERSION = products.c.version + 1


@functools.cache
def _change_product(fields: tuple[str, ...], conditional: bool) -> sa.Update:
    """``UPDATE products SET <fields>, version = version + 1 ... RETURNING`` the row.

    Only the named columns are written: a price edit never writes back a stock read
    earlier, which concurrent orders may have changed since.
    """
    values: dict[str, Any] = {
        name: sa.bindparam(name, type_=products.c[name].type) for name in fields
    }
    values["updated_at"] = _AT
    values["version"] = _NEXT_VERSION
    statement = sa.update(products).where(products.c.id == sa.bindparam("product_id"), IN_CATALOGUE)
    if conditional:
        statement = statement.where(products.c.version == sa.bindparam("expected_version"))
    return statement.values(values).returning(*PRODUCT_COLUMNS)


_ARCHIVE_PRODUCT = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("product_id"), IN_CATALOGUE)
    .values(archived_at=_AT, updated_at=_AT, version=_NEXT_VERSION)
)


_ARCHIVE_PRODUCT_VERSION = _ARCHIVE_PRODUCT.where(
    products.c.version == sa.bindparam("expected_version")
)


_QUANTITY = sa.bindparam("quantity", type_=sa.Integer)


_RESERVE_STOCK = HotStatement(
    sa.update(products)
    .where(
        products.c.id == sa.bindparam("product_id"),
        products.c.stock >= _QUANTITY,
        IN_CATALOGUE,
    )
    .values(stock=products.c.stock - _QUANTITY, updated_at=_AT, version=_NEXT_VERSION)
    # What the order line copies comes back with the update: no separate read.
    .returning(products.c.name, products.c.price)
)


_RELEASE_STOCK = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("product_id"))
    .values(stock=products.c.stock + _QUANTITY, updated_at=_AT, version=_NEXT_VERSION)
)


_SLUG_NUMBER = re.compile(r"-[0-9]+")


class SqlProductRepository:
    """Products in SQL; archived rows stay (orders point at them) but leave the catalogue."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, product: Product) -> Product:
        result = await self._tx.execute(
            _INSERT_PRODUCT[self._tx.is_postgresql], product_values(product)
        )
        product_id = result.scalar()
        if product_id is None:
            raise Conflict(f"Slug {product.slug!r} is already taken")
        return Product(id=product_id, **product_values(product))

    async def get(self, product_id: int) -> Product | None:
        rows = await self._tx.rows(_SELECT_PRODUCT, {"id": product_id})
        return product_from_row(rows[0]) if rows else None

    async def get_by_slug(self, slug: str) -> Product | None:
        rows = await self._tx.rows(_SELECT_PRODUCT_BY_SLUG, {"slug": slug})
        return product_from_row(rows[0]) if rows else None

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        if not product_ids:
            return {}
        statement = (
            _SELECT_PRODUCTS_POSTGRESQL if self._tx.is_postgresql else _SELECT_PRODUCTS_SQLITE
        )
        result = await self._tx.execute(statement, {"ids": list(product_ids)})
        found = (product_from_row(row) for row in result)
        return {product.id: product for product in found}

    async def lock_slug_base(self, base: str) -> None:
        if not self._tx.is_postgresql:
            return  # SQLite transactions are serialised already (BEGIN IMMEDIATE)
        # A lock must live in the transaction, not in an autocommit read before it.
        await self._tx.begin()
        await self._tx.execute(_LOCK_SLUG_BASE, {"base": base})

    async def slugs_like(self, base: str) -> set[str]:
        result = await self._tx.execute(
            _SELECT_SLUGS_LIKE, {"base": base, "prefix": like_escape(base) + "-%"}
        )
        return {
            slug
            for slug in result.scalars()
            if slug == base
            or (slug.startswith(base) and _SLUG_NUMBER.fullmatch(slug, len(base)) is not None)
        }

    async def change(
        self,
        product_id: int,
        changes: ProductChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> Product | None:
        params, fields = change_parameters(
            changes, _PRODUCT_CHANGE_FIELDS, {"product_id": product_id, "at": at}, expected_version
        )
        conditional = expected_version is not None
        row = (await self._tx.execute(_change_product(fields, conditional), params)).first()
        if row is not None:
            return product_from_row(row)
        await self._check_version(product_id, expected_version)
        return None

    async def archive(
        self, product_id: int, at: datetime, expected_version: int | None = None
    ) -> bool:
        params: dict[str, Any] = {"product_id": product_id, "at": at}
        statement = _ARCHIVE_PRODUCT
        if expected_version is not None:
            statement = _ARCHIVE_PRODUCT_VERSION
            params["expected_version"] = expected_version
        if (await self._tx.execute(statement, params)).rowcount == 1:
            return True
        await self._check_version(product_id, expected_version)
        return False

    async def _check_version(self, product_id: int, expected_version: int | None) -> None:
        """After a conditional write matched nothing: tell a stale version from no product."""
        if expected_version is None:
            return
        if (await self._tx.execute(_SELECT_PRODUCT_VERSION, {"id": product_id})).first():
            raise PreconditionFailed(
                f"Product {product_id} has changed since version {expected_version}"
            )

    async def list_page(self, query: ProductQuery) -> Slice[Product]:
        return await CataloguePageReader(self._tx).read(query)

    async def reserve_stock(
        self, product_id: int, quantity: int, at: datetime
    ) -> ReservedStock | None:
        rows = await self._tx.rows(
            _RESERVE_STOCK, {"product_id": product_id, "quantity": quantity, "at": at}
        )
        if not rows:
            return None
        name, price = rows[0]  # _RESERVE_STOCK returns exactly these, in this order
        return ReservedStock(product_id=product_id, name=name, price=price)

    async def release_stock(self, product_id: int, quantity: int, at: datetime) -> None:
        await self._tx.execute(
            _RELEASE_STOCK, {"product_id": product_id, "quantity": quantity, "at": at}
        )
