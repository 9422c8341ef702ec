"""``storefront worker``: deliver the outbox outside the API process."""

from __future__ import annotations

import asyncio
import logging
import signal

from entrypoints.commands.common import container_for_command
from entrypoints.settings import Settings
from entrypoints.tracing import configure_tracing

logger = logging.getLogger("storefront")


async def worker(settings: Settings) -> int:
    """Deliver the outbox and purge dead refresh tokens until SIGTERM or SIGINT."""
    tracing = configure_tracing(settings)
    container = await asyncio.to_thread(container_for_command, settings, tracing)
    dispatcher = container.outbox_dispatcher()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, dispatcher.request_stop)
    purge = container.refresh_token_purge()
    await purge.start()
    logger.info("Outbox worker started")
    try:
        await dispatcher.run_until_stopped()
    finally:
        await purge.stop()
        await container.close()
        if tracing is not None:
            tracing.shutdown()
    logger.info("Outbox worker stopped")
    return 0
