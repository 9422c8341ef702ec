"""How ``SHUTDOWN_TIMEOUT_SECONDS`` is shared between the stages of a graceful stop.

On SIGTERM the server stops accepting, lets in-flight requests finish for
:func:`drain_seconds`, then cancels whatever is left (a client stalled half-way
through its body included) and runs the application's shutdown: the outbox pass in
progress gets :func:`background_stop_seconds`, then pools are closed. The two add up
to less than the whole, which leaves room for closing connections.
"""

from __future__ import annotations

DRAIN_SHARE = 0.6
BACKGROUND_SHARE = 0.25


def drain_seconds(shutdown_timeout: float) -> float:
    """How long in-flight requests may take to finish after SIGTERM."""
    return shutdown_timeout * DRAIN_SHARE


def background_stop_seconds(shutdown_timeout: float) -> float:
    """How long the outbox pass in progress may take to finish after SIGTERM."""
    return shutdown_timeout * BACKGROUND_SHARE
