"""Login attempts counted per key in a sliding window, in process memory or in Redis.

Keys are ``"<kind>:<value>"`` strings chosen by the use case, such as
``"email:alice@example.com"`` and ``"client:203.0.113.9"``; each kind has its own
limit (by default 5 failures per e-mail and 50 per client address in 900 seconds).

An attempt is counted when it is admitted, before the password is checked, and the
decision and the record are one atomic step (one Lua script in Redis; no ``await``
between them in memory). So however many attempts arrive at once, at most ``limit``
per key are let through; the rest are refused without being counted. An attempt that
succeeds is cleared again. A key is over its limit while it holds ``limit`` attempts
in the last ``window_seconds``; it is free again when the oldest of them ages out.
Each key keeps at most ``limit`` entries: memory stays bounded however long an
attacker keeps trying.

The in-memory throttle suits one process; several processes share the Redis one.
When Redis cannot be reached, the Redis throttle falls back to an in-memory one of
its own: each process then throttles on its own, never not at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from application.ports.accounts import Admission
from application.ports.common import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

DEFAULT_LIMITS: Final[Mapping[str, int]] = {"email": 5, "client": 50}
DEFAULT_WINDOW_SECONDS: Final = 900
_LOCAL_TICKET = "local:"
"""Tickets of attempts the fallback counted start with this."""

Limits: TypeAlias = Mapping[str, int] | Callable[[str], int]
"""Either attempts allowed per key kind (``{"email": 5}``), or a function of the whole key."""


def key_kind(key: str) -> str:
    """``"email:alice@example.com"`` -> ``"email"``."""
    return key.partition(":")[0]


class _KeyLimits:
    """Resolves the limit of a key once per call site, and rejects unknown kinds loudly."""

    def __init__(self, limits: Limits) -> None:
        if not callable(limits):
            for kind, limit in limits.items():
                if limit < 1:
                    raise ValueError(f"The login failure limit for {kind!r} must be at least 1")
            limits = dict(limits)
        self._limits = limits

    def of(self, key: str) -> int:
        if callable(self._limits):
            limit = self._limits(key)
        else:
            try:
                limit = self._limits[key_kind(key)]
            except KeyError:
                # A typo in a key kind would silently disable throttling: fail instead.
                raise ValueError(f"No login failure limit for keys like {key!r}") from None
        if limit < 1:
            raise ValueError(f"The login failure limit for {key!r} must be at least 1")
        return limit


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))


def _check_window(window_seconds: int) -> None:
    if window_seconds < 1:
        raise ValueError("window_seconds must be at least 1")


class MemoryLoginThrottle:
    """Implements ``LoginThrottle`` in this process's memory (one process, or tests).

    Not shared between processes and lost on restart; see :class:`RedisLoginThrottle`.
    """

    def __init__(
        self,
        *,
        limits: Limits = DEFAULT_LIMITS,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
        clock: Clock,
    ) -> None:
        _check_window(window_seconds)
        self._limits = _KeyLimits(limits)
        self._window = window_seconds
        self._clock = clock
        # (time in POSIX seconds, ticket) of each counted attempt, oldest first.
        self._attempts: dict[str, deque[tuple[float, str]]] = {}
        self._next_sweep = 0.0

    async def admit(self, keys: Sequence[str]) -> Admission:
        return self.admit_now(keys)

    def admit_now(self, keys: Sequence[str], ticket: str | None = None) -> Admission:
        """:meth:`admit` without a coroutine: nothing can run between check and record."""
        now = self._clock.now().timestamp()
        admission = Admission(
            keys=tuple(keys),
            ticket=ticket or _LOCAL_TICKET + secrets.token_hex(8),
            retry_after=self._wait(keys, now),
        )
        if admission.retry_after is None:
            for key in keys:
                attempts = self._live_attempts(key, now)
                if attempts is None:
                    attempts = self._attempts[key] = deque(maxlen=self._limits.of(key))
                attempts.append((now, admission.ticket))
            self._sweep(now)
        return admission

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        """Seconds to wait if any key is at its limit, else None; records nothing."""
        return self._wait(keys, self._clock.now().timestamp())

    async def clear(self, admission: Admission) -> None:
        self.clear_now(admission)

    def clear_now(self, admission: Admission) -> None:
        for key in admission.keys:
            attempts = self._attempts.get(key)
            if attempts is not None:
                kept = [entry for entry in attempts if entry[1] != admission.ticket]
                attempts.clear()
                attempts.extend(kept)

    async def reset(self, key: str) -> None:
        self._attempts.pop(key, None)

    def _wait(self, keys: Sequence[str], now: float) -> int | None:
        worst: int | None = None
        for key in keys:
            limit = self._limits.of(key)
            attempts = self._live_attempts(key, now)
            if attempts is None or len(attempts) < limit:
                continue
            wait = _seconds_until(attempts[-limit][0] + self._window, now)
            worst = wait if worst is None else max(worst, wait)
        return worst

    def _live_attempts(self, key: str, now: float) -> deque[tuple[float, str]] | None:
        attempts = self._attempts.get(key)
        if attempts is None:
            return None
        horizon = now - self._window
        while attempts and attempts[0][0] <= horizon:
            attempts.popleft()
        if not attempts:
            del self._attempts[key]
            return None
        return attempts

    def _sweep(self, now: float) -> None:
        # Keys nobody tries again would stay forever; drop the stale ones about once
        # per window, which keeps the cost per call constant on average.
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._window
        horizon = now - self._window
        stale = [
            key
            for key, attempts in self._attempts.items()
            if not attempts or attempts[-1][0] <= horizon
        ]
        for key in stale:
            del self._attempts[key]


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
        _check_window(window_seconds)
        self._limits = _KeyLimits(limits)
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
        if admission.ticket.startswith(_LOCAL_TICKET):
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
        waits = [_seconds_until(float(score) + self._window, now) for score in blocking]
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
