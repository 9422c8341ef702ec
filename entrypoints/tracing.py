"""OpenTelemetry tracing, on only when the standard ``OTEL_*`` variables ask for it.

It needs the optional extra (``pip install 'storefront[tracing]'``). With
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
``OTEL_TRACES_EXPORTER``) set, each process exports, over OTLP/HTTP (or to the console
with ``OTEL_TRACES_EXPORTER=console``):

- a server span per request, named ``METHOD /route/{template}`` once routed (by
  :class:`SpanRoute`, as the response starts), with ``http.route`` and ``enduser.id``;
- a span per SQL statement (the SQLAlchemy instrumentation, on the engine);
- a span per outbox delivery (:class:`TracedMailer`), linked to the request that
  queued the message when it was queued under a trace.

Every other ``OTEL_*`` variable (service name, resource attributes, sampler, headers,
timeouts) is the SDK's to read; those given in ``.env`` are passed on to it too. Log
records carry the current ``trace_id`` (:func:`entrypoints.logs.set_trace_id_source`).
Without the variables nothing here is imported and nothing is exported.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType

from entrypoints.http.exchanges import UNMATCHED_ROUTE, method_label, routed_scope_holder
from entrypoints.logs import set_trace_id_source
from entrypoints.version import VERSION

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

    from application.ports.notifications import EmailMessage, Mailer
    from entrypoints.settings import Settings

logger = logging.getLogger(__name__)

SERVICE_NAME = "storefront"
INSTALL_HINT = "pip install 'storefront[tracing]'"


class Tracing:
    """A process's tracer provider, and what it instruments."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("storefront", VERSION)

    def wrap_asgi(self, app: ASGIApp) -> ASGIApp:
        """The outermost layer: one server span per request, from the W3C headers on."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        middleware: ASGIApp = OpenTelemetryMiddleware(  # type: ignore[assignment]
            SpanRoute(app),
            # The raw path would make a name per product id: SpanRoute names it once routed.
            default_span_details=_method_only,
            exclude_spans=["receive", "send"],
            tracer_provider=self.provider,
        )
        return middleware

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per SQL statement run on ``engine`` (and on it only).

        The instrumentation's EngineTracer, not its instrumentor: the instrumentor is a
        process-wide singleton that also patches ``create_engine`` everywhere, and it
        declares "sqlalchemy < 2.1" although the cursor events it hooks are unchanged.
        """
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.instrumentation.sqlalchemy.version import __version__ as version
        from opentelemetry.metrics import get_meter

        tracer = self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", version)
        connections = get_meter(__name__).create_up_down_counter(
            "db.client.connections.usage", unit="connections"
        )
        EngineTracer(  # type: ignore[no-untyped-call]
            tracer, engine.sync_engine, connections, enable_commenter=False
        )

    def mailer(self, mailer: Mailer) -> Mailer:
        return TracedMailer(mailer, self.tracer)

    def shutdown(self) -> None:
        """Export what is still buffered (the process is stopping)."""
        self.provider.shutdown()


def configure_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None, set_global: bool = True
) -> Tracing | None:
    """The process's tracing, or None when the settings do not ask for it.

    ``exporter`` replaces the one the variables choose (tests pass an in-memory one).
    """
    if exporter is None and not settings.tracing_enabled:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_* variables ask for tracing but OpenTelemetry is not installed (%s): "
            "nothing is traced",
            INSTALL_HINT,
        )
        return None
    # The SDK reads its own variables from the environment; .env ones count too.
    for name, value in settings.otel_variables:
        os.environ.setdefault(name, value)
    resource = Resource.create({"service.version": VERSION})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter_from_environment()))
    if set_global:
        trace.set_tracer_provider(provider)
    set_trace_id_source(_current_trace_id)
    return Tracing(provider)


def _exporter_from_environment() -> SpanExporter:
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip().lower()
    if chosen == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if chosen != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported; exporting over OTLP", chosen)
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") != "http/protobuf":
        logger.warning("Only OTLP over HTTP (http/protobuf) is supported; using it")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _method_only(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method", "HTTP")), {}


def _current_trace_id() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class SpanRoute:
    """Names the request's server span after its route template as the response starts.

    The instrumentation knows only the raw path when it starts the span, and ends it
    with the response: the template is known in between, once Litestar has routed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        routed = routed_scope_holder(scope)

        async def name_the_span(message: Message) -> None:
            if message["type"] == "http.response.start":
                _name_span(method, routed[0])
            await send(message)

        await self.app(scope, receive, name_the_span)


def _name_span(method: str, routed: Scope) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    if not span.is_recording():
        return
    route = routed.get("path_template") or UNMATCHED_ROUTE
    span.update_name(f"{method_label(method)} {route}")
    span.set_attribute("http.route", route)
    user_id = getattr(routed.get("user"), "id", None)
    if user_id is not None:
        span.set_attribute("enduser.id", str(user_id))


class TracedMailer:
    """A mailer whose every delivery is a span, linked to the request that queued it."""

    def __init__(self, mailer: Mailer, tracer: Tracer) -> None:
        self._mailer = mailer
        self._tracer = tracer

    async def send(self, message: EmailMessage) -> None:
        from opentelemetry.trace import SpanKind

        with self._tracer.start_as_current_span(
            "outbox delivery",
            kind=SpanKind.CONSUMER,
            links=_links(message.traceparent),
            attributes={
                "messaging.system": "storefront.outbox",
                "messaging.operation.type": "process",
                "messaging.message.id": message.message_id,
            },
        ):
            await self._mailer.send(message)


def _links(traceparent: str | None) -> list[Any]:
    """A link to the span a W3C ``traceparent`` names, if it names one."""
    if not traceparent:
        return []
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    span_context = trace.get_current_span(context).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []
