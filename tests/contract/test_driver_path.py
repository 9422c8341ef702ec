"""The hot statements give the same answers on the asyncpg driver as through SQLAlchemy.

On PostgreSQL, product reads, catalogue pages, the user lookup of every authenticated
request, stock reservations and order inserts run on the driver (ADR 0013). Each test
here runs the same thing on both paths and compares values *and* their types, which a
plain equality would not catch (``Decimal("12.5") == Decimal("12.50")``, and an aware
datetime is never equal to a naive one only by accident of the zone). Errors must leave
as the same exception, and a broken connection must not go back to the pool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine_for
from adapters.sql.tables import metadata
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.pagination import PageRequest
from application.ports.catalogue import ProductQuery, ProductSort
from application.ports.common import DependencyUnavailable
from application.ports.ordering import OrderQuery
from tests.contract.builders import a_product, a_user, an_order, at

pytestmark = pytest.mark.postgres

PATHS = [pytest.param(True, id="driver"), pytest.param(False, id="sqlalchemy")]


@pytest.fixture
async def engine(contract_postgres_url: str) -> AsyncIterator[AsyncEngine]:
    # As the API builds it; one connection, so "the next unit of work" reuses the pool's.
    engine = create_engine_for(contract_postgres_url, pool_size=1, max_overflow=0, autocommit=True)
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.exec_driver_sql(f"DELETE FROM {table.name}")
    yield engine
    await engine.dispose()


def _shape(value: Any) -> Any:
    """``value`` with the type of every field, and the exponent of every Decimal."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            [(f.name, _shape(getattr(value, f.name))) for f in dataclasses.fields(value)],
        )
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    if isinstance(value, Decimal):
        return (Decimal, str(value))
    if isinstance(value, datetime):
        return (datetime, value.isoformat(), value.tzinfo)
    return (type(value), value)


async def _both(engine: AsyncEngine, read: Any) -> tuple[Any, Any]:
    """``read(uow)`` on the driver path and on the SQLAlchemy path, rolled back."""
    answers = []
    for driver_path in (True, False):
        async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
            answers.append(await read(uow))
    return answers[0], answers[1]


async def test_products_read_the_same_on_both_paths_down_to_types(engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(engine) as uow:
        plain = await uow.products.add(a_product("Thé vert — 緑茶 🍵", price="12.5"))
        full = await uow.products.add(
            a_product(
                "Kettle",
                price="1000000.00",
                description="Ünïcode ✓",
                image_url="https://example.com/k.png",
                when=datetime.fromisoformat("2026-01-01T14:00:00+02:00"),
            )
        )
        await uow.commit()

    for product in (plain, full):
        by_id = await _both(engine, lambda uow, p=product: uow.products.get(p.id))
        by_slug = await _both(engine, lambda uow, p=product: uow.products.get_by_slug(p.slug))
        assert by_id[0] == by_id[1] == by_slug[0] == by_slug[1]
        assert _shape(by_id[0]) == _shape(by_id[1]) == _shape(by_slug[0]) == _shape(by_slug[1])

    driver_plain, _ = await _both(engine, lambda uow: uow.products.get(plain.id))
    assert driver_plain is not None
    assert str(driver_plain.price) == "12.50"
    assert driver_plain.description is None
    assert driver_plain.name == "Thé vert — 緑茶 🍵"
    assert driver_plain.created_at.tzinfo is UTC
    missing = await _both(engine, lambda uow: uow.products.get(plain.id + 1000))
    assert missing == (None, None)


@pytest.mark.parametrize(
    "query",
    [
        ProductQuery(page=PageRequest(limit=2)),
        ProductQuery(page=PageRequest(limit=20), sort=ProductSort.PRICE_DESC, category="tea"),
        ProductQuery(page=PageRequest(limit=5, skip=50)),
        ProductQuery(page=PageRequest(limit=5), search="GREEN"),
    ],
    ids=["first-page", "category-by-price", "past-the-end", "search"],
)
async def test_catalogue_pages_are_the_same_on_both_paths(
    engine: AsyncEngine, query: ProductQuery
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        await uow.products.add(a_product("Green tea", price="3.10", category="tea"))
        await uow.products.add(a_product("Black tea", price="3", category="tea"))
        await uow.products.add(a_product("Grün 緑", price="0.01", category="misc"))
        await uow.commit()

    driver, sqlalchemy = await _both(engine, lambda uow: uow.products.list_page(query))

    assert driver == sqlalchemy
    assert _shape(driver.items) == _shape(sqlalchemy.items)
    assert (driver.total, driver.has_more, driver.total_is_estimate) == (
        sqlalchemy.total,
        sqlalchemy.has_more,
        sqlalchemy.total_is_estimate,
    )
    assert type(driver.total) is type(sqlalchemy.total) is int


async def test_users_read_the_same_on_both_paths(engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(engine) as uow:
        user = await uow.users.add(a_user("zoë@example.com", full_name="Zoë Ω"))
        await uow.commit()

    driver, sqlalchemy = await _both(engine, lambda uow: uow.users.get(user.id))

    assert driver == sqlalchemy == user
    assert _shape(driver) == _shape(sqlalchemy)


@pytest.mark.parametrize("driver_path", PATHS)
async def test_orders_reserve_and_insert_the_same_on_both_paths(
    engine: AsyncEngine, driver_path: bool
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        user = await uow.users.add(a_user())
        tea = await uow.products.add(a_product("Thé", price="2.5", stock=3))
        await uow.commit()

    async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
        reserved = await uow.products.reserve_stock(tea.id, 2, at(minutes=1))
        refused = await uow.products.reserve_stock(tea.id, 2, at(minutes=1))
        assert reserved is not None
        order = await uow.orders.add(an_order(user.id, [(tea, 2)]))
        await uow.commit()

    assert refused is None
    assert (reserved.product_id, reserved.name, str(reserved.price)) == (tea.id, "Thé", "2.50")
    assert type(order.id) is int
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.orders.get(order.id) == order
        stored = await uow.products.get(tea.id)
    assert stored is not None
    assert (stored.stock, stored.version, stored.updated_at) == (1, 2, at(minutes=1))


@pytest.mark.parametrize("driver_path", PATHS)
async def test_a_write_on_the_driver_is_rolled_back_with_the_unit_of_work(
    engine: AsyncEngine, driver_path: bool
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        user = await uow.users.add(a_user())
        tea = await uow.products.add(a_product("Tea", stock=3))
        await uow.commit()

    async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
        assert await uow.products.reserve_stock(tea.id, 3, at(minutes=1)) is not None
        await uow.orders.add(an_order(user.id, [(tea, 3)]))
        # Not committed.

    async with SqlUnitOfWork(engine) as uow:
        stored = await uow.products.get(tea.id)
        assert stored is not None
        assert stored.stock == 3
        assert (await uow.orders.list_page(OrderQuery(PageRequest(), user.id))).items == []
        # Nothing of the rolled-back transaction holds the row.
        assert await uow.products.reserve_stock(tea.id, 1, at(minutes=2)) is not None


async def test_a_constraint_violation_leaves_as_the_same_error_on_both_paths(
    engine: AsyncEngine,
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        tea = await uow.products.add(a_product("Tea"))
        await uow.commit()

    errors = []
    for driver_path in (True, False):
        async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
            with pytest.raises(sa_exc.IntegrityError) as raised:
                # Nobody has id 999: the order's foreign key refuses it.
                await uow.orders.add(an_order(999, [(tea, 1)]))
            errors.append(raised.value)
    driver, sqlalchemy = errors
    assert type(driver) is type(sqlalchemy)
    assert type(driver.orig) is type(sqlalchemy.orig)
    assert getattr(driver.orig, "sqlstate", None) == getattr(sqlalchemy.orig, "sqlstate", None)
    assert getattr(driver.orig, "sqlstate", None) == "23503"


async def test_a_refused_value_leaves_as_the_same_error_on_both_paths(engine: AsyncEngine) -> None:
    errors = []
    for driver_path in (True, False):
        async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
            with pytest.raises(sa_exc.StatementError) as raised:
                await uow.products.reserve_stock(1, 1, datetime(2026, 1, 1))  # noqa: DTZ001
            errors.append(raised.value)
    assert type(errors[0]) is type(errors[1])
    assert isinstance(errors[0].orig, ValueError)
    assert isinstance(errors[1].orig, ValueError)


@pytest.mark.parametrize("driver_path", PATHS)
async def test_a_connection_killed_under_a_read_is_unavailable_and_never_reused(
    engine: AsyncEngine, contract_postgres_url: str, driver_path: bool
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        tea = await uow.products.add(a_product("Tea"))
        await uow.commit()
    killer = create_engine_for(contract_postgres_url, pool_size=1, max_overflow=0)
    try:
        async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
            assert await uow.products.get(tea.id) is not None
            async with killer.connect() as connection:
                await connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND application_name = 'storefront'"
                    )
                )
            with pytest.raises(DependencyUnavailable):
                await uow.products.get(tea.id)
    finally:
        await killer.dispose()

    # The pool's only connection was invalidated: the next unit of work connects afresh.
    async with SqlUnitOfWork(engine, driver_path=driver_path) as uow:
        assert await uow.products.get(tea.id) is not None
