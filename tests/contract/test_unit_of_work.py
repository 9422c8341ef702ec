"""UnitOfWork contract: commit publishes everything, anything else discards everything."""

from __future__ import annotations

import pytest

from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.ports.accounts import UserChanges
from application.ports.common import UnitOfWorkFactory
from domain.events import UserRegistered
from tests.contract.builders import a_product, a_refresh_token, a_user, an_order, at


class Boom(Exception):
    pass


async def test_committed_changes_are_seen_by_the_next_unit_of_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        user = await uow.users.add(a_user())
        product = await uow.products.add(a_product())
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(user.id) == user
        assert await uow.products.get(product.id) == product


async def test_leaving_without_commit_discards_every_change(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        shirt = await uow.products.add(a_product("Shirt", stock=5))
        await uow.commit()

    async with uow_factory() as uow:
        bob = await uow.users.add(a_user("bob@example.com"))
        await uow.users.change(ann.id, UserChanges(full_name="Renamed"), at(minutes=1))
        hat = await uow.products.add(a_product("Hat"))
        assert await uow.products.reserve_stock(shirt.id, 5, at(minutes=1))
        order = await uow.orders.add(an_order(ann.id, [(shirt, 5)]))
        await uow.refresh_tokens.add(a_refresh_token("hash-1", ann.id))
        # Changes are visible inside the unit of work...
        assert await uow.users.get(bob.id) is not None
        assert await uow.orders.get(order.id) is not None

    # ...and gone after it.
    async with uow_factory() as uow:
        assert await uow.users.get(bob.id) is None
        found_ann = await uow.users.get(ann.id)
        assert found_ann is not None
        assert found_ann.full_name is None
        assert await uow.products.get(hat.id) is None
        found_shirt = await uow.products.get(shirt.id)
        assert found_shirt is not None
        assert found_shirt.stock == 5
        assert await uow.orders.get(order.id) is None
        assert await uow.refresh_tokens.get("hash-1") is None
        # The rolled-back e-mail is free again.
        await uow.users.add(a_user("bob@example.com"))


async def test_an_error_inside_the_block_rolls_back_and_propagates(
    uow_factory: UnitOfWorkFactory,
) -> None:
    added: list[int] = []

    async def fail_half_way() -> None:
        async with uow_factory() as uow:
            added.append((await uow.users.add(a_user())).id)
            raise Boom

    with pytest.raises(Boom):
        await fail_half_way()

    async with uow_factory() as uow:
        assert await uow.users.get(added[0]) is None


async def test_changes_after_a_commit_need_another_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        await uow.commit()
        bob = await uow.users.add(a_user("bob@example.com"))

    async with uow_factory() as uow:
        assert await uow.users.get(ann.id) is not None
        assert await uow.users.get(bob.id) is None


async def test_ids_keep_increasing_after_a_rollback(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.users.add(a_user("a@example.com"))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.users.add(a_user("b@example.com"))
    async with uow_factory() as uow:
        third = await uow.users.add(a_user("c@example.com"))
        await uow.commit()

    assert third.id > first.id


async def test_recording_events_works_with_and_without_commit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        uow.record(UserRegistered(user_id=1, email="ann@example.com", full_name=None))
        await uow.commit()
    async with uow_factory() as uow:
        uow.record(UserRegistered(user_id=2, email="bob@example.com", full_name=None))


async def test_the_memory_store_keeps_only_committed_events() -> None:
    # Memory only: on the databases events will go to the outbox table.
    store = InMemoryStore()
    kept = UserRegistered(user_id=1, email="ann@example.com", full_name=None)
    dropped = UserRegistered(user_id=2, email="bob@example.com", full_name=None)

    async with InMemoryUnitOfWork(store) as uow:
        uow.record(kept)
        await uow.commit()
    async with InMemoryUnitOfWork(store) as uow:
        uow.record(dropped)

    async def fail_after_recording() -> None:
        async with InMemoryUnitOfWork(store) as uow:
            uow.record(dropped)
            raise Boom

    with pytest.raises(Boom):
        await fail_after_recording()

    assert store.events == [kept]


async def test_a_unit_of_work_cannot_be_entered_twice_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    async with uow:
        with pytest.raises(RuntimeError):
            await uow.__aenter__()


async def test_a_unit_of_work_can_be_used_again_after_it_ends(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    async with uow:
        user = await uow.users.add(a_user())
        await uow.commit()
    async with uow:
        assert await uow.users.get(user.id) == user
