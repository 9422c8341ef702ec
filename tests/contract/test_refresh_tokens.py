"""RefreshTokenRepository contract: a token is spent once, families revoke together."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from application.ports.common import UnitOfWorkFactory
from domain.sessions import RefreshToken
from tests.contract.builders import a_refresh_token, a_user, at


async def a_stored_user_id(uow_factory: UnitOfWorkFactory) -> int:
    async with uow_factory() as uow:
        user = await uow.users.add(a_user())
        await uow.commit()
    return user.id


async def store(uow_factory: UnitOfWorkFactory, *tokens: RefreshToken) -> None:
    async with uow_factory() as uow:
        for token in tokens:
            await uow.refresh_tokens.add(token)
        await uow.commit()


async def fetch(uow_factory: UnitOfWorkFactory, token_hash: str) -> RefreshToken | None:
    async with uow_factory() as uow:
        return await uow.refresh_tokens.get(token_hash)


async def test_a_stored_token_reads_back_field_for_field(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    token = a_refresh_token("hash-1", user_id)
    await store(uow_factory, token)

    assert await fetch(uow_factory, "hash-1") == token
    assert await fetch(uow_factory, "unknown") is None


async def test_a_token_is_spent_only_once(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    await store(uow_factory, a_refresh_token("hash-1", user_id))

    async with uow_factory() as uow:
        first = await uow.refresh_tokens.spend("hash-1", at(minutes=1))
        second = await uow.refresh_tokens.spend("hash-1", at(minutes=2))
        await uow.commit()

    assert (first, second) == (True, False)
    spent = await fetch(uow_factory, "hash-1")
    assert spent is not None
    assert spent.used_at == at(minutes=1)


async def test_expired_revoked_or_unknown_tokens_cannot_be_spent(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id = await a_stored_user_id(uow_factory)
    await store(
        uow_factory,
        a_refresh_token("short", user_id, lifetime=timedelta(minutes=5)),
        a_refresh_token("revoked", user_id, family_id="family-2"),
    )
    async with uow_factory() as uow:
        await uow.refresh_tokens.revoke_family("family-2", at(minutes=1))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.refresh_tokens.spend("short", at(minutes=5)) is False
        assert await uow.refresh_tokens.spend("revoked", at(minutes=2)) is False
        assert await uow.refresh_tokens.spend("unknown", at(minutes=2)) is False


async def test_of_concurrent_spends_exactly_one_wins(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    await store(uow_factory, a_refresh_token("hash-1", user_id))

    async def spend() -> bool:
        async with uow_factory() as uow:
            won = await uow.refresh_tokens.spend("hash-1", at(minutes=1))
            await asyncio.sleep(0)
            await uow.commit()
            return won

    outcomes = await asyncio.gather(*(spend() for _ in range(8)))

    assert outcomes.count(True) == 1


async def test_revoking_a_family_revokes_all_its_tokens_and_only_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id = await a_stored_user_id(uow_factory)
    await store(
        uow_factory,
        a_refresh_token("a1", user_id, family_id="a"),
        a_refresh_token("a2", user_id, family_id="a"),
        a_refresh_token("b1", user_id, family_id="b"),
    )
    async with uow_factory() as uow:
        await uow.refresh_tokens.revoke_family("a", at(minutes=1))
        await uow.refresh_tokens.revoke_family("a", at(minutes=9))
        await uow.commit()

    a1, a2, b1 = [await fetch(uow_factory, h) for h in ("a1", "a2", "b1")]
    assert a1 is not None
    assert a2 is not None
    assert b1 is not None
    # The first revocation's time stays: revoking again changes nothing.
    assert (a1.revoked_at, a2.revoked_at, b1.revoked_at) == (at(minutes=1), at(minutes=1), None)


async def test_purge_deletes_only_expired_tokens_keeping_spent_ones_for_reuse_detection(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id = await a_stored_user_id(uow_factory)
    await store(
        uow_factory,
        a_refresh_token("expired", user_id, lifetime=timedelta(days=1)),
        a_refresh_token("spent", user_id, family_id="s"),
        a_refresh_token("revoked", user_id, family_id="r"),
        a_refresh_token("spent-late", user_id, family_id="sl"),
        a_refresh_token("live", user_id, family_id="l"),
    )
    async with uow_factory() as uow:
        assert await uow.refresh_tokens.spend("spent", at(hours=1))
        await uow.refresh_tokens.revoke_family("r", at(hours=1))
        assert await uow.refresh_tokens.spend("spent-late", at(days=3))
        await uow.commit()

    async with uow_factory() as uow:
        purged = await uow.refresh_tokens.purge(at(days=2))
        await uow.commit()

    assert purged == 1
    remaining = {
        h
        for h in ("expired", "spent", "revoked", "spent-late", "live")
        if await fetch(uow_factory, h) is not None
    }
    assert remaining == {"spent", "revoked", "spent-late", "live"}
