"""The one pure-ASGI middleware around the whole application.

It wraps even routing, so 404s, 405s and CORS preflights get the same headers as
any other response: ``X-Request-ID`` (the client's, when it is 1 to 128 visible
ASCII characters, else a fresh one), ``X-Process-Time`` (seconds) and the
:data:`SECURITY_HEADERS` (``X-Content-Type-Options: nosniff`` among them). When
``ALLOWED_HOSTS`` is set it also refuses other ``Host`` headers (400). It is on every
request's path, so it does the least it can: no Request object, no header parsing
beyond one scan.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from time import perf_counter
from typing import TYPE_CHECKING

import msgspec

from entrypoints.http.problems import PROBLEM_MEDIA_TYPE
from entrypoints.http.schemas import Problem

if TYPE_CHECKING:
    from litestar.types import (
        ASGIApp,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Message,
        Receive,
        Scope,
        Send,
    )

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    # Nothing here is meant to be framed (clickjacking), and no URL leaks in a Referer.
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
"""The current request's id, for log records."""


def new_request_id() -> bytes:
    return secrets.token_hex(16).encode()


class HostPolicy:
    """Which ``Host`` headers are served: exact names, ``*.example.com`` suffixes, or ``*``."""

    __slots__ = ("_exact", "_suffixes")

    def __init__(self, hosts: Iterable[str]) -> None:
        patterns = [host.strip().lower().encode() for host in hosts if host.strip()]
        self._exact = frozenset(p for p in patterns if not p.startswith(b"*"))
        self._suffixes = tuple(p[1:] for p in patterns if p.startswith(b"*"))

    def allows(self, host: bytes | None) -> bool:
        if host is None:
            return False
        name = host.lower()
        # A port follows the name; an IPv6 literal keeps its own colons inside brackets.
        name = name.partition(b"]")[0] + b"]" if name.startswith(b"[") else name.partition(b":")[0]
        return name in self._exact or any(name.endswith(suffix) for suffix in self._suffixes)


class RequestContextMiddleware:
    """Request id, process time and security headers on every HTTP response; optional host check.

    ``allow_by_handler`` corrects the ``Allow`` header of Litestar's automatic OPTIONS
    responses, which lists only the methods of the first handler registered on a path
    (litestar-org/litestar#4169, fixed in Litestar 3): it maps the id of each automatic
    OPTIONS handler to the methods its path really serves.
    """

    __slots__ = ("allow_by_handler", "app", "hosts")

    def __init__(
        self,
        app: ASGIApp,
        hosts: HostPolicy | None = None,
        allow_by_handler: Mapping[int, bytes] | None = None,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.allow_by_handler = allow_by_handler or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id: bytes | None = None
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                if request_id is None and _VALID_REQUEST_ID.fullmatch(value):
                    request_id = value
            elif name == b"host":
                host = value
        if request_id is None:
            request_id = new_request_id()
        token = request_id_var.set(request_id.decode("ascii"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers")
                headers = list(headers) if headers is not None else []
                headers.append((REQUEST_ID_HEADER, request_id))
                headers.append((b"x-process-time", b"%.6f" % (perf_counter() - started)))
                headers.extend(SECURITY_HEADERS)
                if scope.get("method") == "OPTIONS":
                    headers = self._corrected_allow(scope, headers)
                message["headers"] = headers
            await send(message)

        try:
            if self.hosts is not None and not self.hosts.allows(host):
                await _refuse_host(scope, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)

    def _corrected_allow(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        allow = self.allow_by_handler.get(id(scope.get("route_handler")))
        if allow is None:
            return headers
        return [(name, allow if name.lower() == b"allow" else value) for name, value in headers]


def allow_by_options_handler(routes: Iterable[object]) -> dict[int, bytes]:
    """For each automatic OPTIONS handler, the methods its path serves (``Allow``)."""
    allow: dict[int, bytes] = {}
    for route in routes:
        methods = getattr(route, "methods", None)
        for handler in getattr(route, "route_handlers", ()):
            if methods and set(handler.http_methods) == {"OPTIONS"}:
                allow[id(handler)] = ", ".join(sorted(methods)).encode()
    return allow


async def _refuse_host(scope: Scope, send: Send) -> None:
    # Answered before routing, without a Request: the same Problem, encoded here.
    body = msgspec.json.encode(
        Problem(
            title=HTTPStatus.BAD_REQUEST.phrase,
            status=HTTPStatus.BAD_REQUEST,
            detail="The Host header names a host this service does not serve",
            instance=scope["path"],
        )
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 400,
        "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)
