"""Reading one page of the catalogue in SQL: its rows and its total, exact up to
:data:`EXACT_TOTAL_LIMIT` (:data:`SEARCH_EXACT_TOTAL_LIMIT` for a search), estimated
above it on PostgreSQL. The statements are built in ``catalogue_statements.py``."""

from __future__ import annotations

import json
from typing import Any

from adapters.sql.database import Transaction
from adapters.sql.repositories.catalogue_statements import (
    EXACT_TOTAL_LIMIT,
    SEARCH_EXACT_TOTAL_LIMIT,
    catalogue_count,
    catalogue_estimate,
    dense_search_page,
    hot_catalogue_page,
    like_escape,
    sampled_search_count,
    search_page,
)
from adapters.sql.rows import PRODUCT_COLUMNS, product_from_row
from application.pagination import Slice
from application.ports.catalogue import ProductQuery, ProductSort
from domain.products import Product

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
