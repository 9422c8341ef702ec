"""Placing orders under concurrency, on every store: the database decides, nothing oversells.

These drive the real use cases (PlaceOrder, CancelOrder, GetUserStats) so that the
rules hold end to end on memory, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from application.orders import CancelOrder, OrderAccess, PlaceOrder, PlaceOrderCommand
from application.pagination import PageRequest
from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import OrderQuery
from application.users import GetUserStats
from domain.errors import InsufficientStock
from domain.orders import OrderRequestLine
from tests.contract.builders import a_product, a_user
from tests.unit.doubles import SteppingClock


async def add_users(uow_factory: UnitOfWorkFactory, count: int) -> list[int]:
    async with uow_factory() as uow:
        users = [await uow.users.add(a_user(f"customer{i}@example.com")) for i in range(count)]
        await uow.commit()
    return [user.id for user in users]


async def add_products(uow_factory: UnitOfWorkFactory, *stocks: int) -> list[int]:
    async with uow_factory() as uow:
        products = [
            await uow.products.add(a_product(f"Product {i}", stock=stock))
            for i, stock in enumerate(stocks)
        ]
        await uow.commit()
    return [product.id for product in products]


async def stock_of(uow_factory: UnitOfWorkFactory, product_ids: list[int]) -> list[int]:
    async with uow_factory() as uow:
        found = await uow.products.get_many(product_ids)
    return [found[product_id].stock for product_id in product_ids]


def one_line(product_id: int, quantity: int = 1) -> tuple[OrderRequestLine, ...]:
    return (OrderRequestLine(product_id=product_id, quantity=quantity),)


async def test_fifty_concurrent_orders_for_ten_units_place_exactly_ten(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, 10)
    customers = await add_users(uow_factory, 50)
    place = PlaceOrder(uow_factory, SteppingClock())

    results = await asyncio.gather(
        *(place.execute(PlaceOrderCommand(c, one_line(product))) for c in customers),
        return_exceptions=True,
    )

    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(placed) == 10
    assert len(refused) == 40
    assert all(isinstance(error, InsufficientStock) for error in refused)
    assert await stock_of(uow_factory, [product]) == [0]


async def test_concurrent_multi_line_orders_over_shared_products_never_deadlock(
    uow_factory: UnitOfWorkFactory,
) -> None:
    products = await add_products(uow_factory, 40, 40, 40, 40)
    customers = await add_users(uow_factory, 30)
    place = PlaceOrder(uow_factory, SteppingClock())
    shuffler = random.Random(7)

    def lines() -> tuple[OrderRequestLine, ...]:
        # Lines in a different order per customer: the use case must lock in id order.
        chosen = shuffler.sample(products, k=shuffler.randint(2, 4))
        return tuple(OrderRequestLine(product_id=p, quantity=2) for p in chosen)

    requests = [PlaceOrderCommand(c, lines()) for c in customers]
    results = await asyncio.gather(
        *(place.execute(request) for request in requests), return_exceptions=True
    )

    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, InsufficientStock)
    ]
    assert unexpected == []
    taken = dict.fromkeys(products, 0)
    for request, result in zip(requests, results, strict=True):
        if not isinstance(result, BaseException):
            for line in request.lines:
                taken[line.product_id] += line.quantity
    remaining = await stock_of(uow_factory, products)
    assert remaining == [40 - taken[p] for p in products]
    assert all(stock >= 0 for stock in remaining)


async def test_concurrent_requests_with_one_idempotency_key_create_one_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, 10)
    (customer,) = await add_users(uow_factory, 1)
    place = PlaceOrder(uow_factory, SteppingClock())
    command = PlaceOrderCommand(customer, one_line(product), idempotency_key="checkout-1")

    results = await asyncio.gather(*(place.execute(command) for _ in range(2)))

    assert results[0].order.id == results[1].order.id
    assert sorted(r.replayed for r in results) == [False, True]
    assert await stock_of(uow_factory, [product]) == [9]


async def test_a_failed_order_leaves_every_products_stock_unchanged(
    uow_factory: UnitOfWorkFactory,
) -> None:
    products = await add_products(uow_factory, 5, 5, 1)
    (customer,) = await add_users(uow_factory, 1)
    lines = (
        OrderRequestLine(product_id=products[0], quantity=3),
        OrderRequestLine(product_id=products[1], quantity=3),
        OrderRequestLine(product_id=products[2], quantity=2),
    )

    with pytest.raises(InsufficientStock) as refused:
        await PlaceOrder(uow_factory, SteppingClock()).execute(PlaceOrderCommand(customer, lines))

    assert refused.value.product_id == products[2]
    assert await stock_of(uow_factory, products) == [5, 5, 1]
    async with uow_factory() as uow:
        assert (
            await uow.orders.list_page(OrderQuery(page=PageRequest(), user_id=customer))
        ).total == 0


async def test_stats_match_the_orders_placed_and_cancelled(uow_factory: UnitOfWorkFactory) -> None:
    (cheap, dear) = await add_products(uow_factory, 100, 100)
    (customer,) = await add_users(uow_factory, 1)
    clock = SteppingClock()
    place = PlaceOrder(uow_factory, clock)
    kept = await place.execute(PlaceOrderCommand(customer, one_line(cheap, 3)))
    also_kept = await place.execute(PlaceOrderCommand(customer, one_line(dear, 1)))
    dropped = await place.execute(PlaceOrderCommand(customer, one_line(dear, 2)))
    await CancelOrder(uow_factory, clock).execute(OrderAccess(dropped.order.id, customer))

    result = await GetUserStats(uow_factory).execute(customer)

    assert result.stats.order_count == 2
    assert result.stats.total_spent == kept.order.total + also_kept.order.total
    assert result.stats.total_spent == Decimal("79.96")
    assert await stock_of(uow_factory, [cheap, dear]) == [97, 99]
