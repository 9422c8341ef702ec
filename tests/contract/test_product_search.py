"""Searching the catalogue (``q``): the same answers on every store, an index on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sql.catalogue_loader import SqlCatalogueLoader
from adapters.sql.repositories.catalogue_pages import EXACT_TOTAL_LIMIT
from application.pagination import KeysetPosition, PageRequest
from application.ports.catalogue import ProductQuery, ProductSort
from application.ports.common import UnitOfWorkFactory
from domain.products import Product
from tests.contract.builders import T0, a_product
from tests.contract.conftest import Backend

TRIGRAM_INDEX = "ix_products_listed_name_trgm"


def _position(product: Product, sort: ProductSort) -> KeysetPosition:
    value = None if sort is ProductSort.ID else getattr(product, sort.field)
    return KeysetPosition(value=value, id=product.id)


def _sort_key(sort: ProductSort) -> Any:
    def key(product: Product) -> tuple[Any, int]:
        value = product.id if sort is ProductSort.ID else getattr(product, sort.field)
        return (value, product.id)

    return key


async def _every_page(
    uow_factory: UnitOfWorkFactory, query: ProductQuery
) -> tuple[list[Product], list[int]]:
    """All items of a search, page after page by cursor, and the total of each page."""
    items: list[Product] = []
    totals: list[int] = []
    after: KeysetPosition | None = None
    while True:
        page_request = PageRequest(limit=query.page.limit, after=after)
        async with uow_factory() as uow:
            page = await uow.products.list_page(
                ProductQuery(page_request, query.category, query.search, query.sort)
            )
        items.extend(page.items)
        totals.append(page.total)
        if not page.has_more:
            return items, totals
        after = _position(page.items[-1], query.sort)


def _catalogue() -> list[Product]:
    # Names with upper and lower case, the term at the start, middle and end, prices and
    # times that tie and disagree with the ids, two categories.
    names = [
        "Brass NEEDLE",
        "needle case",
        "Pine Needles",
        "Haystack",
        "sewing neEdle kit",
        "Thread",
        "Needle",
        "Felting needles",
        "Pin cushion",
        "needle_point 100%",
    ]
    return [
        a_product(
            name,
            price=("4.50", "12.00", "4.50", "7.25")[number % 4],
            category="sewing" if number % 3 else "garden",
            when=T0 + timedelta(minutes=(number * 7) % 5),
        )
        for number, name in enumerate(names)
    ]


@pytest.mark.parametrize("sort", list(ProductSort))
@pytest.mark.parametrize("category", [None, "sewing"])
async def test_a_search_pages_by_cursor_in_every_sort_like_the_filtered_catalogue(
    uow_factory: UnitOfWorkFactory, sort: ProductSort, category: str | None
) -> None:
    async with uow_factory() as uow:
        added = [await uow.products.add(product) for product in _catalogue()]
        await uow.commit()
    expected = sorted(
        (
            product
            for product in added
            if "needle" in product.name.lower() and category in (None, product.category)
        ),
        key=_sort_key(sort),
        reverse=sort.descending,
    )

    found, totals = await _every_page(
        uow_factory, ProductQuery(PageRequest(limit=2), category, "NEEDLE", sort)
    )

    assert [product.id for product in found] == [product.id for product in expected]
    assert set(totals) == {len(expected)}


# --- PostgreSQL: the trigram index ---------------------------------------------------------


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


async def _search_statements(
    backend: Backend, queries: Sequence[ProductQuery]
) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that the repository runs for ``queries``."""
    assert backend.engine is not None
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if " LIKE " in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    sa.event.listen(backend.engine.sync_engine, "before_cursor_execute", record)
    try:
        for query in queries:
            async with backend.uow() as uow:
                await uow.products.list_page(query)
    finally:
        sa.event.remove(backend.engine.sync_engine, "before_cursor_execute", record)
    return seen


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_every_shape_of_search_reads_the_trigram_index_on_postgresql(
    backend: Backend,
) -> None:
    assert backend.engine is not None
    haystack = (
        a_product(f"Hay bale {number}", category="garden" if number % 2 else "sewing")
        for number in range(3000)
    )
    await SqlCatalogueLoader(backend.engine).load([*_catalogue(), *haystack])
    async with backend.uow() as uow:
        middle = await uow.products.get(2)
    assert middle is not None
    queries = [
        ProductQuery(PageRequest(limit=2, after=after), category, "needle", sort)
        for sort in ProductSort
        for category in (None, "sewing")
        for after in (None, _position(middle, sort))
    ]

    statements = await _search_statements(backend, queries)

    assert len(statements) >= len(queries)  # and a count where a page came back empty
    async with backend.engine.connect() as connection:
        # A few thousand rows are read faster whole than through any index; what matters
        # here is that the index can serve each statement, as it does at scale.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            explained = await connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            )
            nodes = _plan_nodes(explained.scalar_one()[0]["Plan"])
            scanned = {node.get("Index Name") for node in nodes}
            assert TRIGRAM_INDEX in scanned, statement
            assert "Seq Scan" not in {node["Node Type"] for node in nodes}, statement


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_a_search_matching_more_than_the_exact_limit_gives_a_flagged_estimate(
    backend: Backend, uow_factory: UnitOfWorkFactory
) -> None:
    assert backend.engine is not None
    count = EXACT_TOTAL_LIMIT + 50
    await SqlCatalogueLoader(backend.engine).load(
        a_product(f"Item {number:05d}", price=f"{1 + number % 97}.00") for number in range(count)
    )
    # Loaded in order, so ids are 1..count and the dearest are those with number % 97 == 96.
    ids_of_97 = [number + 1 for number in range(count) if number % 97 == 96]

    async with uow_factory() as uow:
        first = await uow.products.list_page(
            ProductQuery(PageRequest(limit=3), search="ITEM", sort=ProductSort.PRICE_DESC)
        )
        after = _position(first.items[-1], ProductSort.PRICE_DESC)
        second = await uow.products.list_page(
            ProductQuery(
                PageRequest(limit=3, after=after), search="item", sort=ProductSort.PRICE_DESC
            )
        )
        narrow = await uow.products.list_page(
            ProductQuery(PageRequest(limit=3), search="item 0999")
        )

    assert (first.total_is_estimate, first.total > EXACT_TOTAL_LIMIT) == (True, True)
    served = [*first.items, *second.items]
    assert [product.price for product in served] == [Decimal("97.00")] * 6
    assert [product.id for product in served] == sorted(ids_of_97, reverse=True)[:6]
    assert (narrow.total, narrow.total_is_estimate) == (10, False)
