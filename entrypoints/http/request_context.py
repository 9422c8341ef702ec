"""The one pure-ASGI middleware around the whole application.

It wraps even routing, so 404s, 405s and CORS preflights get the same headers as
any other response: ``X-Request-ID`` (the client's, when it is 1 to 128 visible
ASCII characters, else a fresh one), ``X-Process-Time`` (seconds) and the
:data:`SECURITY_HEADERS` (``X-Content-Type-Options: nosniff`` among them). It answers
HEAD as the GET of the same route, without the body. Before routing it refuses a
request with two ``Host`` headers, or (when ``ALLOWED_HOSTS`` is set) a host not
served (400), and a CORS preflight that CORS would not allow (403). It is on every
request's path, so it does the least it can: no Request object, no header parsing
beyond one scan.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from time import perf_counter
from typing import TYPE_CHECKING

import msgspec
from litestar.enums import ScopeType

from entrypoints.http.cors import PreflightPolicy
from entrypoints.http.problems import HEAD_REQUEST, PROBLEM_MEDIA_TYPE, allow_value
from entrypoints.http.schemas.common import Problem

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

logger = logging.getLogger(__name__)

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
    """32 random hex digits: unique enough to find a request's log lines, not a secret.

    The module's Mersenne Twister (seeded from the OS, reseeded in every forked
    worker) instead of ``secrets``: a ``getrandom`` system call per request was 7 % of
    ``/health``'s CPU time (tests/benchmarks/RESULTS.md, issue 16).
    """
    return b"%032x" % random.getrandbits(128)


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

    __slots__ = ("allow_by_handler", "app", "hosts", "preflights")

    def __init__(
        self,
        app: ASGIApp,
        hosts: HostPolicy | None = None,
        allow_by_handler: Mapping[int, bytes] | None = None,
        preflights: PreflightPolicy | None = None,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.allow_by_handler = allow_by_handler or {}
        self.preflights = preflights or PreflightPolicy(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        method = scope["method"]
        request_id: bytes | None = None
        hosts: list[bytes] = []
        origin: bytes | None = None
        preflight_method: bytes | None = None
        preflight_headers: bytes | None = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                if request_id is None and _VALID_REQUEST_ID.fullmatch(value):
                    request_id = value
            elif name == b"host":
                hosts.append(value)
            elif method == "OPTIONS":
                if name == b"origin":
                    origin = value
                elif name == b"access-control-request-method":
                    preflight_method = value
                elif name == b"access-control-request-headers":
                    preflight_headers = value
        if request_id is None:
            request_id = new_request_id()
        token = request_id_var.set(request_id.decode("ascii"))
        head = method == "HEAD"
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = message.get("headers")
                headers = list(headers) if headers is not None else []
                headers.append((REQUEST_ID_HEADER, request_id))
                headers.append((b"x-process-time", b"%.6f" % (perf_counter() - started)))
                headers.extend(SECURITY_HEADERS)
                if method == "OPTIONS":
                    headers = self._corrected_allow(scope, headers)
                message["headers"] = headers
            elif head and message["type"] == "http.response.body":
                # The GET's status and headers (Content-Length included), never its body.
                message = {**message, "body": b""}
            await send(message)

        try:
            refusal = self._refusal(hosts, origin, preflight_method, preflight_headers)
            if refusal is not None:
                await _refuse(scope, send_with_headers, *refusal)
            elif head:
                # Every GET route answers HEAD: routed as the GET, body dropped above.
                # The server's own scope keeps "HEAD", so it writes no body either.
                as_get = {**scope, "method": "GET", HEAD_REQUEST: True}
                await self.app(as_get, receive, send_with_headers)  # type: ignore[arg-type]
            else:
                await self.app(scope, receive, send_with_headers)
            if not response_started:
                raise RuntimeError("the application returned without starting a response")
        except Exception:
            if response_started:
                raise
            # Litestar answers whatever its handlers raise; what escapes it (its middleware
            # stack) would get uvicorn's text/plain 500 instead of a problem.
            logger.exception("Unhandled error outside the handlers on %s %s", method, scope["path"])
            await _refuse(
                scope,
                send_with_headers,
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "An unexpected error occurred",
            )
        finally:
            request_id_var.reset(token)

    def _refusal(
        self,
        hosts: list[bytes],
        origin: bytes | None,
        preflight_method: bytes | None,
        preflight_headers: bytes | None,
    ) -> tuple[HTTPStatus, str] | None:
        """The status and detail a request is refused with before routing, if it is."""
        if len(hosts) > 1:
            # Proxies and the app could each read a different one (request smuggling).
            return HTTPStatus.BAD_REQUEST, "A request must carry exactly one Host header"
        if self.hosts is not None and not self.hosts.allows(hosts[0] if hosts else None):
            return (
                HTTPStatus.BAD_REQUEST,
                "The Host header names a host this service does not serve",
            )
        if origin is not None:
            detail = self.preflights.refusal(origin, preflight_method, preflight_headers)
            if detail is not None:
                return HTTPStatus.FORBIDDEN, detail
        return None

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
                allow[id(handler)] = allow_value(methods).encode()
    return allow


async def _refuse(scope: Scope, send: Send, status: HTTPStatus, detail: str) -> None:
    # Answered before routing, without a Request: the same Problem, encoded here.
    body = msgspec.json.encode(
        Problem(title=status.phrase, status=status, detail=detail, instance=scope["path"])
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)
