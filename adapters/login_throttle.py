"""Failed-login counting in a sliding window, in process memory or in Redis.

Keys are ``"<kind>:<value>"`` strings chosen by the use case, such as
``"email:alice@example.com"`` and ``"client:203.0.113.9"``; each kind has its own
limit (by default 5 failures per e-mail and 50 per client address in 900 seconds).
A key is over its limit once it has ``limit`` failures in the last
``window_seconds``; it is free again when enough of them have aged out of the window.

Only the newest ``limit`` failures of a key matter for that (the key is free again
when the oldest of them ages out), so each key keeps at most that many: memory
stays bounded however long an attacker keeps failing.

The in-memory throttle suits one process; with several API processes each would
count on its own, so a deployment with several sets ``REDIS_URL`` and they share
the Redis one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from application.ports import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

DEFAULT_LIMITS: Final[Mapping[str, int]] = {"email": 5, "client": 50}
DEFAULT_WINDOW_SECONDS: Final = 900

Limits: TypeAlias = Mapping[str, int] | Callable[[str], int]
"""Either failures allowed per key kind (``{"email": 5}``), or a function of the whole key."""


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
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self._limits = _KeyLimits(limits)
        self._window = window_seconds
        self._clock = clock
        # Failure times (POSIX seconds), oldest first, at most `limit` per key.
        self._failures: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        now = self._clock.now().timestamp()
        worst: int | None = None
        for key in keys:
            limit = self._limits.of(key)
            failures = self._live_failures(key, now)
            if failures is None or len(failures) < limit:
                continue
            wait = _seconds_until(failures[0] + self._window, now)
            worst = wait if worst is None else max(worst, wait)
        return worst

    async def record_failure(self, keys: Sequence[str]) -> None:
        now = self._clock.now().timestamp()
        for key in keys:
            failures = self._live_failures(key, now)
            if failures is None:
                failures = self._failures[key] = deque(maxlen=self._limits.of(key))
            failures.append(now)
        self._sweep(now)

    async def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _live_failures(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        horizon = now - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def _sweep(self, now: float) -> None:
        # Keys nobody tries again would stay forever; drop the stale ones about once
        # per window, which keeps the cost per call constant on average.
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._window
        horizon = now - self._window
        stale = [
            key
            for key, failures in self._failures.items()
            if not failures or failures[-1] <= horizon
        ]
        for key in stale:
            del self._failures[key]


# Both scripts run atomically in Redis, so concurrent API processes never interleave
# between the trim, the count and the read. Scores are failure times in POSIX
# seconds; members are unique per failure. Times arrive as strings made in Python:
# Redis's Lua would round numbers it formats back to 14 digits.
_RECORD_FAILURE = """
-- ARGV: now, horizon (now - window), window, member, then the limit of each key
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[4 + i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
    redis.call('ZADD', key, ARGV[1], ARGV[4])
    redis.call('ZREMRANGEBYRANK', key, 0, -limit - 1)
    redis.call('EXPIRE', key, ARGV[3])
end
return 0
"""

_OLDEST_BLOCKING_FAILURES = """
-- ARGV: horizon (now - window), then the limit of each key.
-- Answers, per key, the time of the failure whose expiry frees the key, or nil.
local result = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[1 + i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    local count = redis.call('ZCARD', key)
    if count >= limit then
        local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        result[i] = entry[2]
    else
        result[i] = false
    end
end
return result
"""


class RedisLoginThrottle:
    """Implements ``LoginThrottle`` on Redis sorted sets, shared by every API process.

    One sorted set per key, named ``key_prefix + kind + ":" + sha256(key)``: the
    digest keeps e-mail addresses out of Redis key names and bounds their length
    whatever a client sends. Each call is one round trip running one Lua script.

    **Fails open.** If Redis cannot be reached or does not answer within
    ``operation_timeout`` seconds, :meth:`retry_after` answers None and the other
    methods do nothing, with a warning in the log (at most one every
    ``warning_interval`` seconds). Failing closed would turn a Redis outage into a
    login outage for every user; failing open only lifts the brake on guessing for
    that time, and each guess still costs a full argon2 verification.

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
        operation_timeout: float = 0.5,
        warning_interval: float = 60.0,
    ) -> None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self._limits = _KeyLimits(limits)
        self._window = window_seconds
        self._clock = clock
        self._prefix = key_prefix
        self._timeout = operation_timeout
        self._warning_interval = warning_interval
        self._last_warning: float | None = None
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
        self._record_failure = self._redis.register_script(_RECORD_FAILURE)
        self._oldest_blocking_failures = self._redis.register_script(_OLDEST_BLOCKING_FAILURES)

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        if not keys:
            return None
        now = self._clock.now().timestamp()
        limits = [self._limits.of(key) for key in keys]
        try:
            async with asyncio.timeout(self._timeout):
                oldest: list[bytes | None] = await self._oldest_blocking_failures(
                    keys=[self._redis_key(key) for key in keys],
                    args=[repr(now - self._window), *limits],
                )
        except self._unavailable as error:
            self._warn_unavailable(error)
            return None
        waits = [
            _seconds_until(float(score) + self._window, now)
            for score in oldest
            if score is not None
        ]
        return max(waits, default=None)

    async def record_failure(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        now = self._clock.now().timestamp()
        limits = [self._limits.of(key) for key in keys]
        # Unique even for failures in the same microsecond from several processes.
        member = f"{now!r}:{secrets.token_hex(8)}"
        try:
            async with asyncio.timeout(self._timeout):
                await self._record_failure(
                    keys=[self._redis_key(key) for key in keys],
                    args=[repr(now), repr(now - self._window), self._window, member, *limits],
                )
        except self._unavailable as error:
            self._warn_unavailable(error)

    async def reset(self, key: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.delete(self._redis_key(key))
        except self._unavailable as error:
            self._warn_unavailable(error)

    async def close(self) -> None:
        """Close the connections; call it when the application shuts down."""
        await self._redis.aclose()

    def _redis_key(self, key: str) -> str:
        # The kind stays readable for whoever inspects Redis; the rest is a digest.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self._prefix}{key_kind(key)[:32]}:{digest}"

    def _warn_unavailable(self, error: BaseException) -> None:
        moment = time.monotonic()
        if self._last_warning is not None and moment - self._last_warning < self._warning_interval:
            return
        self._last_warning = moment
        logger.warning(
            "Login throttle store unavailable, not throttling logins meanwhile: %s: %s",
            type(error).__name__,
            error,
        )
