"""Totals of catalogue pages: exact while small, a flagged estimate on a large PostgreSQL one."""

from __future__ import annotations

import pytest

from adapters.sql.catalogue_loader import SqlCatalogueLoader
from adapters.sql.repositories.catalogue_statements import EXACT_TOTAL_LIMIT
from application.pagination import PageRequest
from application.ports.catalogue import ProductQuery
from application.ports.common import UnitOfWorkFactory
from tests.contract.builders import a_product
from tests.contract.conftest import Backend


async def test_a_small_catalogue_has_an_exact_total_not_flagged_as_an_estimate(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for number in range(3):
            await uow.products.add(a_product(f"Shirt {number}"))
        await uow.commit()

    async with uow_factory() as uow:
        page = await uow.products.list_page(ProductQuery(PageRequest(limit=2)))

    assert page.total == 3
    assert page.total_is_estimate is False


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_a_large_postgresql_catalogue_gives_a_flagged_estimate_past_the_exact_limit(
    backend: Backend, uow_factory: UnitOfWorkFactory
) -> None:
    # Only PostgreSQL estimates: SQLite and the twin always count (they serve small shops).
    assert backend.engine is not None
    count = EXACT_TOTAL_LIMIT + 50
    products = (
        a_product(f"Item {number}", category="big" if number % 2 else "small")
        for number in range(count)
    )
    await SqlCatalogueLoader(backend.engine).load(products)
    async with uow_factory() as uow:
        await uow.products.add(a_product("Lonely", category="rare"))
        await uow.commit()

    async with uow_factory() as uow:
        everything = await uow.products.list_page(ProductQuery(PageRequest(limit=5)))
        rare = await uow.products.list_page(ProductQuery(PageRequest(limit=5), category="rare"))

    assert everything.total_is_estimate is True
    assert everything.total > EXACT_TOTAL_LIMIT
    assert len(everything.items) == 5
    assert everything.has_more is True
    assert rare.total_is_estimate is False
    assert rare.total == 1
