"""How a page of the catalogue is read in SQL: filters, sort and keyset, the total (exact
up to :data:`EXACT_TOTAL_LIMIT`, or :data:`SEARCH_EXACT_TOTAL_LIMIT` for a search,
estimated above it on PostgreSQL) and search, one statement per page."""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sql.database import HotStatement, Transaction
from adapters.sql.rows import PRODUCT_COLUMNS, product_from_row
from adapters.sql.tables import products
from application.pagination import Slice
from application.ports.catalogue import ProductQuery, ProductSort
from domain.products import Product

EXACT_TOTAL_LIMIT = 10_000
"""Up to this many matching products the total is counted; above it, on PostgreSQL, the
planner's estimate is given instead (flagged): an exact count reads every matching row,
and a list that long has no use for the last digit."""

SEARCH_EXACT_TOTAL_LIMIT = 1_000
"""Up to this many matches a search's total is counted; above it, on PostgreSQL, it is
estimated from a sample (flagged). Lower than :data:`EXACT_TOTAL_LIMIT` because a match
found through the trigram index must be rechecked on its heap row, about one page read
per match when the matches are spread through the table: counting 10,001 of `shirt` took
74-102 ms at 1,000,000 products, 1,001 of them about a tenth of the heap pages (ADR 16)."""

SEARCH_SAMPLE_PAGES = 500
"""How many of the table's pages (about) a search's estimate reads: a bounded cost (a few
milliseconds) whatever the catalogue's size, and at 1,000,000 products a sample of some
20,000 names, enough for a term matching more than :data:`SEARCH_EXACT_TOTAL_LIMIT`."""

_SAMPLE_SEED = 16
"""The sample's seed (``REPEATABLE``): the same pages for every page of a search, so its
estimated total does not change from one page to the next while the table does not."""


IN_CATALOGUE = products.c.archived_at.is_(None)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _catalogue_filters(
    by_category: bool,
    by_search: bool,
    table: sa.FromClause = products,
    *,
    trigram_index: bool = True,
) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = [table.c.archived_at.is_(None)]
    if by_category:
        filters.append(table.c.category == sa.bindparam("category"))
    if by_search:
        # Both databases fold ASCII only in lower(); the pattern is folded the same way.
        folded: sa.ColumnElement[str] = sa.func.lower(table.c.name)
        if not trigram_index:
            # The same value, but no longer the indexed expression: see dense_search_page.
            folded = sa.func.lower(table.c.name, type_=sa.String()) + sa.literal_column("''")
        filters.append(folded.like(sa.bindparam("pattern"), escape="\\"))
    return filters


class _Explain(sa.Executable, sa.ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a statement, its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def count_of(filters: list[sa.ColumnElement[bool]], capped: bool) -> sa.Select[Any]:
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
        return [count_of(filters, False).scalar_subquery().label("total_count")]
    total = sa.case(
        (_TABLE_IS_SMALL, count_of(filters, False).scalar_subquery()),
        else_=count_of(filters, True).scalar_subquery(),
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
def catalogue_page(
    sort: ProductSort,
    by_category: bool,
    by_search: bool,
    keyset: bool,
    capped: bool = False,
) -> sa.Select[Any]:
    """The page statement for one shape of query, built and compiled once."""
    filters = _catalogue_filters(by_category, by_search)
    totals = _total_columns(filters, capped)
    conditions, order_by = _order_and_keyset(products.c, sort, keyset)
    return (
        sa.select(*PRODUCT_COLUMNS, *totals)
        .where(*filters, *conditions)
        .order_by(*order_by)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )


@functools.cache
def hot_catalogue_page(
    sort: ProductSort, by_category: bool, by_search: bool, keyset: bool, capped: bool
) -> HotStatement:
    """A catalogue page with its total: on the driver on PostgreSQL (ADR 0013)."""
    return HotStatement(catalogue_page(sort, by_category, by_search, keyset, capped))


@functools.cache
def dense_search_page(sort: ProductSort, by_category: bool, keyset: bool) -> sa.Select[Any]:
    """A page of a search known to match more than :data:`SEARCH_EXACT_TOTAL_LIMIT` rows.

    Such a term is dense: the sort's index (or the category's) turns up a page of it
    within a few thousand rows. The planner underestimates a substring's matches (1,600
    for 12,555) and, offered the trigram index, sorted all of them instead: 232-267 ms at
    1,000,000 products for `q=shirt&category=shirts` or `q=kettle&sort=-price`, against
    1-41 ms in index order. So the condition is written so that index cannot serve it.
    """
    filters = _catalogue_filters(by_category, True, trigram_index=False)
    conditions, order_by = _order_and_keyset(products.c, sort, keyset)
    return (
        sa.select(*PRODUCT_COLUMNS)
        .where(*filters, *conditions)
        .order_by(*order_by)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )


@functools.cache
def search_page(sort: ProductSort, by_category: bool, keyset: bool) -> sa.Select[Any]:
    """A search page on PostgreSQL: the matches found once, up to ``count_limit``.

    The trigram index's scan is the dear part of a search (the posting lists of every
    trigram of the term are read), and a count and a page each ran it. Here one scan
    feeds both: the matches (at most ``count_limit``, only their id and sort key) are
    counted and the page's ids are sorted out of them; only those rows are read whole.
    A count at the limit means the set was cut short: the caller pages with the
    ordinary statement instead (``catalogue_page``) and estimates the total.
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
def catalogue_count(by_category: bool, by_search: bool, capped: bool = False) -> sa.Select[Any]:
    return count_of(_catalogue_filters(by_category, by_search), capped)


@functools.cache
def catalogue_estimate(by_category: bool, by_search: bool) -> _Explain:
    filters = _catalogue_filters(by_category, by_search)
    return _Explain(sa.select(products.c.id).where(*filters))


# The share of the table's pages to sample, in percent: SEARCH_SAMPLE_PAGES of its
# current size (the file's, not the planner's statistics, which a new table lacks), all of
# a small table.
_SAMPLE_PERCENT: sa.ColumnClause[Any] = sa.literal_column(
    f"least(100.0, 100.0 * {SEARCH_SAMPLE_PAGES} / greatest(1,"
    " pg_relation_size('products') / current_setting('block_size')::bigint))"
)


@functools.cache
def sampled_search_count(by_category: bool) -> sa.Select[Any]:
    """The matches of a search in a sample of the table's pages, and that sample's percent."""
    sampled = sa.tablesample(
        products,
        sa.func.system(_SAMPLE_PERCENT),
        name="sampled",
        seed=sa.literal_column(str(_SAMPLE_SEED)),
    )
    return sa.select(sa.func.count(), _SAMPLE_PERCENT).where(
        *_catalogue_filters(by_category, True, sampled)
    )


_TOTAL = len(PRODUCT_COLUMNS)  # a page's rows: the product, then its total columns


class CataloguePageReader:
    """Reads one page of the catalogue (rows and total) inside a transaction."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def read(self, query: ProductQuery) -> Slice[Product]:
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
        statement = hot_catalogue_page(query.sort, by_category, by_search, keyset, capped)
        rows = await self._tx.rows(statement, params)
        counted_all = not capped
        if rows:
            total = rows[0][_TOTAL]
            counted_all = counted_all or bool(rows[0][_TOTAL + 1])
        elif not keyset and page.skip == 0:
            total = 0
        else:
            # Past the last row there is no row to carry the total.
            count = catalogue_count(by_category, by_search, capped)
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
        """A search on PostgreSQL: one trigram index scan when at most 1,000 products match.

        More matches than that are a common term: the sort's own index turns up a page of
        them within a few thousand rows, so that page is read in index order, as a
        catalogue page is, and the total is estimated from a sample of the table.
        """
        page = query.page
        by_category = query.category is not None
        params["count_limit"] = SEARCH_EXACT_TOTAL_LIMIT + 1
        statement = search_page(query.sort, by_category, keyset)
        rows = (await self._tx.execute(statement, params)).all()
        if rows:
            total = rows[0].total_count
        elif not keyset and page.skip == 0:
            total = 0
        else:
            # Past the last row there is no row to carry the total.
            count = catalogue_count(by_category, True, True)
            total = (await self._tx.execute(count, params)).scalar_one()
        is_estimate = total > SEARCH_EXACT_TOTAL_LIMIT
        if is_estimate:
            statement = dense_search_page(query.sort, by_category, keyset)
            rows = (await self._tx.execute(statement, params)).all()
            estimate = await self._sampled_total(by_category, params)
            # Never fewer than the rows known to be there.
            served = 0 if keyset else page.skip + min(len(rows), page.limit)
            total = max(estimate, SEARCH_EXACT_TOTAL_LIMIT + 1, served + (len(rows) > page.limit))
        return Slice(
            items=[product_from_row(row) for row in rows[: page.limit]],
            total=total,
            has_more=len(rows) > page.limit,
            total_is_estimate=is_estimate,
        )

    async def _sampled_total(self, by_category: bool, params: dict[str, Any]) -> int:
        """A search's matches estimated from a sample of the table's pages, scaled up.

        The planner's estimate of a substring is rough (1,600 for the 12,555 names holding
        `shirt` at 1,000,000 products); counting the matches in about
        :data:`SEARCH_SAMPLE_PAGES` pages reads a bounded part of the table.
        """
        result = await self._tx.execute(sampled_search_count(by_category), params)
        matches, percent = result.one()
        return round(int(matches) * 100 / float(percent))

    async def _estimated_total(
        self, by_category: bool, by_search: bool, params: dict[str, Any]
    ) -> int:
        """The planner's row estimate for the filtered catalogue (no rows are read)."""
        result = await self._tx.execute(catalogue_estimate(by_category, by_search), params)
        plan = result.scalar_one()
        document = json.loads(plan) if isinstance(plan, str | bytes) else plan
        return int(document[0]["Plan"]["Plan Rows"])
