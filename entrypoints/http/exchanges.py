"""What each request and its response looked like, handed to the access log and the metrics.

:class:`ExchangeObserver` is a pure-ASGI middleware outside every other one (the
request context and the host check included), so every answer is seen: routed or
not, refused or failed. It reads only what the response start carries (the status,
and the ``X-Request-ID`` the request context added) and what Litestar left in the
scope it routed (the route template, the authenticated user), which
:func:`report_routed_scope`, innermost, hands back: the request context routes a HEAD
as a GET in a copy of the scope. Each :class:`ExchangeSink` then takes what it needs.
With no sink neither is installed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol, cast

from litestar.enums import ScopeType

from entrypoints.http.request_context import REQUEST_ID_HEADER
from entrypoints.http.security import client_address

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

_ROUTED = "storefront.routed_scope"
"""Scope key of a one-item list: the scope the application routed (a copy, for HEAD)."""
UNMATCHED_ROUTE = "unmatched"
"""The route of a request no route matched (404, 405): raw paths would be unbounded."""
ACCESS_LOGGER = "storefront.access"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, as observed from outside the application."""

    method: str
    """As the client sent it."""
    route: str
    """The route template (``/api/v1/products/{product_id}``), never the raw path."""
    path: str
    status: int
    seconds: float
    request_id: str
    scope: Scope
    """The scope the application routed: the path template and the user are in it."""

    @property
    def method_label(self) -> str:
        return method_label(self.method)

    @property
    def user_id(self) -> int | None:
        user = self.scope.get("user")
        return getattr(user, "id", None)


def method_label(method: str) -> str:
    """The method, or ``OTHER`` for one the API does not know (labels stay bounded)."""
    return method if method in _KNOWN_METHODS else "OTHER"


def routed_scope_holder(scope: Scope) -> list[Scope]:
    """Where :func:`report_routed_scope` leaves the scope the application routed."""
    holder = cast("list[Scope] | None", scope.get(_ROUTED))
    if holder is None:
        holder = [scope]
        scope[_ROUTED] = holder  # type: ignore[literal-required]
    return holder


class ExchangeSink(Protocol):
    def record(self, exchange: Exchange) -> None: ...


class ExchangeObserver:
    """Times each HTTP exchange and hands it to every sink once the response is sent."""

    __slots__ = ("app", "sinks")

    def __init__(self, app: ASGIApp, sinks: Sequence[ExchangeSink]) -> None:
        self.app = app
        self.sinks = tuple(sinks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        method = scope["method"]
        path = scope["path"]  # Litestar rewrites it for mounted apps
        status = 500
        request_id = ""
        routed = routed_scope_holder(scope)

        async def observe_start(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                # The request context adds it (the last one, should there be two).
                for name, value in message.get("headers") or ():
                    if name == REQUEST_ID_HEADER:
                        request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, observe_start)
        finally:
            app_scope = routed[0]
            exchange = Exchange(
                method=method,
                route=app_scope.get("path_template") or UNMATCHED_ROUTE,
                path=path,
                status=status,
                seconds=perf_counter() - started,
                request_id=request_id,
                scope=app_scope,
            )
            for sink in self.sinks:
                sink.record(exchange)


def report_routed_scope(app: ASGIApp) -> ASGIApp:
    """Wraps the application itself: tells the observer which scope it was given."""

    async def report(scope: Scope, receive: Receive, send: Send) -> None:
        routed = cast("list[Scope] | None", scope.get(_ROUTED))
        if routed is not None:
            routed[0] = scope
        await app(scope, receive, send)

    return report


class AccessLog:
    """One ``storefront.access`` record per request, with every field of the exchange.

    In JSON (``LOG_FORMAT=json``) the fields are keys of the object; on the console
    they are in the message. The query string is left out: it is the client's to
    fill, and links carry tokens there.
    """

    __slots__ = ("_logger", "_trusted_proxies")

    def __init__(self, trusted_proxies: tuple[str, ...]) -> None:
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._trusted_proxies = trusted_proxies

    def record(self, exchange: Exchange) -> None:
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        fields: dict[str, Any] = {
            "method": exchange.method,
            "route": exchange.route,
            "path": exchange.path,
            "status": exchange.status,
            "duration_ms": round(exchange.seconds * 1000, 3),
            "client": client_address(exchange.scope, self._trusted_proxies),
            "request_id": exchange.request_id,
            "user_id": exchange.user_id,
        }
        logger.info(
            "%s %s %s %.1f ms client=%s user=%s",
            fields["method"],
            exchange.path,
            exchange.status,
            fields["duration_ms"],
            fields["client"],
            fields["user_id"] if fields["user_id"] is not None else "-",
            # The request is over: its id comes with the record, not from the context.
            extra={"fields": fields, "request_id": exchange.request_id or "-"},
        )
