"""UserRepository contract: every store assigns ids, guards e-mails and pages users alike."""

from __future__ import annotations

import dataclasses

import pytest

from application.pagination import KeysetPosition, PageRequest
from application.ports.accounts import UserChanges
from application.ports.common import UnitOfWorkFactory
from domain.errors import Conflict, PreconditionFailed
from domain.users import User
from tests.contract.builders import a_user, at


async def add_users(uow_factory: UnitOfWorkFactory, *emails: str) -> list[User]:
    async with uow_factory() as uow:
        users = [await uow.users.add(a_user(email)) for email in emails]
        await uow.commit()
    return users


async def test_added_users_get_increasing_ids(uow_factory: UnitOfWorkFactory) -> None:
    first, second, third = await add_users(
        uow_factory, "a@example.com", "b@example.com", "c@example.com"
    )

    assert 0 < first.id < second.id < third.id


async def test_a_stored_user_reads_back_field_for_field(uow_factory: UnitOfWorkFactory) -> None:
    wanted = a_user("ann@example.com", full_name="Ann Example", is_superuser=True, token_version=3)
    async with uow_factory() as uow:
        added = await uow.users.add(wanted)
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.users.get(added.id)

    assert found == added
    assert found is not None
    assert found.email == "ann@example.com"
    assert found.full_name == "Ann Example"
    assert found.is_superuser is True
    assert found.token_version == 3
    assert found.created_at.utcoffset() is not None


async def test_an_email_taken_in_another_case_is_a_conflict(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        with pytest.raises(Conflict, match="E-mail already registered"):
            await uow.users.add(a_user("ANN@Example.com"))


async def test_a_conflicting_add_leaves_the_unit_of_work_usable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.users.add(a_user("ann@example.com"))
        bob = await uow.users.add(a_user("bob@example.com"))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(bob.id) is not None


async def test_users_are_found_by_email_whatever_its_case(uow_factory: UnitOfWorkFactory) -> None:
    (ann,) = await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        found = await uow.users.get_by_email("Ann@EXAMPLE.com")

    assert found is not None
    assert found.id == ann.id


async def test_unknown_users_are_none(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.users.get(999) is None
        assert await uow.users.get_by_email("nobody@example.com") is None


async def test_change_writes_only_the_given_fields_and_bumps_the_version(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (ann,) = await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        changed = await uow.users.change(
            ann.id, UserChanges(full_name="Ann New", is_superuser=True), at(hours=1)
        )
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.users.get(ann.id)

    expected = dataclasses.replace(
        ann, full_name="Ann New", is_superuser=True, updated_at=at(hours=1), version=2
    )
    assert changed == found == expected


async def test_ending_sessions_bumps_the_token_version(uow_factory: UnitOfWorkFactory) -> None:
    (ann,) = await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        changed = await uow.users.change(
            ann.id, UserChanges(hashed_password="hashed:new", end_sessions=True), at(hours=1)
        )
        await uow.commit()

    assert changed is not None
    assert (changed.hashed_password, changed.token_version) == ("hashed:new", 1)


async def test_a_change_based_on_an_old_version_is_refused_and_writes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (ann,) = await add_users(uow_factory, "ann@example.com")
    async with uow_factory() as uow:
        await uow.users.change(ann.id, UserChanges(full_name="First"), at(hours=1), 1)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(PreconditionFailed):
            await uow.users.change(ann.id, UserChanges(full_name="Second"), at(hours=2), 1)
    async with uow_factory() as uow:
        found = await uow.users.get(ann.id)

    assert found is not None
    assert (found.full_name, found.version) == ("First", 2)


async def test_changing_an_unknown_user_is_none(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.users.change(999, UserChanges(full_name="x"), at(), None) is None
        assert await uow.users.change(999, UserChanges(full_name="x"), at(), 1) is None


async def test_changing_to_a_taken_email_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    _, bob = await add_users(uow_factory, "ann@example.com", "bob@example.com")

    async with uow_factory() as uow:
        with pytest.raises(Conflict, match="E-mail already registered"):
            await uow.users.change(bob.id, UserChanges(email="ann@example.com"), at())


async def test_the_active_superusers_are_locked_and_listed_by_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for email, rank, active in (
            ("a@x.io", True, True),
            ("b@x.io", False, True),
            ("c@x.io", True, False),
            ("d@x.io", True, True),
        ):
            await uow.users.add(a_user(email, is_superuser=rank, is_active=active))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.lock_active_superusers() == [1, 4]
        locked = await uow.users.get_for_update(2)

    assert locked is not None
    assert locked.email == "b@x.io"


async def test_a_returned_user_is_a_copy(uow_factory: UnitOfWorkFactory) -> None:
    (ann,) = await add_users(uow_factory, "ann@example.com")

    async with uow_factory() as uow:
        found = await uow.users.get(ann.id)
        assert found is not None
        found.full_name = "Changed without update"
        again = await uow.users.get(ann.id)

    assert again is not None
    assert again.full_name is None


async def test_users_are_listed_by_ascending_id_with_their_total(
    uow_factory: UnitOfWorkFactory,
) -> None:
    users = await add_users(uow_factory, *(f"user{n}@example.com" for n in range(5)))

    async with uow_factory() as uow:
        first = await uow.users.list_page(PageRequest(skip=0, limit=2))
        last = await uow.users.list_page(PageRequest(skip=4, limit=2))
        beyond = await uow.users.list_page(PageRequest(skip=10, limit=2))

    assert [u.id for u in first.items] == [users[0].id, users[1].id]
    assert (first.total, first.has_more) == (5, True)
    assert [u.id for u in last.items] == [users[4].id]
    assert (last.total, last.has_more) == (5, False)
    assert (list(beyond.items), beyond.total, beyond.has_more) == ([], 5, False)


async def test_users_can_be_paged_after_a_position(uow_factory: UnitOfWorkFactory) -> None:
    users = await add_users(uow_factory, *(f"user{n}@example.com" for n in range(5)))

    async with uow_factory() as uow:
        page = await uow.users.list_page(
            PageRequest(limit=2, after=KeysetPosition(value=None, id=users[1].id))
        )

    assert [u.id for u in page.items] == [users[2].id, users[3].id]
    assert (page.total, page.has_more) == (5, True)


async def test_an_empty_store_lists_no_users(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        page = await uow.users.list_page(PageRequest())

    assert (list(page.items), page.total, page.has_more) == ([], 0, False)
