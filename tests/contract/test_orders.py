"""OrderRepository contract: orders with their lines, newest first, stats by the store."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from application.pagination import KeysetPosition, PageRequest
from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import OrderQuery
from domain.orders import Order, OrderStatus
from domain.products import Product
from tests.contract.builders import a_product, a_user, an_order, at


async def shop(uow_factory: UnitOfWorkFactory) -> tuple[int, int, list[Product]]:
    """Two customers and three products."""
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        bob = await uow.users.add(a_user("bob@example.com"))
        products = [
            await uow.products.add(a_product("Red Shirt", price="19.99")),
            await uow.products.add(a_product("Blue Hat", price="0.10")),
            await uow.products.add(a_product("Green Scarf", price="1234.50")),
        ]
        await uow.commit()
    return ann.id, bob.id, products


async def place(uow_factory: UnitOfWorkFactory, *orders: Order) -> list[Order]:
    async with uow_factory() as uow:
        placed = [await uow.orders.add(order) for order in orders]
        await uow.commit()
    return placed


async def test_an_added_order_reads_back_with_its_lines_in_order(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (shirt, hat, scarf) = await shop(uow_factory)
    (placed,) = await place(uow_factory, an_order(ann, [(scarf, 2), (shirt, 1), (hat, 3)]))

    async with uow_factory() as uow:
        found = await uow.orders.get(placed.id)

    assert placed.id > 0
    assert found == placed
    assert found is not None
    assert [line.product_id for line in found.lines] == [scarf.id, shirt.id, hat.id]
    assert found.lines[0].product_name == "Green Scarf"
    assert found.lines[0].unit_price == Decimal("1234.50")
    assert found.total == Decimal("2489.29")
    assert found.status is OrderStatus.PLACED


async def test_orders_get_increasing_ids(uow_factory: UnitOfWorkFactory) -> None:
    ann, bob, (shirt, *_) = await shop(uow_factory)

    first, second = await place(
        uow_factory, an_order(ann, [(shirt, 1)]), an_order(bob, [(shirt, 1)])
    )

    assert 0 < first.id < second.id


async def test_an_unknown_order_is_none(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.orders.get(999) is None


async def test_cancelling_a_placed_order_marks_it_cancelled(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (shirt, *_) = await shop(uow_factory)
    (order,) = await place(uow_factory, an_order(ann, [(shirt, 1)]))

    async with uow_factory() as uow:
        assert await uow.orders.cancel(order.id, at(hours=1)) is True
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.orders.get(order.id)
    assert found is not None
    assert (found.status, found.updated_at, found.created_at) == (
        OrderStatus.CANCELLED,
        at(hours=1),
        order.created_at,
    )


async def test_cancelling_twice_or_an_unknown_order_reports_false(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (shirt, *_) = await shop(uow_factory)
    (order,) = await place(uow_factory, an_order(ann, [(shirt, 1)]))
    async with uow_factory() as uow:
        await uow.orders.cancel(order.id, at(hours=1))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.orders.cancel(order.id, at(hours=2)) is False
        assert await uow.orders.cancel(999, at(hours=2)) is False
        found = await uow.orders.get(order.id)
    assert found is not None
    assert found.updated_at == at(hours=1)


async def test_of_concurrent_cancellations_exactly_one_wins(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (shirt, *_) = await shop(uow_factory)
    (order,) = await place(uow_factory, an_order(ann, [(shirt, 1)]))

    async def cancel() -> bool:
        async with uow_factory() as uow:
            won = await uow.orders.cancel(order.id, at(hours=1))
            await asyncio.sleep(0)
            await uow.commit()
            return won

    outcomes = await asyncio.gather(*(cancel() for _ in range(6)))

    assert outcomes.count(True) == 1


async def test_a_users_orders_are_listed_newest_first_and_only_theirs(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob, (shirt, hat, _) = await shop(uow_factory)
    placed = await place(
        uow_factory,
        an_order(ann, [(shirt, 1)], when=at(minutes=1)),
        an_order(bob, [(hat, 1)], when=at(minutes=2)),
        an_order(ann, [(hat, 2), (shirt, 1)], when=at(minutes=3)),
        an_order(ann, [(hat, 1)], when=at(minutes=4)),
    )
    anns = [placed[3], placed[2], placed[0]]

    async with uow_factory() as uow:
        everything = await uow.orders.list_page(OrderQuery(page=PageRequest(limit=10), user_id=ann))
        first = await uow.orders.list_page(OrderQuery(page=PageRequest(limit=2), user_id=ann))
        second = await uow.orders.list_page(
            OrderQuery(page=PageRequest(skip=2, limit=2), user_id=ann)
        )
        beyond = await uow.orders.list_page(
            OrderQuery(page=PageRequest(skip=5, limit=2), user_id=ann)
        )
        nobody = await uow.orders.list_page(OrderQuery(page=PageRequest(), user_id=999))

    assert list(everything.items) == anns
    assert (everything.total, everything.has_more) == (3, False)
    assert (list(first.items), first.total, first.has_more) == (anns[:2], 3, True)
    assert (list(second.items), second.total, second.has_more) == (anns[2:], 3, False)
    assert (list(beyond.items), beyond.total, beyond.has_more) == ([], 3, False)
    assert (list(nobody.items), nobody.total, nobody.has_more) == ([], 0, False)


async def test_a_users_orders_can_be_paged_after_a_position(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (shirt, *_) = await shop(uow_factory)
    placed = await place(uow_factory, *(an_order(ann, [(shirt, 1)]) for _ in range(5)))

    async with uow_factory() as uow:
        page = await uow.orders.list_page(
            OrderQuery(
                page=PageRequest(limit=2, after=KeysetPosition(value=None, id=placed[3].id)),
                user_id=ann,
            )
        )
        last = await uow.orders.list_page(
            OrderQuery(
                page=PageRequest(limit=2, after=KeysetPosition(value=None, id=placed[0].id)),
                user_id=ann,
            )
        )

    assert list(page.items) == [placed[2], placed[1]]
    assert (page.total, page.has_more) == (5, True)
    assert (list(last.items), last.total, last.has_more) == ([], 5, False)


async def test_stats_count_and_sum_placed_orders_only(uow_factory: UnitOfWorkFactory) -> None:
    ann, bob, (shirt, hat, scarf) = await shop(uow_factory)
    kept_1, cancelled, kept_2, _ = await place(
        uow_factory,
        an_order(ann, [(shirt, 2)]),
        an_order(ann, [(scarf, 1)]),
        an_order(ann, [(hat, 3)]),
        an_order(bob, [(scarf, 5)]),
    )
    async with uow_factory() as uow:
        await uow.orders.cancel(cancelled.id, at(hours=1))
        await uow.commit()

    async with uow_factory() as uow:
        stats = await uow.orders.stats_for_user(ann)

    assert stats.order_count == 2
    assert stats.total_spent == kept_1.total + kept_2.total == Decimal("40.28")
    assert str(stats.total_spent) == "40.28"


async def test_stats_of_a_user_without_orders_are_zero(uow_factory: UnitOfWorkFactory) -> None:
    ann, _, _ = await shop(uow_factory)

    async with uow_factory() as uow:
        stats = await uow.orders.stats_for_user(ann)

    assert stats.order_count == 0
    assert stats.total_spent == Decimal("0")
    assert str(stats.total_spent) == "0.00"
