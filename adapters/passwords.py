"""Argon2id password hashing through passlib, run on a small pool of worker threads.

An argon2 hash takes tens of milliseconds of CPU and ~19 MiB of memory by design.
Run on the event loop it would stall every other request for that long, so every
hash and verification goes to a worker thread. The pool is dedicated and small:
a burst of logins then queues here, instead of taking every thread the rest of
the application needs (``anyio.to_thread`` has 40 by default) or every core.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from passlib.context import CryptContext  # type: ignore[import-untyped]

from adapters.large_blocks import return_large_blocks_to_the_system
from application.ports.accounts import PasswordCheck

_T = TypeVar("_T")

# OWASP's argon2id baseline (2024): 19 MiB, 2 passes, 1 lane.
DEFAULT_MEMORY_COST_KIB = 19456
DEFAULT_TIME_COST = 2
DEFAULT_PARALLELISM = 1
# Hashing may use at most half the cores, so that a burst of logins always leaves the
# other half to the event loop and the database: on 2 cores, 2 hashing threads cut
# product reads during logins from ~750 to ~470 req/s (p50 41 -> 63 ms) for 25 % more
# logins per second (tests/benchmarks/RESULTS.md, S6).
DEFAULT_MAX_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))


class Argon2PasswordHasher:
    """Implements ``PasswordHasher`` with argon2id; never blocks the event loop.

    Hashes made with other parameters (older, cheaper ones, or argon2i) still
    verify, and :meth:`verify` then returns a fresh hash made with the current ones
    so the caller can store it.

    At most ``max_threads`` hashes run at once, on threads of this hasher's own
    pool; further calls wait their turn without holding the event loop.
    """

    def __init__(
        self,
        *,
        memory_cost_kib: int = DEFAULT_MEMORY_COST_KIB,
        time_cost: int = DEFAULT_TIME_COST,
        parallelism: int = DEFAULT_PARALLELISM,
        max_threads: int = DEFAULT_MAX_THREADS,
    ) -> None:
        if max_threads < 1:
            raise ValueError("max_threads must be at least 1")
        # Each hash's 19 MiB goes back to the system when it is done (large_blocks.py).
        return_large_blocks_to_the_system()
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_cost_kib,
            argon2__time_cost=time_cost,
            argon2__parallelism=parallelism,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix="password-hashing"
        )
        self._dummy_hash: str | None = None
        # A threading lock, not an asyncio one: the dummy hash is made in a worker
        # thread, and the hasher may be shared by several event loops (tests do).
        self._dummy_lock = threading.Lock()

    async def hash(self, password: str) -> str:
        return await self._in_worker(self._context.hash, password)

    async def verify(self, password: str, hashed: str) -> PasswordCheck:
        return await self._in_worker(self._verify_now, password, hashed)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a wrong-password verification, for an unknown e-mail."""
        await self._in_worker(self._verify_dummy_now, password)

    async def warm_up(self) -> None:
        """Make the dummy hash now, so not even the first unknown e-mail is slower.

        Optional: without it the dummy hash is made on the first :meth:`verify_dummy`.
        """
        await self._in_worker(self._get_dummy_hash)

    def close(self) -> None:
        """Let the worker threads end once their current hash is done; no use after."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _in_worker(self, function: Callable[..., _T], *args: str) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _verify_now(self, password: str, hashed: str) -> PasswordCheck:
        try:
            valid, new_hash = self._context.verify_and_update(password, hashed)
        except (ValueError, TypeError):
            # An empty, truncated or foreign hash (passlib raises UnknownHashError, a
            # ValueError) or a password over passlib's size limit: not a match.
            return PasswordCheck(valid=False)
        return PasswordCheck(valid=valid, new_hash=new_hash if valid else None)

    def _verify_dummy_now(self, password: str) -> None:
        dummy_hash = self._get_dummy_hash()
        # Same outcome as a real verification of such a password: no match.
        with contextlib.suppress(ValueError, TypeError):
            self._context.verify(password, dummy_hash)

    def _get_dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                # Random and thrown away: nobody can ever match it, and it uses the
                # very parameters real hashes use, so it costs what they cost.
                self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))
            return self._dummy_hash
