"""The dispatcher loop: background delivery, wake-ups, failures, clean stops, and two
dispatchers sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import SystemClock
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.notifications import DeliverOutbox, PurgeOutbox
from application.ports.common import DependencyUnavailable, UnitOfWork
from application.ports.notifications import EmailMessage, Mailer
from domain.events import UserRegistered
from entrypoints.outbox_dispatcher import OutboxDispatcher
from tests.outbox.conftest import MESSAGE_DOMAIN, MailServer, Store, drain

# The loop's behaviour does not depend on the store: memory keeps these fast.
in_memory = pytest.mark.parametrize("store_url", ["memory"], indirect=True)


def registered(n: int) -> UserRegistered:
    return UserRegistered(user_id=n, email=f"user{n:03}@example.com", full_name=None)


async def record(store: Store, *events: UserRegistered) -> None:
    async with store.uow() as uow:
        for event in events:
            uow.record(event)
        await uow.commit()


def dispatcher(
    store: Store, mailer: Mailer, *, poll_interval: float = 0.02, **options: float
) -> OutboxDispatcher:
    return OutboxDispatcher(
        store.deliverer(mailer),
        PurgeOutbox(store.uow, store.clock),
        poll_interval=poll_interval,
        **options,
    )


class HeldMailer:
    """Hands messages to the real mailer only when the test lets it."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.released = asyncio.Event()

    async def send(self, message: EmailMessage) -> None:
        self.entered.set()
        await self.released.wait()
        await self.inner.send(message)


class CountingMailer:
    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.sent = 0

    async def send(self, message: EmailMessage) -> None:
        await self.inner.send(message)
        self.sent += 1


# --- running ----------------------------------------------------------------------------------


@in_memory
async def test_a_started_dispatcher_delivers_committed_messages_in_the_background(
    store: Store, mail_server: MailServer
) -> None:
    running = dispatcher(store, mail_server.mailer())
    await running.start()
    try:
        await record(store, registered(1), registered(2))
        received = await mail_server.wait_for(2)
    finally:
        await running.stop()

    assert [mail.recipients for mail in received] == [
        ("user001@example.com",),
        ("user002@example.com",),
    ]
    assert not running.running


@in_memory
async def test_wake_starts_a_pass_without_waiting_for_the_poll_interval(
    store: Store, mail_server: MailServer
) -> None:
    running = dispatcher(store, mail_server.mailer(), poll_interval=60)
    await running.start()
    try:
        await asyncio.sleep(0.01)  # the first pass at start-up found nothing
        await record(store, registered(1))
        running.wake()
        async with asyncio.timeout(5):
            await mail_server.wait_for(1)
    finally:
        await running.stop()


@in_memory
async def test_starting_twice_runs_one_loop_and_stopping_an_idle_one_is_harmless(
    store: Store, mail_server: MailServer
) -> None:
    running = dispatcher(store, mail_server.mailer())
    await running.stop()
    await running.start()
    await running.start()
    await record(store, registered(1))
    await mail_server.wait_for(1)
    await running.stop()
    await running.stop()

    assert len(mail_server.messages()) == 1


@in_memory
async def test_a_failing_pass_is_logged_and_tried_again_without_ending_the_loop(
    store: Store, mail_server: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    failures = [DependencyUnavailable("database is down"), RuntimeError("unexpected")]

    def flaky_uow() -> UnitOfWork:
        if failures:
            raise failures.pop(0)
        return store.uow()

    deliver = DeliverOutbox(flaky_uow, mail_server.mailer(), store.clock)
    running = OutboxDispatcher(deliver, PurgeOutbox(store.uow, store.clock), poll_interval=0.01)
    await record(store, registered(1))

    with caplog.at_level(logging.WARNING, logger="entrypoints.outbox_dispatcher"):
        await running.start()
        try:
            await mail_server.wait_for(1)
        finally:
            await running.stop()

    messages = [record.getMessage() for record in caplog.records]
    assert any("database is down" in message for message in messages)
    assert any(record.exc_info for record in caplog.records)
    assert failures == []


@in_memory
async def test_an_outage_doubles_the_pause_up_to_a_cap_and_is_logged_once_each_way(
    store: Store, mail_server: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    outage = 6
    pauses: list[float] = []

    def down_then_up() -> UnitOfWork:
        if len(pauses) < outage:
            pauses.append(running.next_pause)
            raise DependencyUnavailable("database is down")
        return store.uow()

    deliver = DeliverOutbox(down_then_up, mail_server.mailer(), store.clock)
    running = OutboxDispatcher(
        deliver, PurgeOutbox(store.uow, store.clock), poll_interval=0.005, max_backoff=0.04
    )
    await record(store, registered(1))

    with caplog.at_level(logging.INFO, logger="entrypoints.outbox_dispatcher"):
        await running.start()
        try:
            await mail_server.wait_for(1)
        finally:
            await running.stop()

    # The pause in force when each failing pass began: doubling, then capped.
    assert pauses == [0.005, 0.01, 0.02, 0.04, 0.04, 0.04]
    assert running.next_pause == 0.005
    failing = [r for r in caplog.records if "failing" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert [r.levelname for r in failing] == ["WARNING"]
    assert "database is down" in failing[0].getMessage()
    assert len(recovered) == 1
    assert f"{outage} failed" in recovered[0].getMessage()


@in_memory
async def test_a_stop_requested_by_a_signal_cancels_a_pass_that_outlives_the_stop_timeout(
    store: Store, mail_server: MailServer
) -> None:
    held = HeldMailer(mail_server.mailer())
    running = dispatcher(store, held, stop_timeout=0.05)
    await record(store, registered(1))
    worker = asyncio.create_task(running.run_until_stopped())
    await held.entered.wait()

    running.request_stop()  # what `storefront worker` does on SIGTERM

    async with asyncio.timeout(5):
        await worker
    assert mail_server.messages() == []


@in_memory
async def test_delivered_messages_past_retention_are_purged_when_the_dispatcher_starts(
    store: Store, mail_server: MailServer
) -> None:
    await record(store, registered(1))
    await drain(store.deliverer(mail_server.mailer()))
    store.clock.advance(days=8)
    running = dispatcher(store, mail_server.mailer())

    await running.start()
    try:
        async with asyncio.timeout(5):
            while (await store.rows()) != []:  # noqa: ASYNC110 - the store has no event to wait on
                await asyncio.sleep(0.01)
    finally:
        await running.stop()


@in_memory
async def test_purging_is_repeated_every_purge_interval(
    store: Store, mail_server: MailServer
) -> None:
    purged = asyncio.Event()
    calls = 0

    class CountingPurge(PurgeOutbox):
        async def execute(self) -> int:
            nonlocal calls
            calls += 1
            if calls == 3:
                purged.set()
            return 0

    running = OutboxDispatcher(
        store.deliverer(mail_server.mailer()),
        CountingPurge(store.uow, store.clock),
        poll_interval=0.01,
        purge_every=0.02,
    )
    await running.start()
    try:
        async with asyncio.timeout(5):
            await purged.wait()
    finally:
        await running.stop()


# --- stopping --------------------------------------------------------------------------------


@in_memory
async def test_stopping_lets_the_message_in_hand_be_delivered(
    store: Store, mail_server: MailServer
) -> None:
    mailer = HeldMailer(mail_server.mailer())
    running = dispatcher(store, mailer)
    await record(store, registered(1))
    await running.start()
    await mailer.entered.wait()

    stopping = asyncio.create_task(running.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()
    mailer.released.set()
    await stopping

    assert len(mail_server.messages()) == 1
    assert [row["status"] for row in await store.rows()] == ["delivered"]
    assert not running.running


@in_memory
async def test_a_pass_that_outlives_the_stop_timeout_is_cancelled_and_its_message_delivered_later(
    store: Store, mail_server: MailServer
) -> None:
    stuck = HeldMailer(mail_server.mailer())  # never released
    running = dispatcher(store, stuck, stop_timeout=0.05)
    await record(store, registered(1))
    await running.start()
    await stuck.entered.wait()

    async with asyncio.timeout(2):
        await running.stop()

    [row] = await store.rows()
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert row["locked_until"] is not None
    # Due again once the lease (5 minutes) has run out, for whichever dispatcher runs.
    store.clock.advance(minutes=5)
    assert await drain(store.deliverer(mail_server.mailer())) == 1
    assert len(mail_server.messages()) == 1


@in_memory
async def test_run_until_stopped_returns_once_a_stop_is_requested(
    store: Store, mail_server: MailServer
) -> None:
    running = dispatcher(store, mail_server.mailer())
    worker = asyncio.create_task(running.run_until_stopped())
    await record(store, registered(1))
    await mail_server.wait_for(1)

    running.request_stop()

    async with asyncio.timeout(2):
        await worker
    assert not running.running


@in_memory
async def test_cancelling_run_until_stopped_stops_the_dispatcher_cleanly(
    store: Store, mail_server: MailServer
) -> None:
    mailer = HeldMailer(mail_server.mailer())
    running = dispatcher(store, mailer)
    await record(store, registered(1))
    worker = asyncio.create_task(running.run_until_stopped())
    await mailer.entered.wait()

    worker.cancel()
    await asyncio.sleep(0.01)
    mailer.released.set()

    with pytest.raises(asyncio.CancelledError):
        await worker
    assert not running.running
    assert [row["status"] for row in await store.rows()] == ["delivered"]


# --- two dispatchers, one database ----------------------------------------------------------


def _deliver_on(engine: AsyncEngine, mailer: Mailer, clock: SystemClock) -> DeliverOutbox:
    def uow() -> UnitOfWork:
        return SqlUnitOfWork(engine, clock=clock)

    return DeliverOutbox(
        uow,
        mailer,
        clock,
        message_domain=MESSAGE_DOMAIN,
        batch_size=10,
        lease=timedelta(minutes=1),
    )


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
async def test_two_dispatchers_on_one_postgresql_database_deliver_200_messages_exactly_once(
    store: Store, mail_server: MailServer
) -> None:
    # Real time: the dispatchers run on their own, as they would in production.
    clock = SystemClock()
    async with SqlUnitOfWork(store.another_engine(), clock=clock) as uow:
        for n in range(200):
            uow.record(registered(n))
        await uow.commit()
    mailers = [CountingMailer(mail_server.mailer()) for _ in range(2)]
    dispatchers = [
        OutboxDispatcher(
            _deliver_on(store.another_engine(), mailer, clock),
            PurgeOutbox(store.uow, clock),
            poll_interval=0.05,
        )
        for mailer in mailers
    ]

    for each in dispatchers:
        await each.start()
    try:
        await mail_server.wait_for(200)
    finally:
        for each in dispatchers:
            await each.stop()

    received = mail_server.messages()
    assert len(received) == 200
    message_ids = Counter(mail.message_id for mail in received)
    assert len(message_ids) == 200
    assert {mail.recipients[0] for mail in received} == {registered(n).email for n in range(200)}
    # Both took part, neither sent what the other did.
    assert all(mailer.sent > 0 for mailer in mailers)
    assert sum(mailer.sent for mailer in mailers) == 200
    statuses = Counter(row["status"] for row in await store.rows())
    assert statuses == {"delivered": 200}
