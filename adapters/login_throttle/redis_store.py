"""The login throttle shared by every process through Redis, with an in-memory fallback."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.login_throttle.limits import (
    DEFAULT_LIMITS,
    DEFAULT_WINDOW_SECONDS,
    LOCAL_TICKET,
    KeyLimits,
    Limits,
    check_window,
    key_kind,
    seconds_until,
)
from adapters.login_throttle.memory import MemoryLoginThrottle
from application.ports.accounts import Admission
from application.ports.common import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis


logger = logging.getLogger(__name__)


# The check and the record run as one script, so concurrent API processes never
# interleave between them. Scores are attempt times in POSIX seconds; members are
# unique per attempt. Times arrive as strings made in Python: Redis's Lua would round
# numbers it formats back to 14 digits.
_ADMIT = """
-- ARGV: now, horizon (now - window), window, member, record (1/0), then each key's limit.
-- Answers the time of the attempt whose expiry frees each key at its limit; when no
-- key is at its limit, records the attempt on every key (if asked) and answers {}.
local blocking = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[5 + i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
    local count = redis.call('ZCARD', key)
    if count >= limit then
        local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        blocking[#blocking + 1] = entry[2]
    end
end
if #blocking > 0 or ARGV[5] == '0' then
    return blocking
end
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, ARGV[1], ARGV[4])
    redis.call('EXPIRE', key, ARGV[3])
end
return blocking
"""


_CLEAR = """
for _, key in ipairs(KEYS) do
    redis.call('ZREM', key, ARGV[1])
end
return 0
"""


class RedisLoginThrottle:
    """Implements ``LoginThrottle`` on Redis sorted sets, shared by every API process.

    One sorted set per key, named ``key_prefix + kind + ":" + sha256(key)``: the
    digest keeps e-mail addresses out of Redis key names and bounds their length
    whatever a client sends. Each call is one round trip running one Lua script.

    **Falls back, never open.** If Redis cannot be reached or does not answer within
    ``operation_timeout`` seconds, attempts are counted by an in-memory throttle of
    this process until Redis answers again; the switch is logged once each way.

    Assumes one Redis node (a script's keys would span cluster slots) and API hosts
    with synchronised clocks (the window uses the injected clock).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        limits: Limits = DEFAULT_LIMITS,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
        clock: Clock,
        key_prefix: str = "storefront:login:",
        operation_timeout: float = 1.0,
    ) -> None:
        check_window(window_seconds)
        self._limits = KeyLimits(limits)
        self._window = window_seconds
        self._clock = clock
        self._prefix = key_prefix
        self._timeout = operation_timeout
        self._fallback = MemoryLoginThrottle(
            limits=limits, window_seconds=window_seconds, clock=clock
        )
        self._degraded = False
        # Imported here: an API process without REDIS_URL never loads the Redis client.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self._unavailable: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        # No retries (the default retries with backoff for seconds) and short socket
        # timeouts: a login must not wait on a Redis that is down.
        self._redis: Redis = Redis.from_url(
            redis_url,
            socket_timeout=operation_timeout,
            socket_connect_timeout=operation_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._admit = self._redis.register_script(_ADMIT)
        self._clear = self._redis.register_script(_CLEAR)

    async def admit(self, keys: Sequence[str]) -> Admission:
        ticket = secrets.token_hex(8)
        try:
            wait = await self._run(keys, ticket, record=True)
        except _Unavailable:
            return self._fallback.admit_now(keys)
        return Admission(keys=tuple(keys), ticket=ticket, retry_after=wait)

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        """Seconds to wait if any key is at its limit, else None; records nothing."""
        try:
            return await self._run(keys, "", record=False)
        except _Unavailable:
            return await self._fallback.retry_after(keys)

    async def clear(self, admission: Admission) -> None:
        if admission.ticket.startswith(LOCAL_TICKET):
            self._fallback.clear_now(admission)
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._clear(
                    keys=[self._redis_key(key) for key in admission.keys], args=[admission.ticket]
                )
        except self._unavailable as error:
            self._went_down(error)

    async def reset(self, key: str) -> None:
        await self._fallback.reset(key)
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.delete(self._redis_key(key))
        except self._unavailable as error:
            self._went_down(error)

    async def close(self) -> None:
        """Close the connections; call it when the application shuts down."""
        await self._redis.aclose()

    async def _run(self, keys: Sequence[str], ticket: str, *, record: bool) -> int | None:
        """The admit script's wait (None: admitted); ``_Unavailable`` if Redis is not."""
        if not keys:
            return None
        now = self._clock.now().timestamp()
        limits = [self._limits.of(key) for key in keys]
        try:
            async with asyncio.timeout(self._timeout):
                blocking: list[bytes] = await self._admit(
                    keys=[self._redis_key(key) for key in keys],
                    args=[
                        repr(now),
                        repr(now - self._window),
                        self._window,
                        ticket,
                        int(record),
                        *limits,
                    ],
                )
        except self._unavailable as error:
            self._went_down(error)
            raise _Unavailable from error
        if self._degraded:
            self._degraded = False
            logger.info("Login throttle store reachable again: throttling is shared again")
        waits = [seconds_until(float(score) + self._window, now) for score in blocking]
        return max(waits, default=None)

    def _redis_key(self, key: str) -> str:
        # The kind stays readable for whoever inspects Redis; the rest is a digest.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self._prefix}{key_kind(key)[:32]}:{digest}"

    def _went_down(self, error: BaseException) -> None:
        if self._degraded:
            return
        self._degraded = True
        logger.warning(
            "Login throttle store unavailable (%s: %s): this process throttles on its own "
            "until it answers again",
            type(error).__name__,
            error,
        )


class _Unavailable(Exception):
    """Redis did not answer; the fallback decides."""
