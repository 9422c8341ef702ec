"""A real SMTP server, and the stores the outbox runs on, for the end-to-end e-mail tests.

``mail_server`` is an aiosmtpd server on a free 127.0.0.1 port, in its own thread,
collecting every message it accepts. ``store`` is the outbox's home under test:
memory, a migrated SQLite file, or a migrated PostgreSQL database; ``sql_store``
leaves memory out (for tests that drop every in-process object).
"""

from __future__ import annotations

import asyncio
import email.policy
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail import SmtpMailer
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from adapters.sql.engine import create_engine_for
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.notifications import DeliverOutbox, RetryPolicy
from application.ports.common import Clock, UnitOfWork
from application.ports.notifications import Mailer
from tests.processes import free_port
from tests.unit.doubles import SteppingClock

SENDER = "shop@storefront.test"
MESSAGE_DOMAIN = "storefront.test"


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server took it: envelope and parsed content."""

    sender: str
    recipients: tuple[str, ...]
    message: MimeMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert isinstance(part, MimeMessage)
        return str(part.get_content())


class MailServer:
    """An SMTP server (aiosmtpd) that accepts everything except the addresses it refuses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[ReceivedMail] = []
        self.refused: set[str] = set()
        self._arrival = threading.Condition()
        self._controller: Controller | None = None

    # aiosmtpd handler hooks, run in the server's thread.

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        parsed = BytesParser(policy=email.policy.default).parsebytes(content)
        assert isinstance(parsed, MimeMessage)
        with self._arrival:
            self.received.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
            self._arrival.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> None:
        # A fixed server hostname spares a reverse DNS lookup per start.
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="mail.test"
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[ReceivedMail]:
        with self._arrival:
            return list(self.received)

    async def wait_for(self, count: int) -> list[ReceivedMail]:
        """The received messages once there are at least ``count`` of them (30 s at most).

        Generous: a loaded machine delivers slowly, never wrongly.
        """

        def arrived() -> bool:
            with self._arrival:
                return self._arrival.wait_for(lambda: len(self.received) >= count, timeout=30)

        if not await asyncio.to_thread(arrived):
            raise AssertionError(f"{len(self.received)} messages arrived, not {count}")
        return self.messages()

    def mailer(self, timeout_seconds: float = 5.0) -> SmtpMailer:
        return SmtpMailer(
            host="127.0.0.1", port=self.port, sender=SENDER, timeout_seconds=timeout_seconds
        )


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@dataclass
class Store:
    """Where the outbox lives: memory, or a database reached through a fresh engine."""

    name: str
    clock: SteppingClock
    url: str | None = None
    memory: InMemoryStore | None = None
    engines: list[AsyncEngine] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.url is not None:
            self.engines.append(self._engine())

    def _engine(self) -> AsyncEngine:
        assert self.url is not None
        return create_engine_for(self.url, pool_size=5, max_overflow=5, autocommit=True)

    def uow(self) -> UnitOfWork:
        if self.memory is not None:
            return InMemoryUnitOfWork(self.memory, clock=self.clock)
        return SqlUnitOfWork(self.engines[-1], clock=self.clock)

    async def restart(self) -> None:
        """What a process restart leaves: the database, and nothing that was in memory."""
        assert self.url is not None, "the memory store does not survive a restart"
        for engine in self.engines:
            await engine.dispose()
        self.engines.append(self._engine())

    def another_engine(self) -> AsyncEngine:
        """A second engine on the same database, as another machine would have."""
        engine = self._engine()
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.dispose()

    async def rows(self) -> list[dict[str, Any]]:
        """Every outbox row (status, attempts, last_error...), oldest first."""
        if self.memory is not None:
            return [
                {
                    "id": record.id,
                    "status": record.status,
                    "attempts": record.attempts,
                    "last_error": record.last_error,
                    "locked_until": record.locked_until,
                }
                for record in sorted(self.memory.outbox.values(), key=lambda r: r.id)
            ]
        async with self.engines[-1].connect() as connection:
            result = await connection.execute(sa.select(outbox).order_by(outbox.c.id))
            return [dict(row._mapping) for row in result]

    def deliverer(
        self,
        mailer: Mailer,
        *,
        retry: RetryPolicy | None = None,
        batch_size: int = 50,
        clock: Clock | None = None,
    ) -> DeliverOutbox:
        """A dispatcher pass on this store; jitter fixed at 0.5 so delays are predictable."""
        return DeliverOutbox(
            self.uow,
            mailer,
            clock or self.clock,
            message_domain=MESSAGE_DOMAIN,
            batch_size=batch_size,
            retry=retry,
            jitter=lambda: 0.5,
        )


_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


def _url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    name = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(params=["memory", "sqlite", _POSTGRES])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Where the store lives (None for memory), resolved outside the event loop."""
    return _url(request)


@pytest.fixture(params=["sqlite", _POSTGRES])
def sql_store_url(request: pytest.FixtureRequest) -> str | None:
    return _url(request)


def _make_store(url: str | None, clock: SteppingClock) -> Store:
    if url is None:
        return Store("memory", clock, memory=InMemoryStore())
    return Store("sqlite" if url.startswith("sqlite") else "postgres", clock, url=url)


@pytest.fixture
async def store(store_url: str | None, clock: SteppingClock) -> AsyncIterator[Store]:
    found = _make_store(store_url, clock)
    try:
        yield found
    finally:
        await found.close()


@pytest.fixture
async def sql_store(sql_store_url: str | None, clock: SteppingClock) -> AsyncIterator[Store]:
    found = _make_store(sql_store_url, clock)
    try:
        yield found
    finally:
        await found.close()


async def drain(deliver: DeliverOutbox, passes: int = 20) -> int:
    """Run passes until one delivers nothing; return how many messages were delivered."""
    total = 0
    for _ in range(passes):
        delivered = await deliver.execute()
        if not delivered:
            return total
        total += delivered
    raise AssertionError(f"the outbox still delivered messages after {passes} passes")
