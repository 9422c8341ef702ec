"""``storefront seed-demo``: a demo catalogue, with a progress bar."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from application.ports.common import DependencyUnavailable
from entrypoints.commands.common import CommandError, container_for_command
from entrypoints.demo import demo_catalogue
from entrypoints.settings import Settings

DEFAULT_DEMO_PRODUCTS = 200


async def seed_demo(settings: Settings, count: int, categories: int, stock: int | None) -> int:
    container = await asyncio.to_thread(container_for_command, settings)
    bar = ProgressBar(sys.stderr, label="Seeding products")
    try:
        items = demo_catalogue(count, container.clock.now, categories=categories, stock=stock)
        added = await container.catalogue_loader().load(items, bar.update, count)
    except DependencyUnavailable as error:
        raise CommandError(error.detail) from error
    finally:
        bar.finish()
        await container.close()
    sys.stdout.write(f"Added {added} demo product(s); {count - added} were already there.\n")
    return 0


class ProgressBar:
    """A one-line text progress bar (redrawn in place on a terminal)."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._drawn = False
        self._interactive = stream.isatty()

    def update(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        line = f"{self._label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        self._stream.write(("\r" if self._interactive else "") + line)
        if not self._interactive:
            self._stream.write("\n")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn and self._interactive:
            self._stream.write("\n")
            self._stream.flush()
