"""Writes racing other writes to the same rows, on every store, through the use cases.

On PostgreSQL each task runs on its own connection, so these interleave for real:
a write-back of a row read earlier would undo the other writer's change here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.catalogue import CreateProduct, UpdateProduct, UpdateProductCommand
from application.logins import RefreshCommand, RefreshSession, SessionIssuer, TokenPair
from application.orders import PlaceOrder, PlaceOrderCommand
from application.ports.accounts import UserChanges
from application.ports.common import UnitOfWorkFactory
from application.sessions import ClientInfo
from application.users import (
    AdminUpdateUser,
    AdminUpdateUserCommand,
    DeactivateUser,
    UpdateProfile,
    UpdateProfileCommand,
)
from domain.errors import InsufficientStock, InvalidCredentials
from domain.products import ProductDetails
from domain.users import User
from tests.contract.builders import a_product, a_user
from tests.contract.test_placing_orders import add_products, add_users, one_line, stock_of
from tests.unit.doubles import CountingThrottle, LookupTokens, ReversibleHasher, SteppingClock


async def shuffled(*calls: Awaitable[Any], seed: int = 11) -> list[Any]:
    """Run ``calls`` concurrently, started in a shuffled order; exceptions are returned."""
    ordered = list(calls)
    random.Random(seed).shuffle(ordered)
    return await asyncio.gather(*ordered, return_exceptions=True)


async def add_account(uow_factory: UnitOfWorkFactory, email: str, **fields: object) -> User:
    async with uow_factory() as uow:
        user = await uow.users.add(a_user(email, **fields))
        await uow.commit()
    return user


async def reload(uow_factory: UnitOfWorkFactory, user_id: int) -> User:
    async with uow_factory() as uow:
        user = await uow.users.get(user_id)
    assert user is not None
    return user


async def test_price_edits_racing_single_unit_orders_never_oversell(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, 5)
    customers = await add_users(uow_factory, 40)
    clock = SteppingClock()
    place, edit = PlaceOrder(uow_factory, clock), UpdateProduct(uow_factory, clock)

    results = await shuffled(
        *(place.execute(PlaceOrderCommand(c, one_line(product))) for c in customers),
        *(
            edit.execute(UpdateProductCommand(product, price=Decimal(f"{10 + n}.00")))
            for n in range(10)
        ),
    )

    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(error, InsufficientStock) for error in errors), errors
    assert len(errors) == 35
    assert await stock_of(uow_factory, [product]) == [0]


async def test_profile_edits_never_undo_a_demotion(uow_factory: UnitOfWorkFactory) -> None:
    await add_account(uow_factory, "root@example.com", is_superuser=True)
    bob = await add_account(uow_factory, "bob@example.com", is_superuser=True)
    clock = SteppingClock()
    edit = UpdateProfile(uow_factory, ReversibleHasher(), clock, CountingThrottle())

    results = await shuffled(
        *(edit.execute(UpdateProfileCommand(bob.id, full_name=f"Bob {n}")) for n in range(60)),
        AdminUpdateUser(uow_factory, clock).execute(
            AdminUpdateUserCommand(bob.id, is_superuser=False)
        ),
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    after = await reload(uow_factory, bob.id)
    assert after.is_superuser is False
    assert after.token_version == bob.token_version + 1
    assert after.version == bob.version + 61


async def test_profile_edits_never_undo_a_deactivation(uow_factory: UnitOfWorkFactory) -> None:
    bob = await add_account(uow_factory, "bob@example.com")
    clock = SteppingClock()
    edit = UpdateProfile(uow_factory, ReversibleHasher(), clock, CountingThrottle())

    results = await shuffled(
        *(edit.execute(UpdateProfileCommand(bob.id, full_name=f"Bob {n}")) for n in range(60)),
        DeactivateUser(uow_factory, clock).execute(bob.id),
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    after = await reload(uow_factory, bob.id)
    assert after.is_active is False
    assert after.token_version == bob.token_version + 1


async def test_two_superusers_demoting_each_other_at_once_leave_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = SteppingClock()
    admin = AdminUpdateUser(uow_factory, clock)
    for round_ in range(5):
        ann = await add_account(uow_factory, f"ann{round_}@example.com", is_superuser=True)
        bob = await add_account(uow_factory, f"bob{round_}@example.com", is_superuser=True)

        results = await shuffled(
            admin.execute(AdminUpdateUserCommand(ann.id, is_superuser=False)),
            admin.execute(AdminUpdateUserCommand(bob.id, is_active=False)),
            seed=round_,
        )

        assert sorted(type(r).__name__ for r in results) == ["Conflict", "User"], results
        async with uow_factory() as uow:
            survivors = await uow.users.lock_active_superusers()
            assert len(survivors) == 1
            assert survivors[0] in (ann.id, bob.id)
            # Retired behind the use case's back, so the next round starts with none.
            await uow.users.change(survivors[0], UserChanges(is_superuser=False), clock.now())
            await uow.commit()


async def test_same_named_products_created_at_once_each_get_their_own_slug(
    uow_factory: UnitOfWorkFactory,
) -> None:
    create = CreateProduct(uow_factory, SteppingClock())
    details = a_product("Red Shirt")
    shirt = ProductDetails.checked(
        name=details.name,
        description=None,
        price=details.price,
        stock=1,
        category=details.category,
        image_url=None,
    )

    results = await shuffled(*(create.execute(shirt) for _ in range(12)))

    assert not [r for r in results if isinstance(r, BaseException)], results
    slugs = {product.slug for product in results}
    assert slugs == {"red-shirt", *(f"red-shirt-{n}" for n in range(2, 13))}


async def test_concurrent_refreshes_of_one_token_leave_no_live_descendant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = SteppingClock()
    sessions = SessionIssuer(LookupTokens(), clock, timedelta(days=14))
    user = await add_account(uow_factory, "ann@example.com")
    async with uow_factory() as uow:
        first = await sessions.start(uow, user, ClientInfo())
        await uow.commit()
    refresh = RefreshSession(uow_factory, sessions, clock)

    results = await shuffled(
        *(refresh.execute(RefreshCommand(first.refresh_token)) for _ in range(8))
    )

    pairs = [r for r in results if isinstance(r, TokenPair)]
    assert len(pairs) == 1
    assert all(isinstance(r, InvalidCredentials) for r in results if r not in pairs)
    # The reuse revoked the family, the winner's new token included, whatever the order.
    with pytest.raises(InvalidCredentials):
        await refresh.execute(RefreshCommand(pairs[0].refresh_token))
