"""The database goes away and comes back: 503 with Retry-After, never a hang or a 500.

The app reaches PostgreSQL through a TCP relay the test can cut (every connection
dropped, new ones refused) and restore on the same port: a database outage as the
application sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from entrypoints.bootstrap import build_container
from tests.http.conftest import Api, _serve, cheap_hasher, make_settings

pytestmark = pytest.mark.postgres


class CuttableRelay:
    """Forwards 127.0.0.1:<port> to the database until cut."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def relayed_api(migrated_postgres_url: str) -> AsyncIterator[tuple[Api, CuttableRelay]]:
    url = make_url(migrated_postgres_url)
    relay = CuttableRelay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    settings = make_settings(DATABASE_URL=relayed, DATABASE_POOL_SIZE="2")
    async for api in _serve(build_container(settings, hasher=cheap_hasher()), "postgres", None):
        yield api, relay
    with contextlib.suppress(AssertionError):
        await relay.cut()


async def test_while_the_database_is_down_the_api_answers_503_and_recovers_by_itself(
    relayed_api: tuple[Api, CuttableRelay],
) -> None:
    api, relay = relayed_api
    assert (await api.http.get("/health/ready")).status_code == 200
    assert (await api.http.get("/api/v1/products")).status_code == 200

    await relay.cut()
    started = time.monotonic()
    ready = await api.http.get("/health/ready")
    elapsed = time.monotonic() - started
    products = await api.http.get("/api/v1/products")

    assert ready.status_code == 503
    assert elapsed < 2.5
    assert int(ready.headers["retry-after"]) >= 1
    assert ready.json()["checks"]["database"] != "ok"
    assert products.status_code == 503
    assert products.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" in products.headers
    assert "Traceback" not in products.text
    assert (await api.http.get("/health")).status_code == 200  # liveness touches nothing

    await relay.start()
    assert (await api.http.get("/health/ready")).status_code == 200
    assert (await api.http.get("/api/v1/products")).status_code == 200
