"""The login throttle of one process, in memory."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Sequence

from adapters.login_throttle.limits import (
    DEFAULT_LIMITS,
    DEFAULT_WINDOW_SECONDS,
    LOCAL_TICKET,
    KeyLimits,
    Limits,
    check_window,
    seconds_until,
)
from application.ports.accounts import Admission
from application.ports.common import Clock


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
        check_window(window_seconds)
        self._limits = KeyLimits(limits)
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
            ticket=ticket or LOCAL_TICKET + secrets.token_hex(8),
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
            wait = seconds_until(attempts[-limit][0] + self._window, now)
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
