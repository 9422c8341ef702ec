"""The dispatcher as the processes run it: inside the API, and as `storefront worker`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from litestar.testing import AsyncTestClient

from application.auth import RegisterCommand
from entrypoints.bootstrap import build_container, build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import TEST_SECRET_KEY, make_settings
from tests.outbox.conftest import SENDER, MailServer


def mail_env(mail_server: MailServer, **extra: str) -> dict[str, str]:
    return {
        "SECRET_KEY": TEST_SECRET_KEY,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail_server.port),
        "SMTP_SENDER": SENDER,
        "SMTP_SECURITY": "none",
        **extra,
    }


async def test_the_api_process_delivers_the_welcome_email_in_the_background(
    mail_server: MailServer,
) -> None:
    settings = make_settings(**mail_env(mail_server))
    app = create_app(build_memory_container(settings))

    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "ann@example.com", "password": "long-password"}
        )
        assert response.status_code == 201
        (mail,) = await mail_server.wait_for(1)

    assert mail.recipients == ("ann@example.com",)
    assert mail.subject == "Welcome to Storefront"


async def test_the_in_process_dispatcher_can_be_turned_off(mail_server: MailServer) -> None:
    settings = make_settings(**mail_env(mail_server, OUTBOX_DISPATCHER_IN_PROCESS="false"))
    container = build_memory_container(settings)

    async with AsyncTestClient(create_app(container)) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "ann@example.com", "password": "long-password"}
        )
        assert response.status_code == 201
        await asyncio.sleep(0.3)

    assert mail_server.messages() == []
    async with container.uow() as uow:
        assert (await uow.outbox.count_by_status())["pending"] == 1


async def test_the_worker_command_delivers_what_the_api_queued_and_stops_on_sigterm(
    mail_server: MailServer, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # A migrated SQLite file in tmp_path, which is also the worker's working directory.
    environ = mail_env(mail_server, DATABASE_URL=migrated_sqlite_url)
    # The API side, with its own dispatcher off: the e-mail waits in the outbox.
    settings = make_settings(**environ, OUTBOX_DISPATCHER_IN_PROCESS="false")
    api = build_container(settings)
    try:
        await api.register_user.execute(
            RegisterCommand(email="bob@example.com", password="long-password")
        )
    finally:
        await api.close()

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "entrypoints.cli",
        "worker",
        env={**os.environ, **environ},
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        (mail,) = await mail_server.wait_for(1)
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        try:
            _, stderr = await asyncio.wait_for(worker.communicate(), timeout=20)
        except TimeoutError:
            # Not stopped by SIGTERM: it must not outlive the test.
            with contextlib.suppress(ProcessLookupError):
                worker.kill()
            await worker.wait()
            raise

    assert mail.recipients == ("bob@example.com",)
    assert worker.returncode == 0, stderr.decode()
