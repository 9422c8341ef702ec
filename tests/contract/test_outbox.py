"""OutboxRepository contract: events written with their transaction, leased, settled, purged."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.memory.notifications import InMemoryOutboxRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.repositories.notifications import SqlOutboxRepository
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.ports.common import UnitOfWorkFactory
from domain.events import DomainEvent, OrderCancelled, OrderPlaced, UserRegistered
from tests.contract.builders import T0, a_user, at
from tests.contract.conftest import Backend
from tests.unit.doubles import SteppingClock

LEASE = timedelta(minutes=5)


class Boom(Exception):
    pass


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(T0)


@pytest.fixture
def uow(backend: Backend, clock: SteppingClock) -> UnitOfWorkFactory:
    """Units of work that stamp recorded events with the test's clock."""
    engine = backend.engine
    if engine is not None:
        return lambda: SqlUnitOfWork(engine, clock=clock)
    store = backend.store
    assert store is not None
    return lambda: InMemoryUnitOfWork(store, clock=clock)


def registered(n: int) -> UserRegistered:
    return UserRegistered(user_id=n, email=f"user{n}@example.com", full_name=None)


async def record(uow: UnitOfWorkFactory, *events: DomainEvent) -> None:
    async with uow() as unit:
        for event in events:
            unit.record(event)
        await unit.commit()


async def claim(
    uow: UnitOfWorkFactory, now: datetime = T0, limit: int = 100, lease: timedelta = LEASE
) -> list[Any]:
    async with uow() as unit:
        messages = await unit.outbox.claim(limit, now, now + lease)
        await unit.commit()
    return messages


async def counts(uow: UnitOfWorkFactory) -> dict[str, int]:
    async with uow() as unit:
        return await unit.outbox.count_by_status()


# --- writing -------------------------------------------------------------------------------


async def test_an_empty_outbox_counts_zero_of_every_status(uow: UnitOfWorkFactory) -> None:
    assert await counts(uow) == {"pending": 0, "delivered": 0, "failed": 0}


async def test_events_recorded_in_a_committed_unit_of_work_are_pending_in_the_outbox(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, registered(1), registered(2))

    assert await counts(uow) == {"pending": 2, "delivered": 0, "failed": 0}
    messages = await claim(uow)
    assert [message.event for message in messages] == [registered(1), registered(2)]
    assert all(message.attempts == 0 for message in messages)
    assert all(message.created_at == T0 for message in messages)
    assert messages[0].id < messages[1].id


async def test_every_kind_of_event_comes_back_equal_to_what_was_recorded(
    uow: UnitOfWorkFactory,
) -> None:
    events: list[DomainEvent] = [
        UserRegistered(user_id=1, email="ann@example.com", full_name="Ann Émile <Ü>"),
        OrderPlaced(
            order_id=7,
            user_id=1,
            lines=(("Red Shirt", 2, Decimal("39.98")), ("Hat", 1, Decimal("0.10"))),
            total=Decimal("40.08"),
        ),
        OrderCancelled(order_id=7, user_id=1, total=Decimal("40.08")),
    ]
    await record(uow, *events)

    claimed = [message.event for message in await claim(uow)]

    assert claimed == events
    placed = claimed[1]
    assert isinstance(placed, OrderPlaced)
    assert isinstance(placed.lines, tuple)
    assert all(isinstance(line, tuple) for line in placed.lines)
    assert placed.total == Decimal("40.08")
    assert str(placed.lines[1][2]) == "0.10"


async def test_a_change_and_its_events_are_committed_together(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        user = await unit.users.add(a_user())
        unit.record(UserRegistered(user_id=user.id, email=user.email, full_name=None))
        await unit.commit()

    async with uow() as unit:
        assert await unit.users.get(user.id) is not None
    assert [m.event.user_id for m in await claim(uow)] == [user.id]


async def test_events_of_a_unit_of_work_left_without_commit_never_reach_the_outbox(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as unit:
        await unit.users.add(a_user())
        unit.record(registered(1))

    async def fail_after_recording() -> None:
        async with uow() as unit:
            unit.record(registered(2))
            raise Boom

    with pytest.raises(Boom):
        await fail_after_recording()

    assert await counts(uow) == {"pending": 0, "delivered": 0, "failed": 0}
    assert await claim(uow) == []


async def test_events_recorded_after_a_commit_need_another_commit(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as unit:
        unit.record(registered(1))
        await unit.commit()
        unit.record(registered(2))

    assert [message.event for message in await claim(uow)] == [registered(1)]


async def test_a_commit_without_events_writes_nothing_to_the_outbox(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as unit:
        await unit.users.add(a_user())
        await unit.commit()

    assert await counts(uow) == {"pending": 0, "delivered": 0, "failed": 0}


async def test_many_events_of_one_commit_are_all_written_in_the_order_recorded(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, *(registered(n) for n in range(1, 1003)))

    claimed = await claim(uow, limit=2000)

    assert [m.event.user_id for m in claimed] == list(range(1, 1003))
    assert [m.id for m in claimed] == sorted(m.id for m in claimed)


async def test_message_ids_keep_increasing_even_after_every_message_is_purged(
    uow: UnitOfWorkFactory,
) -> None:
    # Ids end up in e-mail Message-IDs: a reused id would look like a duplicate e-mail.
    await record(uow, registered(1))
    [first] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_delivered(first.id, at(minutes=1))
        assert await unit.outbox.purge_delivered(at(days=30)) == 1
        await unit.commit()

    await record(uow, registered(2))

    [second] = await claim(uow)
    assert second.id > first.id


# --- claiming ------------------------------------------------------------------------------


async def test_a_claim_takes_the_oldest_due_messages_up_to_the_limit(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, *(registered(n) for n in range(1, 6)))

    first = await claim(uow, limit=3)
    rest = await claim(uow, limit=3)

    assert [m.event.user_id for m in first] == [1, 2, 3]
    assert [m.event.user_id for m in rest] == [4, 5]


async def test_a_message_is_not_due_before_it_was_written(
    uow: UnitOfWorkFactory, clock: SteppingClock
) -> None:
    clock.advance(minutes=10)
    await record(uow, registered(1))

    assert await claim(uow, now=at(minutes=9)) == []
    assert len(await claim(uow, now=at(minutes=10))) == 1


async def test_a_leased_message_is_skipped_until_its_lease_runs_out(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, registered(1), registered(2))
    leased = await claim(uow, limit=1)

    during = await claim(uow, now=at(minutes=4))
    after = await claim(uow, now=at(minutes=5))

    assert [m.event.user_id for m in leased] == [1]
    assert [m.event.user_id for m in during] == [2]
    # Its dispatcher is presumed dead: the message is offered again.
    assert [m.event.user_id for m in after] == [1]


async def test_a_claim_that_is_not_committed_leases_nothing(uow: UnitOfWorkFactory) -> None:
    await record(uow, registered(1))
    async with uow() as unit:
        assert len(await unit.outbox.claim(10, T0, T0 + LEASE)) == 1

    assert len(await claim(uow)) == 1


async def test_concurrent_claims_take_disjoint_messages(uow: UnitOfWorkFactory) -> None:
    await record(uow, *(registered(n) for n in range(1, 31)))

    batches = await asyncio.gather(*(claim(uow, limit=10) for _ in range(4)))

    claimed = [message.id for batch in batches for message in batch]
    assert len(claimed) == 30
    assert len(set(claimed)) == 30


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
async def test_on_postgresql_a_claim_skips_messages_another_transaction_is_claiming(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, *(registered(n) for n in range(1, 5)))

    async with uow() as holder:
        held = await holder.outbox.claim(2, T0, T0 + LEASE)
        # Not committed: those rows are locked, not yet leased. The other claim must not wait.
        others = await asyncio.wait_for(claim(uow), timeout=5)

    assert [m.event.user_id for m in held] == [1, 2]
    assert [m.event.user_id for m in others] == [3, 4]


# --- settling ------------------------------------------------------------------------------


async def test_a_delivered_message_is_never_claimed_again(uow: UnitOfWorkFactory) -> None:
    await record(uow, registered(1))
    [message] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_delivered(message.id, at(seconds=1))
        await unit.commit()

    assert await claim(uow, now=at(days=1)) == []
    assert await counts(uow) == {"pending": 0, "delivered": 1, "failed": 0}


async def test_retry_later_counts_the_attempt_and_defers_the_message(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, registered(1))
    [message] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.retry_later(message.id, "421 try again", at(minutes=1))
        await unit.commit()

    # The lease is released, but the message waits for its next attempt time.
    assert await claim(uow, now=at(seconds=59)) == []
    [again] = await claim(uow, now=at(minutes=1))
    assert again.id == message.id
    assert again.attempts == 1
    assert await counts(uow) == {"pending": 1, "delivered": 0, "failed": 0}


async def test_attempts_accumulate_over_retries(uow: UnitOfWorkFactory) -> None:
    await record(uow, registered(1))
    moment = T0
    for _ in range(3):
        [message] = await claim(uow, now=moment)
        moment += timedelta(minutes=1)
        async with uow() as unit:
            await unit.outbox.retry_later(message.id, "down", moment)
            await unit.commit()

    [message] = await claim(uow, now=moment)
    assert message.attempts == 3


async def test_a_failed_message_is_parked_and_not_tried_again(uow: UnitOfWorkFactory) -> None:
    await record(uow, registered(1), registered(2))
    [message, _] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_failed(message.id, "550 no such user", at(seconds=1))
        await unit.commit()

    later = await claim(uow, now=at(days=1))

    assert [m.event.user_id for m in later] == [2]
    assert await counts(uow) == {"pending": 1, "delivered": 0, "failed": 1}


async def test_a_delivered_message_stays_delivered_when_a_late_failure_is_reported(
    uow: UnitOfWorkFactory,
) -> None:
    # Its lease ran out, another dispatcher delivered it, then the first one gives up.
    await record(uow, registered(1))
    [message] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_delivered(message.id, at(minutes=6))
        await unit.outbox.retry_later(message.id, "timeout", at(minutes=7))
        await unit.outbox.mark_failed(message.id, "timeout", at(minutes=7))
        await unit.commit()

    assert await counts(uow) == {"pending": 0, "delivered": 1, "failed": 0}
    assert await claim(uow, now=at(days=1)) == []


async def test_settling_a_message_is_rolled_back_with_its_unit_of_work(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, registered(1))
    [message] = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_delivered(message.id, at(seconds=1))

    assert await counts(uow) == {"pending": 1, "delivered": 0, "failed": 0}
    assert len(await claim(uow, now=at(minutes=5))) == 1


async def test_released_messages_are_due_again_at_once_without_an_attempt(
    uow: UnitOfWorkFactory,
) -> None:
    # Not yet part of the port: what a stopping dispatcher will use to give back its batch.
    await record(uow, registered(1), registered(2))
    claimed = await claim(uow)
    async with uow() as unit:
        repository = unit.outbox
        assert isinstance(repository, InMemoryOutboxRepository | SqlOutboxRepository)
        await repository.release([message.id for message in claimed])
        await unit.commit()

    again = await claim(uow, now=at(seconds=1))

    assert [m.id for m in again] == [m.id for m in claimed]
    assert all(m.attempts == 0 for m in again)


# --- purging ---------------------------------------------------------------------------------


async def test_purging_deletes_only_messages_delivered_before_the_cutoff(
    uow: UnitOfWorkFactory,
) -> None:
    await record(uow, *(registered(n) for n in range(1, 5)))
    old, recent, failed, _pending = await claim(uow)
    async with uow() as unit:
        await unit.outbox.mark_delivered(old.id, at(days=1))
        await unit.outbox.mark_delivered(recent.id, at(days=8))
        await unit.outbox.mark_failed(failed.id, "550", at(days=1))
        await unit.commit()

    async with uow() as unit:
        purged = await unit.outbox.purge_delivered(at(days=7))
        await unit.commit()

    assert purged == 1
    assert await counts(uow) == {"pending": 1, "delivered": 1, "failed": 1}


# --- SQL only ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_stored_message_this_code_cannot_read_is_skipped_not_lost(
    backend: Backend, uow: UnitOfWorkFactory
) -> None:
    # The memory outbox keeps event objects, never text that might not decode.
    assert backend.engine is not None
    async with backend.engine.begin() as connection:
        await connection.execute(
            sa.insert(outbox),
            {
                "kind": "EventFromTheFuture",
                "payload": "{}",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": T0,
                "created_at": T0,
            },
        )
    await record(uow, registered(1))

    claimed = await claim(uow)

    assert [m.event for m in claimed] == [registered(1)]
    assert await counts(uow) == {"pending": 2, "delivered": 0, "failed": 0}
