"""uvicorn's httptools protocol with the limits it lacks, and its own errors as problems.

uvicorn's httptools mode (the fastest it has) puts no bound on a request head and no
deadline on reading a request: one client trickling a byte a second holds a
connection (and its memory) for ever, and an 8 MiB header is buffered whole. This
subclass adds, per connection:

- a read deadline of ``REQUEST_READ_TIMEOUT_SECONDS``: from the connection's opening,
  or a request's first byte, until the request's last byte (head and body). A request
  still incomplete by then gets a 408 problem (when no response has started) and the
  connection is closed. Time spent by the application, and idle keep-alive time
  (uvicorn's own 5 s timeout), do not count;
- a cap on the request head: :data:`MAX_HEAD_BYTES` (the request line and the header
  block) and :data:`MAX_HEADERS` header lines, else 431 and the connection closed;
- problem+json (with the request id and security headers) instead of uvicorn's
  text/plain "Invalid HTTP request received." for requests httptools cannot parse.

What uvicorn still answers itself: its 500 when the application fails before starting
a response (Litestar's handlers answer every exception first, so that takes a bug in
the server stack; the outer middleware answers with a problem what escapes Litestar),
and its 503 when ``limit_concurrency`` is reached (not set here). WebSockets are off
(``ws="none"``; no route uses them): an ``Upgrade`` request is served as plain HTTP and
its connection closed after the response.
Each response's head is written with its first body bytes (``response_writes.py``).
Only uvicorn's internals this relies on are its parser callbacks, ``cycle``,
``transport``, ``_start_asgi_task`` and the cycle's ``send`` and ``transport``;
tests/http/test_server_limits.py runs it against real sockets.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

import httptools
import msgspec
from uvicorn._types import ASGI3Application
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from entrypoints.http.problems import PROBLEM_MEDIA_TYPE
from entrypoints.http.request_context import REQUEST_ID_HEADER, SECURITY_HEADERS, new_request_id
from entrypoints.http.response_writes import HeadWithFirstBody
from entrypoints.http.schemas.common import Problem

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
"""Request line plus header block: the contract's 16 KiB."""
MAX_HEADERS = 100
"""Header lines per request (Apache's ``LimitRequestFields``)."""
_PRINTABLE_PATH = re.compile(rb"/[\x21-\x3e\x40-\x7e]{0,2047}")

_TICK_SECONDS = 1.0
Phase = Literal["idle", "head", "body"]


@dataclass(frozen=True)
class ProtocolLimits:
    """What one connection may take; picklable, so worker processes get it too."""

    read_timeout_seconds: float
    max_head_bytes: int = MAX_HEAD_BYTES
    max_headers: int = MAX_HEADERS


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request being refused."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with a read deadline and a capped request head.

    The deadline costs next to nothing per request: a request records when it began,
    and each connection checks once a second (not one timer per request: that showed
    in the per-request cost). A request may so run up to a second over the deadline.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ProtocolLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._phase: Phase = "idle"
        self._read_started: float | None = None  # loop time; None while nothing is read
        self._tick: asyncio.TimerHandle | None = None
        self._head_received = 0  # raw bytes received while the head was incomplete
        self._chunk_size = 0  # of the data being parsed
        self._refusal: tuple[HTTPStatus, str] | None = None

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        # A connection that never sends a request is cut off too.
        self._read_started = self.loop.time()
        self._tick = self.loop.call_later(_TICK_SECONDS, self._check_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_ticking()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        self._chunk_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # WebSockets are off (ws="none"): the request is served as plain HTTP, but the
            # parser reads nothing more on this connection, so it ends with the response.
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                self.transport.close()
            else:
                cycle.keep_alive = False
            return
        except httptools.HttpParserError:
            status, detail = self._refusal or (
                HTTPStatus.BAD_REQUEST,
                "The request is not valid HTTP/1.1",
            )
            logger.info("Refused a request from %s: %s", self._client_text(), detail)
            self._answer_and_close(status, detail)
            return
        if self._phase == "head":
            # A line still arriving (one 8 MiB header) is buffered by the parser: count it.
            self._head_received += len(data)
            if self._head_received > self.limits.max_head_bytes:
                self._answer_and_close(*self._head_too_large())

    # --- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"
        self._head_received = 0
        self._read_started = self.loop.time()

    def on_headers_complete(self) -> None:
        # Checked once the head is parsed (cheaper than per header line); a head that
        # never completes is bounded by data_received's count.
        headers = self.headers
        if len(headers) > self.limits.max_headers:
            self._refusal = (
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"A request may carry at most {self.limits.max_headers} header lines",
            )
            raise _Refused
        limit = self.limits.max_head_bytes
        # Received so far bounds the head's size: the exact sum only for large heads.
        if self._head_received + self._chunk_size > limit and (
            len(self.url) + sum(len(name) + len(value) + 4 for name, value in headers) > limit
        ):
            self._refusal = self._head_too_large()
            raise _Refused
        self._phase = "body"
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # One write per small response instead of two (response_writes.py).
        cycle.send = HeadWithFirstBody(cycle)  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)

    def on_message_complete(self) -> None:
        self._phase = "idle"
        self._read_started = None
        super().on_message_complete()

    def _head_too_large(self) -> tuple[HTTPStatus, str]:
        return (
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"The request line and headers exceed {self.limits.max_head_bytes} bytes",
        )

    # --- the read deadline --------------------------------------------------------------

    def _check_deadline(self) -> None:
        started = self._read_started
        if started is not None and self.loop.time() - started >= self.limits.read_timeout_seconds:
            self._tick = None
            self._read_timed_out()
        elif not self.transport.is_closing():
            self._tick = self.loop.call_later(_TICK_SECONDS, self._check_deadline)

    def _stop_ticking(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _read_timed_out(self) -> None:
        if self.transport.is_closing():
            return
        phase = self._phase
        cycle = self.cycle if phase == "body" else None
        logger.info("Closed a connection from %s: request not read in time", self._client_text())
        if phase == "idle":
            # Nothing was ever sent: nobody to answer.
            self.transport.close()
        elif cycle is not None and cycle.response_started:
            self.transport.close()
        elif phase == "head" and self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request behind a response still being written: no room for ours.
            self.transport.close()
        else:
            if cycle is not None:
                # The application, waiting for the body, sees a disconnect; whatever it
                # answers is dropped.
                cycle.disconnected = True
                cycle.message_event.set()
            self._answer_and_close(
                HTTPStatus.REQUEST_TIMEOUT,
                f"The request was not received within {self.limits.read_timeout_seconds:g} s",
            )

    # --- answers of our own -------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(HTTPStatus.BAD_REQUEST, msg)

    def _answer_and_close(self, status: HTTPStatus, detail: str) -> None:
        """A problem+json response written on the socket, then the connection closed."""
        self._stop_ticking()
        self._phase = "idle"
        self._read_started = None
        if self.transport.is_closing():
            return
        body = msgspec.json.encode(
            Problem(title=status.phrase, status=status, detail=detail, instance=self._instance())
        )
        lines = [STATUS_LINE[status]]
        headers = [
            *self.server_state.default_headers,
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (REQUEST_ID_HEADER, new_request_id()),
            *SECURITY_HEADERS,
        ]
        lines.extend(b"%s: %s\r\n" % header for header in headers)
        lines.append(b"\r\n")
        lines.append(body)
        self.transport.write(b"".join(lines))
        self.transport.close()

    def _instance(self) -> str:
        url = getattr(self, "url", b"")
        path = url.partition(b"?")[0]
        return path.decode("ascii") if _PRINTABLE_PATH.fullmatch(path) else "/"

    def _client_text(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown client"
