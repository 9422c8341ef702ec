"""The SQL statements that read the catalogue: filters, sort and keyset, totals and
search, built once per shape and cached."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sql.database import HotStatement
from adapters.sql.rows import PRODUCT_COLUMNS
from adapters.sql.tables import products
from application.ports.catalogue import ProductSort

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
