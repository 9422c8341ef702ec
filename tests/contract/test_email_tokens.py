"""EmailTokenRepository contract: digests only, single use, expiry, newest-only resets."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from application.ports.common import UnitOfWorkFactory
from domain.email_tokens import EmailToken, TokenPurpose, hash_email_token, new_email_token
from tests.contract.builders import a_user, at


async def a_stored_user_id(uow_factory: UnitOfWorkFactory, email: str = "ann@example.com") -> int:
    async with uow_factory() as uow:
        user = await uow.users.add(a_user(email))
        await uow.commit()
    return user.id


def a_token(
    user_id: int,
    purpose: TokenPurpose = TokenPurpose.VERIFY_EMAIL,
    *,
    minutes: float = 0,
    lifetime: timedelta = timedelta(hours=48),
) -> EmailToken:
    issued = at(minutes=minutes)
    return EmailToken(
        token_hash=hash_email_token(new_email_token()),
        user_id=user_id,
        purpose=purpose,
        email="ann@example.com",
        issued_at=issued,
        expires_at=issued + lifetime,
    )


async def store(uow_factory: UnitOfWorkFactory, *tokens: EmailToken) -> None:
    for token in tokens:
        # One transaction each, as the dispatcher mints them.
        async with uow_factory() as uow:
            await uow.email_tokens.add(token)
            await uow.commit()


async def spend(uow_factory: UnitOfWorkFactory, token: EmailToken, **when: float) -> bool:
    async with uow_factory() as uow:
        spent = await uow.email_tokens.spend(token.token_hash, at(**when))
        await uow.commit()
    return spent


async def fetch(uow_factory: UnitOfWorkFactory, token: EmailToken) -> EmailToken | None:
    async with uow_factory() as uow:
        return await uow.email_tokens.get(token.token_hash)


async def test_a_stored_token_reads_back_field_for_field(uow_factory: UnitOfWorkFactory) -> None:
    token = a_token(await a_stored_user_id(uow_factory), TokenPurpose.RESET_PASSWORD)
    await store(uow_factory, token)

    assert await fetch(uow_factory, token) == token
    assert len(token.token_hash) == 64


async def test_a_token_is_spent_once(uow_factory: UnitOfWorkFactory) -> None:
    token = a_token(await a_stored_user_id(uow_factory))
    await store(uow_factory, token)

    assert await spend(uow_factory, token, minutes=1)
    assert not await spend(uow_factory, token, minutes=2)
    stored = await fetch(uow_factory, token)
    assert stored is not None
    assert stored.used_at == at(minutes=1)


async def test_a_token_cannot_be_spent_once_it_has_expired(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    expiring = a_token(user_id, lifetime=timedelta(hours=48))
    fresh = a_token(user_id, lifetime=timedelta(hours=48))
    await store(uow_factory, expiring, fresh)

    assert not await spend(uow_factory, expiring, hours=48)
    assert await spend(uow_factory, fresh, hours=47, minutes=59)


async def test_an_unknown_token_is_neither_found_nor_spent(uow_factory: UnitOfWorkFactory) -> None:
    token = a_token(await a_stored_user_id(uow_factory))

    assert await fetch(uow_factory, token) is None
    assert not await spend(uow_factory, token)


async def test_a_new_reset_token_ends_the_older_unused_ones(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    first = a_token(user_id, TokenPurpose.RESET_PASSWORD, minutes=0)
    second = a_token(user_id, TokenPurpose.RESET_PASSWORD, minutes=1)
    await store(uow_factory, first, second)

    assert not await spend(uow_factory, first, minutes=2)
    assert await fetch(uow_factory, first) is None
    assert await spend(uow_factory, second, minutes=2)


async def test_only_the_newest_reset_token_works_whatever_order_they_are_tried_in(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id = await a_stored_user_id(uow_factory)
    tokens = [a_token(user_id, TokenPurpose.RESET_PASSWORD, minutes=n) for n in range(3)]
    await store(uow_factory, *tokens)

    assert await spend(uow_factory, tokens[2], minutes=5)
    assert [await spend(uow_factory, token, minutes=6) for token in tokens] == [False] * 3


async def test_verification_tokens_all_stay_valid_side_by_side(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id = await a_stored_user_id(uow_factory)
    first = a_token(user_id, minutes=0)
    second = a_token(user_id, minutes=1)
    await store(uow_factory, first, second)

    assert await spend(uow_factory, first, minutes=2)
    assert await spend(uow_factory, second, minutes=2)


async def test_a_reset_token_does_not_end_another_users_or_another_purposes_tokens(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ann = await a_stored_user_id(uow_factory)
    bob = await a_stored_user_id(uow_factory, "bob@example.com")
    anns_reset = a_token(ann, TokenPurpose.RESET_PASSWORD, minutes=0)
    anns_verification = a_token(ann, TokenPurpose.VERIFY_EMAIL, minutes=0)
    await store(uow_factory, anns_reset, anns_verification)
    await store(uow_factory, a_token(bob, TokenPurpose.RESET_PASSWORD, minutes=1))

    assert await spend(uow_factory, anns_reset, minutes=2)
    assert await spend(uow_factory, anns_verification, minutes=2)


async def test_of_two_concurrent_spends_of_one_token_exactly_one_wins(
    uow_factory: UnitOfWorkFactory,
) -> None:
    token = a_token(await a_stored_user_id(uow_factory), TokenPurpose.RESET_PASSWORD)
    await store(uow_factory, token)

    results = await asyncio.gather(*(spend(uow_factory, token, minutes=1) for _ in range(5)))

    assert sorted(results) == [False, False, False, False, True]


async def test_a_token_added_in_a_rolled_back_transaction_is_not_kept(
    uow_factory: UnitOfWorkFactory,
) -> None:
    token = a_token(await a_stored_user_id(uow_factory))
    async with uow_factory() as uow:
        await uow.email_tokens.add(token)

    assert await fetch(uow_factory, token) is None


async def test_purging_deletes_expired_tokens_only(uow_factory: UnitOfWorkFactory) -> None:
    user_id = await a_stored_user_id(uow_factory)
    short = a_token(user_id, TokenPurpose.RESET_PASSWORD, lifetime=timedelta(minutes=30))
    long = a_token(user_id, lifetime=timedelta(hours=48))
    await store(uow_factory, short, long)

    async with uow_factory() as uow:
        purged = await uow.email_tokens.purge(at(hours=1))
        await uow.commit()

    assert purged == 1
    assert await fetch(uow_factory, short) is None
    assert await fetch(uow_factory, long) is not None


async def test_of_reset_tokens_minted_in_concurrent_transactions_only_the_newer_works(
    uow_factory: UnitOfWorkFactory,
) -> None:
    # Two dispatchers minting at once: on PostgreSQL neither transaction's DELETE sees
    # the other's uncommitted token, so both are stored; spending must still refuse
    # the older one.
    user_id = await a_stored_user_id(uow_factory)
    older = a_token(user_id, TokenPurpose.RESET_PASSWORD, minutes=0)
    newer = a_token(user_id, TokenPurpose.RESET_PASSWORD, minutes=1)
    older_added = asyncio.Event()

    async def mint_older() -> None:
        async with uow_factory() as uow:
            await uow.email_tokens.add(older)
            older_added.set()
            await asyncio.sleep(0.2)
            await uow.commit()

    async def mint_newer() -> None:
        await older_added.wait()
        async with uow_factory() as uow:
            await uow.email_tokens.add(newer)
            await uow.commit()

    await asyncio.gather(mint_older(), mint_newer())

    assert not await spend(uow_factory, older, minutes=2)
    assert await spend(uow_factory, newer, minutes=2)
