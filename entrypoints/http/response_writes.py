"""A response's head written together with its first body bytes: one write, not two.

uvicorn writes the status line and headers as soon as the application sends
``http.response.start``, then the body when it sends ``http.response.body``: two
``send()`` system calls and two TCP segments for every small JSON answer. Holding the
head until the body arrives joins them: +5.7 % requests a second on ``/health`` side by
side, the server's own CPU time per request unchanged (the saving is in the kernel and
the client; tests/benchmarks/RESULTS.md, item 28). Nothing else changes: the bytes on the wire
are the same, in the same order, and a head whose body never comes (the client went
away, the application failed) is never written, as a head alone would have been
followed by a closed connection anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

JOIN_LIMIT = 64 * 1024
"""Bodies up to this size are copied after the head; larger ones are written after it."""


class HeadWithFirstBody:
    """The ``send`` a response cycle hands the application (it replaces the cycle's own).

    While the cycle writes the head, its transport is this object, which keeps the
    bytes; while it writes the first body message, its transport is a
    :class:`_HeadFirst`, which puts them in front.
    """

    __slots__ = ("_cycle", "_head", "_send")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = cycle
        self._send = cycle.send
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        self._head = data

    async def __call__(self, message: Any) -> None:
        cycle = self._cycle
        transport = cycle.transport
        head = self._head
        if head is not None:
            self._head = None
            joined = _HeadFirst(transport, head)
            cycle.transport = joined  # type: ignore[assignment]
            try:
                await self._send(message)
            finally:
                cycle.transport = transport
            # A HEAD response writes no body; the head still goes out.
            joined.flush()
        elif message["type"] == "http.response.start" and not cycle.response_started:
            cycle.transport = self  # type: ignore[assignment]
            try:
                await self._send(message)
            finally:
                cycle.transport = transport
        else:
            await self._send(message)


class _HeadFirst:
    """The transport while the first body message is written: the head goes first."""

    __slots__ = ("_head", "_transport")

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self._transport = transport
        self._head: bytes | None = head

    def write(self, data: bytes) -> None:
        head = self._head
        if head is None:
            self._transport.write(data)
            return
        self._head = None
        if len(data) <= JOIN_LIMIT:
            self._transport.write(head + data)
        else:
            self._transport.write(head)
            self._transport.write(data)

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def close(self) -> None:
        # A response that ends its connection (Connection: close) closes right after
        # its last body bytes; the head must precede that.
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()
