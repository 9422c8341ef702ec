"""Searching the catalogue (``q``): the same answers on every store, an index on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sql.catalogue_loader import SqlCatalogueLoader
from adapters.sql.repositories.catalogue_statements import (
    SEARCH_EXACT_TOTAL_LIMIT,
    SEARCH_SAMPLE_PAGES,
)
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


async def _load(backend: Backend, catalogue: Iterable[Product]) -> None:
    if backend.engine is not None:
        await SqlCatalogueLoader(backend.engine).load(catalogue)
        return
    async with backend.uow() as uow:
        for product in catalogue:
            await uow.products.add(product)
        await uow.commit()


async def test_a_search_total_is_exact_up_to_the_search_limit_and_past_it_only_postgresql_flags_it(
    backend: Backend, uow_factory: UnitOfWorkFactory
) -> None:
    # The twin and SQLite always count; PostgreSQL counts up to the limit, then estimates
    # from a sample of the table's pages, and a table this small is sampled whole.
    limit = SEARCH_EXACT_TOTAL_LIMIT
    await _load(
        backend,
        [
            *(a_product(f"Kettle {number:04d}") for number in range(limit + 5)),
            *(a_product(f"Teapot {number:04d}") for number in range(limit)),
            *(a_product(f"Haystack {number:04d}") for number in range(50)),
        ],
    )

    async with uow_factory() as uow:
        common = await uow.products.list_page(ProductQuery(PageRequest(limit=3), search="KETTLE"))
        at_limit = await uow.products.list_page(ProductQuery(PageRequest(limit=3), search="teapot"))

    flagged = backend.name == "postgres"
    assert (common.total, common.total_is_estimate) == (limit + 5, flagged)
    assert [product.name for product in common.items] == [
        "Kettle 0000",
        "Kettle 0001",
        "Kettle 0002",
    ]
    assert common.has_more is True
    assert (at_limit.total, at_limit.total_is_estimate) == (limit, False)


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_a_search_matching_more_than_the_exact_limit_gives_a_flagged_estimate(
    backend: Backend, uow_factory: UnitOfWorkFactory
) -> None:
    assert backend.engine is not None
    count = SEARCH_EXACT_TOTAL_LIMIT + 50
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
        deep = await uow.products.list_page(
            ProductQuery(PageRequest(limit=3, skip=count - 2), search="item")
        )
        narrow = await uow.products.list_page(
            ProductQuery(PageRequest(limit=3), search="item 0099")
        )

    assert (first.total_is_estimate, first.total) == (True, count)
    assert (second.total_is_estimate, second.total) == (True, count)
    served = [*first.items, *second.items]
    assert [product.price for product in served] == [Decimal("97.00")] * 6
    assert [product.id for product in served] == sorted(ids_of_97, reverse=True)[:6]
    assert [product.id for product in deep.items] == [count - 1, count]
    assert (deep.total_is_estimate, deep.has_more) == (True, False)
    assert (narrow.total, narrow.total_is_estimate) == (10, False)


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_the_estimate_of_a_common_search_on_a_large_table_is_near_the_real_count(
    backend: Backend, uow_factory: UnitOfWorkFactory
) -> None:
    # Long descriptions make a table of three times the sampled pages from 12,000 rows.
    assert backend.engine is not None
    count = 12_000
    await SqlCatalogueLoader(backend.engine).load(
        a_product(
            f"{'Kettle' if number % 10 == 0 else 'Teapot'} {number:05d}",
            category="kitchen" if number % 2 else "garden",
            description="x" * 1000,
        )
        for number in range(count)
    )
    async with backend.engine.connect() as connection:
        pages = (
            await connection.exec_driver_sql("SELECT pg_relation_size('products') / 8192")
        ).scalar_one()
    assert pages > 2 * SEARCH_SAMPLE_PAGES

    async with uow_factory() as uow:
        first = await uow.products.list_page(ProductQuery(PageRequest(limit=5), search="kettle"))
        second = await uow.products.list_page(
            ProductQuery(
                PageRequest(limit=5, after=_position(first.items[-1], ProductSort.ID)),
                search="kettle",
            )
        )
        in_garden = await uow.products.list_page(
            ProductQuery(PageRequest(limit=5), category="garden", search="teapot")
        )

    real, real_in_garden = count // 10, count * 9 // 20
    assert first.total_is_estimate is True
    assert real / 1.5 <= first.total <= real * 1.5, first.total
    assert second.total == first.total  # the same sample for every page
    assert [product.name for product in first.items] == [
        f"Kettle {number:05d}" for number in range(0, 50, 10)
    ]
    assert in_garden.total_is_estimate is True
    assert real_in_garden / 1.5 <= in_garden.total <= real_in_garden * 1.5, in_garden.total
