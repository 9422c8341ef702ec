"""Housekeeping that runs in the background of every Storefront process.

Today that is one job: deleting refresh tokens that can never be used again, once an
hour, in each API process and in ``storefront worker``. Several processes purging the
same table is harmless: each purge is one ``DELETE`` of rows nobody can use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from application.ports.common import DependencyUnavailable

logger = logging.getLogger(__name__)

Purge = Callable[[], Awaitable[int]]
"""Deletes what is no longer needed and answers how many rows went."""


class PeriodicPurge:
    """Runs a purge now and then every ``every`` seconds, in a background task, until stopped.

    A failing purge (database down, say) is logged and tried again at the next turn;
    it never ends the loop. Use it from the event loop's thread only.
    """

    def __init__(self, purge: Purge, *, what: str, every: float = 3600.0) -> None:
        if every <= 0:
            raise ValueError("every must be positive")
        self._purge = purge
        self._what = what
        self._every = every
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the loop (a no-op when it is already running)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=f"purge {self._what}")

    async def stop(self) -> None:
        """Stop the loop; a purge in progress is cancelled (its transaction rolls back)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})

    async def purge_once(self) -> int:
        """One purge, its failure logged rather than raised; answers the rows deleted."""
        try:
            purged = await self._purge()
        except DependencyUnavailable as error:
            logger.warning("Purging %s failed (%s); trying again later", self._what, error.detail)
        except Exception:
            logger.exception("Purging %s failed; trying again later", self._what)
        else:
            if purged:
                logger.info("Purged %s %s", purged, self._what)
            return purged
        return 0

    async def _run(self) -> None:
        while True:
            await self.purge_once()
            await asyncio.sleep(self._every)


__all__ = ["PeriodicPurge"]
