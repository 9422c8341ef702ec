"""The outbox dispatcher: delivery passes in a loop, in the API process or ``storefront worker``.

Each pass (:class:`~application.notifications.DeliverOutbox`) claims a batch of due
messages, delivers them and settles each one. Between passes the loop sleeps for the
poll interval, or less when :meth:`OutboxDispatcher.wake` is called (after a commit
that recorded events, say). Delivered messages older than the retention period are
purged every ``purge_every`` seconds.
"""

from __future__ import annotations

import asyncio
import logging

from application.notifications import DeliverOutbox, PurgeOutbox
from application.ports.common import DependencyUnavailable

logger = logging.getLogger(__name__)


class OutboxDispatcher:
    """Runs outbox delivery passes in the background until stopped.

    A failing pass (database down, say) never ends the loop: it is tried again after a
    pause that doubles with each failure in a row, from the poll interval up to
    ``max_backoff``. An outage is logged once when it starts and once when delivery
    recovers, not once a pass (unexpected errors, which are bugs, keep their traceback).
    Stopping lets the pass in progress finish (the message in hand is delivered and
    settled) for up to ``stop_timeout`` seconds, then cancels it. A message claimed but
    not settled by then becomes due again when its lease runs out, so the lease given
    to ``deliver`` should be short (a minute or two) yet longer than a whole batch
    takes with a slow mail server (batch size times the mailer's timeout).

    In a web server: ``await start()`` at start-up and ``await stop()`` at shutdown. In
    a worker: ``await run_until_stopped()``, with :meth:`request_stop` as the SIGTERM
    handler (cancelling the task, as Ctrl-C does under ``asyncio.run``, stops it cleanly
    too). Use it from the event loop's thread only.
    """

    def __init__(
        self,
        deliver: DeliverOutbox,
        purge: PurgeOutbox,
        *,
        poll_interval: float = 1.0,
        purge_every: float = 3600,
        stop_timeout: float = 15.0,
        max_backoff: float = 60.0,
    ) -> None:
        if poll_interval <= 0 or purge_every <= 0:
            raise ValueError("poll_interval and purge_every must be positive")
        self._max_backoff = max(max_backoff, poll_interval)
        self._failures_in_a_row = 0
        self._deliver = deliver
        self._purge = purge
        self._poll_interval = poll_interval
        self._purge_every = purge_every
        self._stop_timeout = max(stop_timeout, 0.0)
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the loop in a background task (a no-op when it is already running)."""
        if self.running:
            return
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")
        logger.info("Outbox dispatcher started (polling every %s s)", self._poll_interval)

    def wake(self) -> None:
        """Start the next pass now rather than at the end of the poll interval."""
        if self._wakeup is not None:
            self._wakeup.set()

    def request_stop(self) -> None:
        """Ask the loop to stop after the pass in progress; returns at once.

        A pass still running ``stop_timeout`` seconds later is cancelled, so a process
        stopping on SIGTERM exits in bounded time whatever the mail server does.
        """
        if self._stopping:
            return
        self._stopping = True
        self.wake()
        task = self._task
        if task is not None and not task.done():
            asyncio.get_running_loop().call_later(self._stop_timeout, self._cancel_overdue, task)

    def _cancel_overdue(self, task: asyncio.Task[None]) -> None:
        if task.done():
            return
        logger.warning(
            "Outbox pass still running after %s s: cancelled; its unsettled messages "
            "are delivered again once their lease runs out",
            self._stop_timeout,
        )
        task.cancel()

    async def stop(self) -> None:
        """Stop the loop: the pass in progress may finish within ``stop_timeout``."""
        task = self._task
        if task is None:
            return
        self.request_stop()
        await asyncio.wait({task})
        self._settle(task)
        logger.info("Outbox dispatcher stopped")

    async def run_until_stopped(self) -> None:
        """Run the loop in the foreground until :meth:`request_stop` or cancellation."""
        await self.start()
        task = self._task
        assert task is not None
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            await self.stop()
            raise
        self._settle(task)

    def _settle(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("Outbox dispatcher ended with an error", exc_info=task.exception())

    async def _run(self) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while not self._stopping:
            wakeup.clear()
            delivered = await self._deliver_once()
            if self._stopping:
                break
            if loop.time() >= next_purge:
                await self._purge_once()
                next_purge = loop.time() + self._purge_every
            if delivered:
                # A full batch may have left more due messages behind: no pause.
                continue
            try:
                async with asyncio.timeout(self.next_pause):
                    await wakeup.wait()
            except TimeoutError:
                pass

    @property
    def next_pause(self) -> float:
        """Seconds until the next pass: the poll interval, doubled per failure in a row."""
        if not self._failures_in_a_row:
            return self._poll_interval
        # The exponent is capped so the float never overflows during a long outage.
        doubled = self._poll_interval * 2.0 ** min(self._failures_in_a_row, 30)
        return min(doubled, self._max_backoff)

    async def _deliver_once(self) -> int:
        try:
            delivered = await self._deliver.execute(should_stop=lambda: self._stopping)
        except DependencyUnavailable as error:
            self._failed(error.detail)
        except Exception:
            self._failures_in_a_row += 1
            logger.exception("Outbox delivery pass failed; retrying in %s s", self.next_pause)
        else:
            if self._failures_in_a_row:
                logger.info(
                    "Outbox delivery recovered after %s failed pass(es)", self._failures_in_a_row
                )
                self._failures_in_a_row = 0
            return delivered
        return 0

    def _failed(self, detail: str) -> None:
        self._failures_in_a_row += 1
        if self._failures_in_a_row == 1:
            logger.warning(
                "Outbox delivery is failing (%s); retrying with a growing pause, up to %s s, "
                "and logging again once it recovers",
                detail,
                self._max_backoff,
            )
        else:
            logger.debug("Outbox delivery still failing (%s)", detail)

    async def _purge_once(self) -> None:
        try:
            purged = await self._purge.execute()
        except DependencyUnavailable as error:
            logger.warning("Outbox purge failed (%s); trying again later", error.detail)
        except Exception:
            logger.exception("Outbox purge failed; trying again later")
        else:
            if purged:
                logger.info("Purged %s delivered outbox messages", purged)


__all__ = ["OutboxDispatcher"]
