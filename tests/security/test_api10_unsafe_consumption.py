"""API10:2023 Unsafe Consumption of APIs: a slow or silent outside service never holds a request.

Storefront talks to two outside services: an SMTP server (e-mails) and, optionally,
Redis (the shared login throttle). Each call to them is bounded by a timeout, and
no request waits on the mail server at all: a request that sends an e-mail only
writes it to the outbox, in its own transaction, and the dispatcher delivers it
later, retrying on failure. The servers here accept connections and never answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.mail import SmtpMailer
from application.notifications import DeliverOutbox
from application.ports.notifications import EmailMessage, MailDeliveryError
from entrypoints.bootstrap import build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import PASSWORD, cheap_hasher, http_client, make_settings

FAST = 2.0
"""Seconds within which a request must answer, whatever the outside services do."""


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts every connection and never says a word; yields its port."""
    release = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await release.wait()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        release.set()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def _message() -> EmailMessage:
    return EmailMessage(
        to="alice@example.com",
        subject="Welcome",
        text="Hello",
        html="<p>Hello</p>",
        message_id="<1@storefront.test>",
    )


async def test_a_silent_mail_server_fails_within_the_mailers_timeout(silent_server: int) -> None:
    mailer = SmtpMailer(
        host="127.0.0.1", port=silent_server, sender="shop@example.com", timeout_seconds=0.5
    )
    started = time.perf_counter()

    with pytest.raises(MailDeliveryError):
        await mailer.send(_message())

    assert time.perf_counter() - started < FAST


async def test_a_request_that_sends_mail_does_not_wait_for_the_mail_server(
    silent_server: int,
) -> None:
    settings = make_settings(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(silent_server), SMTP_SECURITY="none"
    )
    container = build_memory_container(settings, hasher=cheap_hasher())
    app = create_app(container)
    try:
        async with http_client(app) as http:
            started = time.perf_counter()
            response = await http.post(
                "/api/v1/auth/register",
                json={"email": "alice@example.com", "password": PASSWORD},
            )
            elapsed = time.perf_counter() - started

        assert response.status_code == 201
        assert elapsed < FAST

        # The welcome e-mail waits in the outbox; delivering it to the silent server
        # fails within the timeout and leaves it there for a later attempt.
        mailer = SmtpMailer(
            host="127.0.0.1",
            port=silent_server,
            sender="shop@example.com",
            start_tls=False,
            timeout_seconds=0.5,
        )
        deliver = DeliverOutbox(container.uow, mailer, container.clock, lease=timedelta(seconds=30))
        started = time.perf_counter()
        delivered = await deliver.execute()
        assert time.perf_counter() - started < FAST
        assert delivered == 0
        async with container.uow() as uow:
            counts = await uow.outbox.count_by_status()
        assert counts["pending"] == 1
        assert counts["delivered"] == 0
    finally:
        await container.close()


async def test_a_silent_redis_does_not_hold_up_a_login(silent_server: int) -> None:
    settings = make_settings(REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")
    container = build_memory_container(settings, hasher=cheap_hasher())
    app = create_app(container)
    try:
        async with http_client(app) as http:
            await http.post(
                "/api/v1/auth/register",
                json={"email": "alice@example.com", "password": PASSWORD},
            )
            started = time.perf_counter()
            wrong = await http.post(
                "/api/v1/auth/login", json={"email": "alice@example.com", "password": "nope-nope"}
            )
            right = await http.post(
                "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
            )
            elapsed = time.perf_counter() - started
    finally:
        await container.close()

    # The throttle falls back to counting in this process: logins go on, each bounded
    # by its short Redis timeout.
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert elapsed < 2 * FAST
