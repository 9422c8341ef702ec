"""``storefront serve``: prepare the embedded database, then run uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import signal
import socket
from collections.abc import Iterator
from types import FrameType
from typing import cast

from entrypoints.commands.common import EXIT_USAGE, CommandError, prepare_database_in_child
from entrypoints.guard_rails import check_production_start
from entrypoints.metrics import private_multiprocess_directory
from entrypoints.settings import Settings
from entrypoints.shutdown import drain_seconds

ASGI_FACTORY = "entrypoints.http.asgi:create_app_from_environment"


MAX_PORT = 65535


def serve(settings: Settings, host: str, port: int, workers: int, access_log: bool | None) -> int:
    import uvicorn

    from entrypoints.http.protocol import GuardedHttpToolsProtocol, ProtocolLimits

    if workers < 1:
        raise CommandError("--workers must be at least 1", EXIT_USAGE)
    if not 1 <= port <= MAX_PORT:
        raise CommandError(f"--port must be from 1 to {MAX_PORT}, got {port}", EXIT_USAGE)
    check_production_start(settings, workers=workers)
    _check_port_is_free(host, port)
    if access_log is not None:
        # Every worker reads its settings from the environment it inherits.
        os.environ["ACCESS_LOG"] = "true" if access_log else "false"
    prepare_database_in_child(settings)
    limits = ProtocolLimits(read_timeout_seconds=settings.request_read_timeout_seconds)
    with _metrics_directory(settings), _sigterm_unwinds():
        uvicorn.run(
            ASGI_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            # httptools with the read deadline and head limits uvicorn lacks (protocol.py).
            # uvicorn only calls `http` to make a protocol, so a partial serves as the class
            # its signature names.
            http=cast(
                "type[asyncio.Protocol]", functools.partial(GuardedHttpToolsProtocol, limits=limits)
            ),
            # No route uses WebSockets: their protocol (and its own limits) is not offered.
            ws="none",
            # Logging is configured by configure_logging; X-Forwarded-For is trusted only from
            # TRUSTED_PROXIES, by the application itself.
            # The application writes its own access log (storefront.access), with the route,
            # the real client address and the user.
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            # In-flight requests get this long after SIGTERM, then are cancelled (a client
            # stalled half-way through its body included): the stop is bounded.
            # uvicorn annotates it `int` but hands it to asyncio as a timeout, where a fraction
            # of a second is kept.
            timeout_graceful_shutdown=cast("int", drain_seconds(settings.shutdown_timeout_seconds)),
        )
    return 0


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM ends the process by an exception, so that what ``serve`` set up is undone.

    uvicorn stops gracefully on SIGTERM, then sends the signal again to the handler it
    found. The default one kills the process on the spot: the metrics directory stayed
    behind in /tmp on every stop by a service manager or a container runtime. This one
    raises ``SystemExit(143)`` (128 + SIGTERM, the status a shell reports) instead.
    """

    def exit_now(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _metrics_directory(settings: Settings) -> contextlib.AbstractContextManager[object]:
    """This run's private metrics directory, made before any worker starts (they inherit it)."""
    if not settings.metrics_enabled:
        return contextlib.nullcontext()
    return private_multiprocess_directory()


def _check_port_is_free(host: str, port: int) -> None:
    """Fail with one line now, rather than with uvicorn's traceback-free log line later."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _, address = addresses[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a previous run is not "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
