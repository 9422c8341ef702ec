"""Is the Redis server behind ``REDIS_URL`` answering? (the readiness probe's question)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from application.ports.common import DependencyUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)


class RedisPing:
    """Raises ``DependencyUnavailable`` unless Redis answers a PING within the timeout.

    It has a client of its own, so the probe reports on the server rather than on the
    state of another component's connections. (The login throttle fails open when
    Redis is down: requests are still served, but each process throttles on its own,
    so an instance should not count as ready.)
    """

    def __init__(self, redis_url: str, *, timeout_seconds: float = 2.0) -> None:
        # Imported here: an API process without REDIS_URL never loads the Redis client.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._timeout = timeout_seconds
        self._redis: Redis = Redis.from_url(
            redis_url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )

    async def __call__(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except Exception as exc:
            logger.warning("Redis ping failed: %r", exc)
            raise DependencyUnavailable("Redis unavailable") from exc

    async def close(self) -> None:
        await self._redis.aclose()
