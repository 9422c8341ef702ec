"""SessionRepository contract: the logins of each account, on every store."""

from __future__ import annotations

from application.ports.common import UnitOfWorkFactory
from domain.ids import NEW_ID
from domain.sessions import LoginSession
from tests.contract.builders import T0, a_user, at


def a_session(user_id: int, family: str, *, when: int = 0, days: int = 14) -> LoginSession:
    """A login made ``when`` minutes after T0, expiring ``days`` later."""
    made = at(minutes=when)
    return LoginSession(
        id=NEW_ID,
        family_id=family,
        user_id=user_id,
        created_at=made,
        last_used_at=made,
        expires_at=at(minutes=when, days=days),
        user_agent=f"agent of {family}",
        ip="203.0.113.7",
    )


async def two_users(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    async with uow_factory() as uow:
        ann = await uow.users.add(a_user("ann@example.com"))
        bob = await uow.users.add(a_user("bob@example.com"))
        await uow.commit()
    return ann.id, bob.id


async def add(uow_factory: UnitOfWorkFactory, *sessions: LoginSession) -> list[LoginSession]:
    async with uow_factory() as uow:
        stored = [await uow.sessions.add(session) for session in sessions]
        await uow.commit()
    return stored


async def active(uow_factory: UnitOfWorkFactory, user_id: int, **now: float) -> list[int]:
    async with uow_factory() as uow:
        return [s.id for s in await uow.sessions.list_active(user_id, at(**now))]


async def test_a_stored_session_reads_back_field_for_field(uow_factory: UnitOfWorkFactory) -> None:
    ann, _ = await two_users(uow_factory)

    (stored,) = await add(uow_factory, a_session(ann, "f1"))
    async with uow_factory() as uow:
        (listed,) = await uow.sessions.list_active(ann, at(minutes=1))

    assert stored.id > 0
    assert listed == stored
    assert listed.user_agent == "agent of f1"
    assert listed.ip == "203.0.113.7"
    assert listed.expires_at == at(days=14)


async def test_a_users_live_sessions_are_listed_newest_first_and_only_theirs(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob = await two_users(uow_factory)
    first, _, third = await add(
        uow_factory,
        a_session(ann, "f1", when=0),
        a_session(bob, "f2", when=1),
        a_session(ann, "f3", when=2),
    )

    assert await active(uow_factory, ann, minutes=5) == [third.id, first.id]
    assert await active(uow_factory, 999, minutes=5) == []


async def test_expired_and_ended_sessions_are_not_listed(uow_factory: UnitOfWorkFactory) -> None:
    ann, _ = await two_users(uow_factory)
    short, _, kept = await add(
        uow_factory,
        a_session(ann, "short", days=1),
        a_session(ann, "ended"),
        a_session(ann, "kept"),
    )
    async with uow_factory() as uow:
        await uow.sessions.end_family("ended", at(minutes=1))
        await uow.commit()

    assert await active(uow_factory, ann, hours=2) == [kept.id, short.id]
    assert await active(uow_factory, ann, days=2) == [kept.id]


async def test_touching_a_live_session_records_its_use(uow_factory: UnitOfWorkFactory) -> None:
    ann, _ = await two_users(uow_factory)
    (stored,) = await add(uow_factory, a_session(ann, "f1"))

    async with uow_factory() as uow:
        touched = await uow.sessions.touch("f1", at(hours=1), at(days=20), "198.51.100.1", "new")
        await uow.commit()
    async with uow_factory() as uow:
        (listed,) = await uow.sessions.list_active(ann, at(days=15))

    assert touched == stored.id
    assert (listed.created_at, listed.last_used_at, listed.expires_at) == (
        T0,
        at(hours=1),
        at(days=20),
    )
    assert (listed.ip, listed.user_agent) == ("198.51.100.1", "new")


async def test_an_ended_or_unknown_session_cannot_be_touched(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, _ = await two_users(uow_factory)
    await add(uow_factory, a_session(ann, "f1"))
    async with uow_factory() as uow:
        await uow.sessions.end_all_for_user(ann, at(minutes=1))
        await uow.commit()

    async with uow_factory() as uow:
        ended = await uow.sessions.touch("f1", at(hours=1), at(days=20), None, None)
        unknown = await uow.sessions.touch("nope", at(hours=1), at(days=20), None, None)

    assert (ended, unknown) == (None, None)


async def test_only_the_owner_ends_a_live_session_and_only_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob = await two_users(uow_factory)
    anns, other = await add(uow_factory, a_session(ann, "f1"), a_session(ann, "f2"))

    async with uow_factory() as uow:
        by_bob = await uow.sessions.end(bob, anns.id, at(minutes=1))
        by_ann = await uow.sessions.end(ann, anns.id, at(minutes=1))
        again = await uow.sessions.end(ann, anns.id, at(minutes=2))
        expired = await uow.sessions.end(ann, other.id, at(days=30))
        unknown = await uow.sessions.end(ann, 10**12, at(minutes=1))
        await uow.commit()

    assert (by_bob, by_ann, again, expired, unknown) == (None, "f1", None, None, None)
    assert await active(uow_factory, ann, minutes=5) == [other.id]


async def test_ending_every_session_of_a_user_leaves_the_others(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob = await two_users(uow_factory)
    _, bobs, _ = await add(
        uow_factory, a_session(ann, "f1"), a_session(bob, "f2"), a_session(ann, "f3")
    )

    async with uow_factory() as uow:
        await uow.sessions.end_all_for_user(ann, at(minutes=1))
        await uow.commit()

    assert await active(uow_factory, ann, minutes=5) == []
    assert await active(uow_factory, bob, minutes=5) == [bobs.id]


async def test_deleting_a_users_sessions_forgets_them_and_a_purge_the_expired(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann, bob = await two_users(uow_factory)
    await add(uow_factory, a_session(ann, "f1"), a_session(bob, "old", days=1))
    (bobs,) = await add(uow_factory, a_session(bob, "new", days=30))

    async with uow_factory() as uow:
        await uow.sessions.delete_all_for_user(ann)
        purged = await uow.sessions.purge(at(days=2))
        await uow.commit()
    async with uow_factory() as uow:
        touched = await uow.sessions.touch("f1", at(hours=1), at(days=20), None, None)

    assert purged == 1
    assert touched is None
    assert await active(uow_factory, ann) == []
    assert await active(uow_factory, bob) == [bobs.id]
