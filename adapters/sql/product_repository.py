"""The catalogue in SQL: one statement per page (rows and total), stock taken atomically."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sql.database import HotStatement, Transaction
from adapters.sql.partial_updates import change_parameters
from adapters.sql.rows import PRODUCT_COLUMNS, product_from_row, product_values
from adapters.sql.tables import UtcDateTime, products
from application.pagination import Slice
from application.ports.catalogue import ProductChanges, ProductQuery, ProductSort, ReservedStock
from domain.errors import Conflict, PreconditionFailed
from domain.products import Product

EXACT_TOTAL_LIMIT = 10_000
"""Up to this many matching products the total is counted; above it, on PostgreSQL, the
planner's estimate is given instead (flagged): an exact count reads every matching row,
and a list that long has no use for the last digit."""

_IN_CATALOGUE = products.c.archived_at.is_(None)
_AT = sa.bindparam("at", type_=UtcDateTime)

_INSERT_PRODUCT = {
    True: postgresql.insert(products).on_conflict_do_nothing().returning(products.c.id),
    False: sqlite.insert(products).on_conflict_do_nothing().returning(products.c.id),
}
_SELECT_PRODUCT = HotStatement(
    sa.select(*PRODUCT_COLUMNS).where(products.c.id == sa.bindparam("id"), _IN_CATALOGUE)
)
_SELECT_PRODUCT_BY_SLUG = HotStatement(
    sa.select(*PRODUCT_COLUMNS).where(products.c.slug == sa.bindparam("slug"), _IN_CATALOGUE)
)
_SELECT_PRODUCTS_POSTGRESQL = sa.select(*PRODUCT_COLUMNS).where(
    products.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger))),
    _IN_CATALOGUE,
)
_SELECT_PRODUCTS_SQLITE = sa.select(*PRODUCT_COLUMNS).where(
    products.c.id.in_(sa.bindparam("ids", expanding=True)), _IN_CATALOGUE
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
    products.c.id == sa.bindparam("id"), _IN_CATALOGUE
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
    statement = sa.update(products).where(
        products.c.id == sa.bindparam("product_id"), _IN_CATALOGUE
    )
    if conditional:
        statement = statement.where(products.c.version == sa.bindparam("expected_version"))
    return statement.values(values).returning(*PRODUCT_COLUMNS)


_ARCHIVE_PRODUCT = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("product_id"), _IN_CATALOGUE)
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
        _IN_CATALOGUE,
    )
    .values(stock=products.c.stock - _QUANTITY, updated_at=_AT, version=_NEXT_VERSION)
    # What the order line copies comes back with the update: no separate read.
    .returning(products.c.name, products.c.price)
)
_TOTAL = len(PRODUCT_COLUMNS)  # a page's rows: the product, then its total columns
_RELEASE_STOCK = (
    sa.update(products)
    .where(products.c.id == sa.bindparam("product_id"))
    .values(stock=products.c.stock + _QUANTITY, updated_at=_AT, version=_NEXT_VERSION)
)

_SLUG_NUMBER = re.compile(r"-[0-9]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _catalogue_filters(by_category: bool, by_search: bool) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = [_IN_CATALOGUE]
    if by_category:
        filters.append(products.c.category == sa.bindparam("category"))
    if by_search:
        # Both databases fold ASCII only in lower(); the pattern is folded the same way.
        filters.append(sa.func.lower(products.c.name).like(sa.bindparam("pattern"), escape="\\"))
    return filters


class _Explain(sa.Executable, sa.ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a statement, its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def _count_of(filters: list[sa.ColumnElement[bool]], capped: bool) -> sa.Select[Any]:
    """The number of matching rows; ``capped``: stop counting past ``count_limit``."""
    if not capped:
        return sa.select(sa.func.count()).select_from(products).where(*filters)
    matching = sa.select(sa.literal(1)).where(*filters).limit(sa.bindparam("count_limit"))
    return sa.select(sa.func.count()).select_from(matching.subquery())


# The planner's row count of the table (-1 before its first ANALYZE): read from the
# catalog, it costs nothing and decides whether counting everything is cheap.
_TABLE_IS_SMALL = (
    sa.select(sa.literal_column("reltuples"))
    .select_from(sa.table("pg_class"))
    .where(sa.literal_column("oid") == sa.literal_column("'products'::regclass"))
    .scalar_subquery()
    <= EXACT_TOTAL_LIMIT
)


def _total_columns(
    filters: list[sa.ColumnElement[bool]], capped: bool
) -> list[sa.ColumnElement[Any]]:
    """``total_count``, and on PostgreSQL ``counted_all`` (False: the count stopped early).

    A small table is counted outright (the LIMIT of the capped count costs a little per
    row); a large one only up to ``count_limit``. PostgreSQL runs only the branch taken.
    """
    if not capped:
        return [_count_of(filters, False).scalar_subquery().label("total_count")]
    total = sa.case(
        (_TABLE_IS_SMALL, _count_of(filters, False).scalar_subquery()),
        else_=_count_of(filters, True).scalar_subquery(),
    )
    return [total.label("total_count"), _TABLE_IS_SMALL.label("counted_all")]


def _order_and_keyset(
    columns: sa.ColumnCollection[str, sa.ColumnElement[Any]], sort: ProductSort, keyset: bool
) -> tuple[list[sa.ColumnElement[bool]], list[sa.ColumnElement[Any]]]:
    """The keyset condition (when paging ``after``) and the ORDER BY of ``sort``."""
    row_id = columns["id"]
    column = row_id if sort is ProductSort.ID else columns[sort.field]
    after_id = sa.bindparam("after_id", type_=sa.BigInteger)
    conditions: list[sa.ColumnElement[bool]] = []
    if keyset:
        if sort is ProductSort.ID:
            conditions.append(row_id < after_id if sort.descending else row_id > after_id)
        else:
            mine = sa.tuple_(column, row_id)
            mark = sa.tuple_(sa.bindparam("after_value", type_=column.type), after_id)
            conditions.append(mine < mark if sort.descending else mine > mark)
    if sort is ProductSort.ID:
        order_by = [row_id.desc() if sort.descending else row_id]
    elif sort.descending:
        order_by = [column.desc(), row_id.desc()]
    else:
        order_by = [column, row_id]
    return conditions, order_by


@functools.cache
def _catalogue_page(
    sort: ProductSort,
    by_category: bool,
    by_search: bool,
    keyset: bool,
    capped: bool = False,
    with_total: bool = True,
) -> sa.Select[Any]:
    """The page statement for one shape of query, built and compiled once."""
    filters = _catalogue_filters(by_category, by_search)
    totals = _total_columns(filters, capped) if with_total else []
    conditions, order_by = _order_and_keyset(products.c, sort, keyset)
    return (
        sa.select(*PRODUCT_COLUMNS, *totals)
        .where(*filters, *conditions)
        .order_by(*order_by)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )


@functools.cache
def _hot_catalogue_page(
    sort: ProductSort, by_category: bool, by_search: bool, keyset: bool, capped: bool
) -> HotStatement:
    """A catalogue page with its total: on the driver on PostgreSQL (ADR 0013)."""
    return HotStatement(_catalogue_page(sort, by_category, by_search, keyset, capped))


@functools.cache
def _search_page(sort: ProductSort, by_category: bool, keyset: bool) -> sa.Select[Any]:
    """A search page on PostgreSQL: the matches found once, up to ``count_limit``.

    The trigram index's scan is the dear part of a search (the posting lists of every
    trigram of the term are read), and a count and a page each ran it. Here one scan
    feeds both: the matches (at most ``count_limit``, only their id and sort key) are
    counted and the page's ids are sorted out of them; only those rows are read whole.
    A count at the limit means the set was cut short: the caller pages with the
    ordinary statement instead (``_catalogue_page``) and estimates the total.
    """
    keys = [products.c.id] if sort is ProductSort.ID else [products.c.id, products.c[sort.field]]
    found = (
        sa.select(*keys)
        .where(*_catalogue_filters(by_category, True))
        .limit(sa.bindparam("count_limit"))
        .cte("found")
        .prefix_with("MATERIALIZED")
    )
    conditions, order_by = _order_and_keyset(found.c, sort, keyset)
    page = (
        sa.select(found.c.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
        .subquery("page")
    )
    total = sa.select(sa.func.count()).select_from(found).scalar_subquery()
    return (
        sa.select(*PRODUCT_COLUMNS, total.label("total_count"))
        .join_from(products, page, products.c.id == page.c.id)
        .order_by(*_order_and_keyset(products.c, sort, False)[1])
    )


@functools.cache
def _catalogue_count(by_category: bool, by_search: bool, capped: bool = False) -> sa.Select[Any]:
    return _count_of(_catalogue_filters(by_category, by_search), capped)


@functools.cache
def _catalogue_estimate(by_category: bool, by_search: bool) -> _Explain:
    filters = _catalogue_filters(by_category, by_search)
    return _Explain(sa.select(products.c.id).where(*filters))


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
        page = query.page
        by_category = query.category is not None
        by_search = bool(query.search)
        params: dict[str, Any] = {"limit": page.limit + 1}
        if by_category:
            params["category"] = query.category
        if by_search:
            assert query.search is not None
            params["pattern"] = "%" + like_escape(query.search.translate(_ASCII_LOWER)) + "%"
        keyset = page.after is not None
        if page.after is not None:
            params["offset"] = 0
            params["after_id"] = page.after.id
            if query.sort is not ProductSort.ID:
                params["after_value"] = page.after.value
        else:
            params["offset"] = page.skip
        # Only PostgreSQL can estimate; SQLite catalogues are small enough to count.
        capped = self._tx.is_postgresql
        if capped:
            params["count_limit"] = EXACT_TOTAL_LIMIT + 1
            if by_search:
                return await self._search(query, params, keyset)
        statement = _hot_catalogue_page(query.sort, by_category, by_search, keyset, capped)
        rows = await self._tx.rows(statement, params)
        counted_all = not capped
        if rows:
            total = rows[0][_TOTAL]
            counted_all = counted_all or bool(rows[0][_TOTAL + 1])
        elif not keyset and page.skip == 0:
            total = 0
        else:
            # Past the last row there is no row to carry the total.
            count = _catalogue_count(by_category, by_search, capped)
            total = (await self._tx.execute(count, params)).scalar_one()
        is_estimate = not counted_all and total > EXACT_TOTAL_LIMIT
        if is_estimate:
            estimate = await self._estimated_total(by_category, by_search, params)
            # Never fewer than the rows known to be there.
            served = 0 if keyset else page.skip + min(len(rows), page.limit)
            total = max(estimate, EXACT_TOTAL_LIMIT + 1, served + (len(rows) > page.limit))
        return Slice(
            items=[product_from_row(row) for row in rows[: page.limit]],
            total=total,
            has_more=len(rows) > page.limit,
            total_is_estimate=is_estimate,
        )

    async def _search(
        self, query: ProductQuery, params: dict[str, Any], keyset: bool
    ) -> Slice[Product]:
        """A search on PostgreSQL: one trigram index scan when at most 10,000 products match.

        More matches than that are a common term (at 1,000,000 products, one name in a
        hundred or more): the sort's own index turns up a page of them within a few
        thousand rows, so that page is read in index order, as a catalogue page is, and
        the total is the planner's estimate.
        """
        page = query.page
        by_category = query.category is not None
        statement = _search_page(query.sort, by_category, keyset)
        rows = (await self._tx.execute(statement, params)).all()
        if rows:
            total = rows[0].total_count
        elif not keyset and page.skip == 0:
            total = 0
        else:
            # Past the last row there is no row to carry the total.
            count = _catalogue_count(by_category, True, True)
            total = (await self._tx.execute(count, params)).scalar_one()
        if total > EXACT_TOTAL_LIMIT:
            statement = _catalogue_page(query.sort, by_category, True, keyset, with_total=False)
            rows = (await self._tx.execute(statement, params)).all()
            estimate = await self._estimated_total(by_category, True, params)
            # Never fewer than the rows known to be there.
            served = 0 if keyset else page.skip + min(len(rows), page.limit)
            total = max(estimate, EXACT_TOTAL_LIMIT + 1, served + (len(rows) > page.limit))
        return Slice(
            items=[product_from_row(row) for row in rows[: page.limit]],
            total=total,
            has_more=len(rows) > page.limit,
            total_is_estimate=total > EXACT_TOTAL_LIMIT,
        )

    async def _estimated_total(
        self, by_category: bool, by_search: bool, params: dict[str, Any]
    ) -> int:
        """The planner's row estimate for the filtered catalogue (no rows are read)."""
        result = await self._tx.execute(_catalogue_estimate(by_category, by_search), params)
        plan = result.scalar_one()
        document = json.loads(plan) if isinstance(plan, str | bytes) else plan
        return int(document[0]["Plan"]["Plan Rows"])

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
