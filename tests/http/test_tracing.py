"""Tracing: request, SQL and outbox-delivery spans, linked up, and trace ids in the logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from entrypoints.http.exchanges import ACCESS_LOGGER
from entrypoints.tracing import configure_tracing
from tests.http.conftest import PASSWORD, Api, cheap_hasher, http_client, make_settings
from tests.http.log_capture import captured


@dataclass
class Traced:
    api: Api
    spans: InMemorySpanExporter

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if span.name == name]


@pytest.fixture
async def traced(migrated_sqlite_url: str) -> AsyncIterator[Traced]:
    settings = make_settings(DATABASE_URL=migrated_sqlite_url)
    exporter = InMemorySpanExporter()
    tracing = configure_tracing(settings, exporter=exporter, set_global=False)
    assert tracing is not None
    container = build_container(settings, hasher=cheap_hasher(), tracing=tracing)
    app = create_app(container, tracing=tracing)
    try:
        async with http_client(app) as http:
            api = Api(http=http, app=app, container=container, backend="sqlite")
            yield Traced(api=api, spans=exporter)
    finally:
        await container.close()
        tracing.shutdown()


async def test_a_request_is_a_server_span_named_by_its_route_with_its_sql_inside(
    traced: Traced,
) -> None:
    response = await traced.api.http.get("/api/v1/products/12345")

    assert response.status_code == 404
    (server,) = traced.named("GET /api/v1/products/{product_id}")
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/v1/products/{product_id}"
    statements = [
        span
        for span in traced.spans.get_finished_spans()
        if span.kind is SpanKind.CLIENT and span.attributes and "db.statement" in span.attributes
    ]
    assert statements
    assert {span.context.trace_id for span in statements} == {server.context.trace_id}
    assert all(span.parent is not None for span in statements)


async def test_an_outbox_delivery_is_a_span_linked_to_the_request_that_queued_it(
    traced: Traced,
) -> None:
    registered = await traced.api.register("ann@example.com", PASSWORD)
    assert registered.status_code == 201
    (register,) = traced.named("POST /api/v1/auth/register")

    assert await traced.api.container.deliver_outbox.execute() == 1

    (delivery,) = traced.named("outbox delivery")
    assert delivery.kind is SpanKind.CONSUMER
    # Delivered later, by whichever process: a trace of its own, linked to the request.
    assert delivery.context.trace_id != register.context.trace_id
    assert [link.context.span_id for link in delivery.links] == [register.context.span_id]


async def test_log_lines_of_a_traced_request_carry_its_trace_id(traced: Traced) -> None:
    with captured(ACCESS_LOGGER) as log:
        await traced.api.http.get("/health")

    (entry,) = log.entries()
    (server,) = traced.named("GET /health")
    assert entry["trace_id"] == format(server.context.trace_id, "032x")


@pytest.mark.parametrize(
    ("variables", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
    ],
)
def test_nothing_is_traced_unless_the_otel_variables_ask(
    variables: dict[str, str], enabled: bool
) -> None:
    settings = make_settings(**variables)

    assert settings.tracing_enabled is enabled
    if not enabled:
        assert configure_tracing(settings) is None
