"""IdempotencyKeyRepository contract: one live record per user and key."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import IdempotencyRecord
from domain.errors import Conflict
from tests.contract.builders import a_product, a_user, an_order, at

TTL = timedelta(hours=24)


async def customer_with_orders(uow_factory: UnitOfWorkFactory) -> tuple[int, int, list[int]]:
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        bob = await uow.users.add(a_user("bob@example.com"))
        shirt = await uow.products.add(a_product())
        orders = [await uow.orders.add(an_order(ann.id, [(shirt, 1)])) for _ in range(2)]
        await uow.commit()
    return ann.id, bob.id, [order.id for order in orders]


def a_record(
    user_id: int, order_id: int, created_at: datetime, key: str = "key-1"
) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=user_id, key=key, request_hash="hash-a", order_id=order_id, created_at=created_at
    )


async def claim(uow_factory: UnitOfWorkFactory, record: IdempotencyRecord) -> None:
    async with uow_factory() as uow:
        await uow.idempotency_keys.claim(record, not_before=record.created_at - TTL)
        await uow.commit()


async def test_a_claimed_key_is_found_while_live(uow_factory: UnitOfWorkFactory) -> None:
    ann, _, (order_id, _) = await customer_with_orders(uow_factory)
    record = a_record(ann, order_id, at(minutes=1))
    await claim(uow_factory, record)

    async with uow_factory() as uow:
        live = await uow.idempotency_keys.get(ann, "key-1", not_before=at(minutes=1))
        expired = await uow.idempotency_keys.get(ann, "key-1", not_before=at(minutes=2))
        other_key = await uow.idempotency_keys.get(ann, "key-2", not_before=at())

    assert live == record
    assert expired is None
    assert other_key is None


async def test_claiming_a_live_key_again_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    ann, _, (first, second) = await customer_with_orders(uow_factory)
    await claim(uow_factory, a_record(ann, first, at(minutes=1)))

    async with uow_factory() as uow:
        with pytest.raises(Conflict, match="Idempotency key already used"):
            await uow.idempotency_keys.claim(
                a_record(ann, second, at(minutes=2)), not_before=at(minutes=2) - TTL
            )


async def test_a_conflicting_claim_leaves_the_unit_of_work_usable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _, (first, second) = await customer_with_orders(uow_factory)
    await claim(uow_factory, a_record(ann, first, at(minutes=1)))

    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.idempotency_keys.claim(
                a_record(ann, second, at(minutes=2)), not_before=at(minutes=2) - TTL
            )
        await uow.idempotency_keys.claim(
            a_record(ann, second, at(minutes=2), key="key-2"), not_before=at(minutes=2) - TTL
        )
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.idempotency_keys.get(ann, "key-2", not_before=at()) is not None


async def test_an_expired_key_is_replaced_by_a_new_claim(uow_factory: UnitOfWorkFactory) -> None:
    ann, _, (first, second) = await customer_with_orders(uow_factory)
    await claim(uow_factory, a_record(ann, first, at()))
    renewed = a_record(ann, second, at(hours=24, seconds=1))
    await claim(uow_factory, renewed)

    async with uow_factory() as uow:
        found = await uow.idempotency_keys.get(ann, "key-1", not_before=at(hours=1))

    assert found == renewed


async def test_a_key_that_has_not_expired_is_not_replaced(uow_factory: UnitOfWorkFactory) -> None:
    ann, _, (first, second) = await customer_with_orders(uow_factory)
    kept = a_record(ann, first, at())
    await claim(uow_factory, kept)

    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.idempotency_keys.claim(
                a_record(ann, second, at(hours=23, minutes=59)),
                not_before=at(hours=23, minutes=59) - TTL,
            )

    async with uow_factory() as uow:
        assert await uow.idempotency_keys.get(ann, "key-1", not_before=at()) == kept


async def test_keys_belong_to_their_user(uow_factory: UnitOfWorkFactory) -> None:
    ann, bob, (first, second) = await customer_with_orders(uow_factory)
    await claim(uow_factory, a_record(ann, first, at()))
    await claim(uow_factory, a_record(bob, second, at()))

    async with uow_factory() as uow:
        anns = await uow.idempotency_keys.get(ann, "key-1", not_before=at() - timedelta(days=1))
        bobs = await uow.idempotency_keys.get(bob, "key-1", not_before=at() - timedelta(days=1))

    assert anns is not None
    assert bobs is not None
    assert (anns.order_id, bobs.order_id) == (first, second)
