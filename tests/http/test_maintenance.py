"""Dead refresh tokens are purged in the background, without weakening reuse detection."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest

from application.ports.common import DependencyUnavailable
from entrypoints.container import Container
from entrypoints.maintenance import PeriodicPurge
from tests.http.conftest import Api, make_settings

REFRESH = "/api/v1/auth/refresh"


class CountingPurge:
    """Counts its runs, failing the first ones with ``failures``; ``done`` after ``target`` runs."""

    def __init__(self, *failures: Exception, target: int = 1) -> None:
        self.calls = 0
        self.failures = list(failures)
        self.target = target
        self.done = asyncio.Event()

    async def execute(self) -> int:
        self.calls += 1
        if self.calls >= self.target:
            self.done.set()
        if self.failures:
            raise self.failures.pop(0)
        return 2

    async def reached(self) -> None:
        async with asyncio.timeout(2):
            await self.done.wait()


async def test_the_purge_runs_at_start_then_every_interval() -> None:
    purge = CountingPurge(target=3)
    periodic = PeriodicPurge(purge.execute, what="things", every=0.01)

    await periodic.start()
    await purge.reached()
    await periodic.stop()
    calls = purge.calls
    await asyncio.sleep(0.03)

    assert not periodic.running
    assert purge.calls == calls


async def test_a_failing_purge_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    purge = CountingPurge(DependencyUnavailable("db down"), RuntimeError("bug"), target=3)
    periodic = PeriodicPurge(purge.execute, what="things", every=0.01)

    with caplog.at_level(logging.INFO, logger="entrypoints.maintenance"):
        await periodic.start()
        await purge.reached()
        await periodic.stop()

    messages = [record.getMessage() for record in caplog.records]
    assert any("db down" in message for message in messages)
    assert any(record.exc_info for record in caplog.records)
    assert "Purged 2 things" in messages


async def test_the_apps_lifespan_runs_the_refresh_token_purge(
    app_for: Callable[..., Any],
) -> None:
    purge = CountingPurge()

    def tweak(container: Container) -> Container:
        return dataclasses.replace(container, purge_refresh_tokens=purge)

    app = app_for(settings=make_settings(OUTBOX_DISPATCHER_IN_PROCESS="false"), tweak=tweak)
    async with app.lifespan():
        await purge.reached()
    calls = purge.calls
    await asyncio.sleep(0.02)

    assert purge.calls == calls


async def test_a_purge_keeps_spent_tokens_so_their_reuse_is_still_caught(api: Api) -> None:
    await api.register()
    first = await api.login()
    rotated = await api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200

    await api.container.purge_refresh_tokens.execute()
    replayed = await api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    descendant = await api.http.post(
        REFRESH, json={"refresh_token": rotated.json()["refresh_token"]}
    )

    assert replayed.status_code == 401
    # The replay was recognised as reuse, so the whole family went.
    assert descendant.status_code == 401


async def test_tokens_long_expired_are_purged(memory_api: Api) -> None:
    assert memory_api.clock is not None
    await memory_api.register()
    first = await memory_api.login()
    await memory_api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    await memory_api.login()

    assert await memory_api.container.purge_refresh_tokens.execute() == 0
    memory_api.clock.advance(days=2 * memory_api.container.settings.refresh_token_expire_days + 1)

    assert await memory_api.container.purge_refresh_tokens.execute() == 3
