"""The W3C ``traceparent`` of the span running now, kept with outbox messages.

An outbox message is delivered later, by whichever process claims it; the delivery
span links back to the request that queued the message through this value. Without
OpenTelemetry installed, or with no trace running, there is none.
"""

from __future__ import annotations

try:
    from opentelemetry import trace
except ImportError:  # the optional extra is not installed
    trace = None  # type: ignore[assignment]


def current_traceparent() -> str | None:
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
