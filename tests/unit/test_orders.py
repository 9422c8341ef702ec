"""Placing and cancelling orders, idempotent retries, and per-user stats."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from application.catalogue import DeleteProduct
from application.order_listing import ListOrders, ListOrdersCommand
from application.orders import (
    CancelOrder,
    GetOrder,
    OrderAccess,
    PlaceOrder,
    PlaceOrderCommand,
)
from application.users import GetUserStats
from domain.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from domain.events import OrderCancelled, OrderPlaced
from domain.orders import OrderRequestLine, OrderStatus
from tests.unit.conftest import World


def lines(*pairs: tuple[int, int]) -> tuple[OrderRequestLine, ...]:
    return tuple(OrderRequestLine(product_id=p, quantity=q) for p, q in pairs)


def place(world: World) -> PlaceOrder:
    return PlaceOrder(world.uow, world.clock)


async def test_placing_an_order_decrements_stock_and_copies_name_and_price(world: World) -> None:
    user = await world.register()
    shirt = await world.product(price="19.99", stock=10)
    placed = await place(world).execute(PlaceOrderCommand(user.id, lines((shirt.id, 3))))
    order = placed.order
    assert await world.stock_of(shirt.id) == 7
    assert order.status is OrderStatus.PLACED
    assert (order.lines[0].product_name, order.lines[0].unit_price) == (
        "Red Shirt",
        Decimal("19.99"),
    )
    assert order.total == Decimal("59.97")
    assert isinstance(world.store.events[-1], OrderPlaced)


async def test_an_order_short_of_stock_on_one_line_changes_nothing(world: World) -> None:
    user = await world.register()
    plenty = await world.product(stock=10)
    scarce = await world.product(stock=1)
    with pytest.raises(InsufficientStock) as refused:
        await place(world).execute(
            PlaceOrderCommand(user.id, lines((plenty.id, 5), (scarce.id, 2)))
        )
    assert refused.value.product_id == scarce.id
    assert str(scarce.id) in refused.value.detail
    assert (await world.stock_of(plenty.id), await world.stock_of(scarce.id)) == (10, 1)
    assert not world.store.orders


@pytest.mark.parametrize(
    "requested",
    [(), ((1, 0),), ((1, 1001),), ((1, 1), (1, 2)), tuple((i, 1) for i in range(1, 102))],
)
async def test_order_requests_outside_the_rules_are_invalid(
    world: World, requested: tuple[tuple[int, int], ...]
) -> None:
    user = await world.register()
    with pytest.raises(InvalidInput):
        await place(world).execute(PlaceOrderCommand(user.id, lines(*requested)))


async def test_unknown_or_deleted_products_are_invalid_input(world: World) -> None:
    user = await world.register()
    gone = await world.product()
    await DeleteProduct(world.uow, world.clock).execute(gone.id)
    for product_id in (gone.id, 999):
        with pytest.raises(InvalidInput):
            await place(world).execute(PlaceOrderCommand(user.id, lines((product_id, 1))))


async def test_an_unknown_product_is_named_even_when_another_line_is_short_of_stock(
    world: World,
) -> None:
    user = await world.register()
    scarce = await world.product(stock=1)
    with pytest.raises(InvalidInput) as refused:
        await place(world).execute(PlaceOrderCommand(user.id, lines((scarce.id, 2), (999, 1))))
    assert refused.value.field == "items[1].product_id"
    assert await world.stock_of(scarce.id) == 1


async def test_a_deleted_product_stays_in_the_orders_that_hold_it(world: World) -> None:
    user = await world.register()
    shirt = await world.product()
    placed = await place(world).execute(PlaceOrderCommand(user.id, lines((shirt.id, 1))))
    await DeleteProduct(world.uow, world.clock).execute(shirt.id)
    order = await GetOrder(world.uow).execute(OrderAccess(placed.order.id, user.id))
    assert order.lines[0].product_name == "Red Shirt"


async def test_concurrent_orders_never_oversell(world: World) -> None:
    shirt = await world.product(stock=10)
    users = [await world.register(email=f"u{i}@example.com") for i in range(30)]
    results = await asyncio.gather(
        *(place(world).execute(PlaceOrderCommand(u.id, lines((shirt.id, 1)))) for u in users),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 10
    assert all(isinstance(r, InsufficientStock) for r in results if isinstance(r, BaseException))
    assert await world.stock_of(shirt.id) == 0


async def test_a_retry_with_the_same_key_and_body_returns_the_first_order(world: World) -> None:
    user = await world.register()
    shirt = await world.product(stock=10)
    command = PlaceOrderCommand(user.id, lines((shirt.id, 2)), idempotency_key="k-1")
    first = await place(world).execute(command)
    again = await place(world).execute(command)
    assert again.replayed
    assert again.order.id == first.order.id
    assert await world.stock_of(shirt.id) == 8


async def test_the_same_key_with_another_body_is_a_conflict(world: World) -> None:
    user = await world.register()
    shirt = await world.product(stock=10)
    await place(world).execute(
        PlaceOrderCommand(user.id, lines((shirt.id, 2)), idempotency_key="k")
    )
    with pytest.raises(Conflict):
        await place(world).execute(
            PlaceOrderCommand(user.id, lines((shirt.id, 3)), idempotency_key="k")
        )


async def test_idempotency_keys_belong_to_one_user(world: World) -> None:
    alice = await world.register()
    bob = await world.register(email="bob@example.com")
    shirt = await world.product(stock=10)
    a = await place(world).execute(
        PlaceOrderCommand(alice.id, lines((shirt.id, 1)), idempotency_key="k")
    )
    b = await place(world).execute(
        PlaceOrderCommand(bob.id, lines((shirt.id, 1)), idempotency_key="k")
    )
    assert a.order.id != b.order.id
    assert not b.replayed


async def test_idempotency_keys_expire_after_a_day(world: World) -> None:
    user = await world.register()
    shirt = await world.product(stock=10)
    command = PlaceOrderCommand(user.id, lines((shirt.id, 1)), idempotency_key="k")
    first = await place(world).execute(command)
    world.clock.advance(hours=25)
    later = await place(world).execute(command)
    assert not later.replayed
    assert later.order.id != first.order.id


async def test_concurrent_requests_with_one_key_create_one_order(world: World) -> None:
    user = await world.register()
    shirt = await world.product(stock=10)
    command = PlaceOrderCommand(user.id, lines((shirt.id, 1)), idempotency_key="same")
    results = await asyncio.gather(*(place(world).execute(command) for _ in range(5)))
    assert len({r.order.id for r in results}) == 1
    assert await world.stock_of(shirt.id) == 9


async def test_cancelling_returns_the_stock_once(world: World) -> None:
    user = await world.register()
    shirt = await world.product(stock=10)
    placed = await place(world).execute(PlaceOrderCommand(user.id, lines((shirt.id, 4))))
    cancel = CancelOrder(world.uow, world.clock)
    cancelled = await cancel.execute(OrderAccess(placed.order.id, user.id))
    assert cancelled.status is OrderStatus.CANCELLED
    assert await world.stock_of(shirt.id) == 10
    assert isinstance(world.store.events[-1], OrderCancelled)
    with pytest.raises(Conflict):
        await cancel.execute(OrderAccess(placed.order.id, user.id))
    assert await world.stock_of(shirt.id) == 10


async def test_another_users_order_is_not_found(world: World) -> None:
    alice = await world.register()
    bob = await world.register(email="bob@example.com")
    shirt = await world.product()
    placed = await place(world).execute(PlaceOrderCommand(alice.id, lines((shirt.id, 1))))
    with pytest.raises(NotFound):
        await GetOrder(world.uow).execute(OrderAccess(placed.order.id, bob.id))
    with pytest.raises(NotFound):
        await CancelOrder(world.uow, world.clock).execute(OrderAccess(placed.order.id, bob.id))
    admin_view = await GetOrder(world.uow).execute(
        OrderAccess(placed.order.id, bob.id, is_superuser=True)
    )
    assert admin_view.id == placed.order.id


async def test_orders_are_listed_newest_first_and_only_the_callers(world: World) -> None:
    alice = await world.register()
    bob = await world.register(email="bob@example.com")
    shirt = await world.product(stock=100)
    ids = [
        (await place(world).execute(PlaceOrderCommand(alice.id, lines((shirt.id, 1))))).order.id
        for _ in range(3)
    ]
    await place(world).execute(PlaceOrderCommand(bob.id, lines((shirt.id, 1))))
    page = await ListOrders(world.uow).execute(ListOrdersCommand(user_id=alice.id, limit=2))
    assert [o.id for o in page.items] == ids[::-1][:2]
    assert page.total == 3
    rest = await ListOrders(world.uow).execute(
        ListOrdersCommand(user_id=alice.id, limit=2, after=page.next_cursor)
    )
    assert [o.id for o in rest.items] == [ids[0]]
    assert rest.next_cursor is None


async def test_stats_count_placed_orders_and_ignore_cancelled_ones(world: World) -> None:
    user = await world.register()
    shirt = await world.product(price="10.00", stock=100)
    kept = await place(world).execute(PlaceOrderCommand(user.id, lines((shirt.id, 2))))
    dropped = await place(world).execute(PlaceOrderCommand(user.id, lines((shirt.id, 5))))
    await CancelOrder(world.uow, world.clock).execute(OrderAccess(dropped.order.id, user.id))
    result = await GetUserStats(world.uow).execute(user.id)
    assert kept.order.total == Decimal("20.00")
    assert (result.stats.order_count, result.stats.total_spent) == (1, Decimal("20.00"))
