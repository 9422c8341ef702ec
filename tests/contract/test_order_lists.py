"""OrderRepository.list_page: every customer's orders, by status, newest first, paged."""

from __future__ import annotations

from application.pagination import KeysetPosition, PageRequest
from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import OrderQuery
from domain.orders import Order, OrderStatus
from tests.contract.builders import a_product, a_user, an_order


async def a_shop_with_orders(uow_factory: UnitOfWorkFactory) -> tuple[int, int, list[Order]]:
    """Ann and Bob, six orders in turn; the fourth and fifth are cancelled."""
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        bob = await uow.users.add(a_user("bob@example.com"))
        shirt = await uow.products.add(a_product("Red Shirt"))
        placed = []
        for index in range(6):
            status = OrderStatus.CANCELLED if index in (3, 4) else OrderStatus.PLACED
            owner = ann if index % 2 == 0 else bob
            placed.append(await uow.orders.add(an_order(owner.id, [(shirt, 1)], status=status)))
        await uow.commit()
    return ann.id, bob.id, placed


async def listed(
    uow_factory: UnitOfWorkFactory,
    user_id: int | None,
    status: OrderStatus | None = None,
    page: PageRequest | None = None,
) -> tuple[list[int], int, bool]:
    async with uow_factory() as uow:
        found = await uow.orders.list_page(
            OrderQuery(page=page or PageRequest(limit=100), user_id=user_id, status=status)
        )
    return [order.id for order in found.items], found.total, found.has_more


async def test_every_customers_orders_are_listed_newest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, _, placed = await a_shop_with_orders(uow_factory)

    ids, total, more = await listed(uow_factory, None)

    assert ids == [order.id for order in reversed(placed)]
    assert (total, more) == (6, False)


async def test_a_status_keeps_only_orders_in_that_state_for_everyone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, _, placed = await a_shop_with_orders(uow_factory)

    cancelled = await listed(uow_factory, None, OrderStatus.CANCELLED)
    still_placed = await listed(uow_factory, None, OrderStatus.PLACED)

    assert cancelled == ([placed[4].id, placed[3].id], 2, False)
    assert still_placed == ([placed[5].id, placed[2].id, placed[1].id, placed[0].id], 4, False)


async def test_a_status_keeps_only_that_customers_orders_in_that_state(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob, placed = await a_shop_with_orders(uow_factory)

    anns_cancelled = await listed(uow_factory, ann, OrderStatus.CANCELLED)
    bobs_placed = await listed(uow_factory, bob, OrderStatus.PLACED)
    nobodys = await listed(uow_factory, 999, OrderStatus.PLACED)

    assert anns_cancelled == ([placed[4].id], 1, False)
    assert bobs_placed == ([placed[5].id, placed[1].id], 2, False)
    assert nobodys == ([], 0, False)


async def test_filtered_lists_page_by_offset_and_after_a_position(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, _, placed = await a_shop_with_orders(uow_factory)
    newest_first = [placed[5].id, placed[2].id, placed[1].id, placed[0].id]

    first = await listed(uow_factory, None, OrderStatus.PLACED, PageRequest(limit=2))
    by_offset = await listed(uow_factory, None, OrderStatus.PLACED, PageRequest(skip=2, limit=2))
    after = KeysetPosition(value=None, id=placed[2].id)
    by_position = await listed(
        uow_factory, None, OrderStatus.PLACED, PageRequest(limit=2, after=after)
    )
    beyond = await listed(uow_factory, None, OrderStatus.PLACED, PageRequest(skip=9, limit=2))

    assert first == (newest_first[:2], 4, True)
    assert by_offset == (newest_first[2:], 4, False)
    assert by_position == (newest_first[2:], 4, False)
    assert beyond == ([], 4, False)


async def test_every_order_comes_back_whole_with_its_owner(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob, placed = await a_shop_with_orders(uow_factory)

    async with uow_factory() as uow:
        found = await uow.orders.list_page(OrderQuery(page=PageRequest(limit=100), user_id=None))

    assert list(found.items) == list(reversed(placed))
    assert [order.user_id for order in found.items] == [bob, ann, bob, ann, bob, ann]
