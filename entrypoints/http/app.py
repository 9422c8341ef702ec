"""The Litestar application: controllers, security, errors, docs, and HTTP-wide settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Tag
from litestar.types import ControllerRouterHandler

from entrypoints.container import Container
from entrypoints.http.compression import GzipResponses
from entrypoints.http.controllers.auth import LOGIN_PATH, AuthController
from entrypoints.http.controllers.email_links import EmailLinksController
from entrypoints.http.controllers.health import HealthController
from entrypoints.http.controllers.metrics import METRICS_SAMPLER_STATE, scrape_metrics
from entrypoints.http.controllers.orders import OrderController
from entrypoints.http.controllers.products import ProductController
from entrypoints.http.controllers.sessions import SessionController
from entrypoints.http.controllers.users import ProfileController, UserAdminController
from entrypoints.http.cors import PreflightPolicy
from entrypoints.http.docs import DOCS_HANDLERS, OPENAPI_JSON, OPENAPI_PATH, docs_assets_router
from entrypoints.http.exchanges import (
    AccessLog,
    ExchangeObserver,
    ExchangeSink,
    report_routed_scope,
)
from entrypoints.http.inputs import edge_inputs
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.request_context import (
    HostPolicy,
    RequestContextMiddleware,
    allow_by_options_handler,
)
from entrypoints.http.schemas.common import closed_struct_names
from entrypoints.http.security import PUBLIC, bearer_auth
from entrypoints.metrics import MetricsSampler, metrics, process_stopped
from entrypoints.settings import Settings
from entrypoints.tracing import Tracing
from entrypoints.version import VERSION

EXPOSED_HEADERS = ["X-Request-ID", "X-Process-Time", "Retry-After", "WWW-Authenticate", "ETag"]
ALLOWED_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "Accept",
    "Accept-Language",
]

_TAGS = [
    Tag(name="auth", description="Registering, logging in, refreshing and logging out"),
    Tag(name="users", description="One's own account, and every account for superusers"),
    Tag(name="products", description="The catalogue: public reads, superuser writes"),
    Tag(name="orders", description="The caller's orders"),
    Tag(name="health", description="Liveness and readiness probes"),
]


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Storefront API",
        version=VERSION,
        description="Accounts, a product catalogue, and orders that never oversell. "
        "Errors are RFC 9457 problem details (`application/problem+json`).",
        tags=_TAGS,
        # The router serving the document sits at the document's own URL; public, like
        # every route whose `opt` says so (no unanchored exclude patterns needed).
        openapi_router=Router(
            path=OPENAPI_PATH, route_handlers=[], include_in_schema=False, opt=dict(PUBLIC)
        ),
        render_plugins=[OPENAPI_JSON],
    )


def _cors_config(settings: Settings) -> CORSConfig | None:
    origins = list(settings.backend_cors_origins)
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=ALLOWED_REQUEST_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        # Bearer tokens travel in a header, not a cookie: credentials are never needed,
        # and a wildcard origin must never be combined with them.
        allow_credentials=False,
        max_age=600,
    )


def _document_closed_request_bodies(app: Litestar) -> None:
    """Say ``additionalProperties: false`` where unknown fields are refused (422).

    Litestar's schema for msgspec Structs ignores ``forbid_unknown_fields``; without
    this, the document would promise that extra fields are accepted.
    """
    components = app.openapi_schema.components.schemas or {}
    for name in closed_struct_names():
        if (schema := components.get(name)) is not None:
            schema.additional_properties = False


def create_app(container: Container, *, tracing: Tracing | None = None) -> Litestar:
    """The HTTP application driving ``container``'s use cases (traced, with ``tracing``)."""
    settings = container.settings

    @asynccontextmanager
    async def release_resources(app: Litestar) -> AsyncIterator[None]:
        # Background jobs stop before the engine they use is disposed.
        dispatcher = (
            container.outbox_dispatcher() if settings.outbox_dispatcher_in_process else None
        )
        purge = container.refresh_token_purge()
        try:
            await purge.start()
            if dispatcher is not None:
                await dispatcher.start()
            async with _metrics_sampling(app, container):
                yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            await purge.stop()
            await container.close()
            if tracing is not None:
                tracing.shutdown()

    auth = bearer_auth(
        container.authenticate.execute,
        token_url=LOGIN_PATH,
        secret_key=settings.secret_key,
    )

    app = Litestar(
        route_handlers=[
            *_controllers(container),
            *DOCS_HANDLERS,
            docs_assets_router(),
        ],
        on_app_init=[auth.on_app_init],
        middleware=[edge_inputs],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=_openapi_config(),
        cors_config=_cors_config(settings),
        request_max_body_size=settings.max_body_size,
        lifespan=[release_resources],
        # Errors are logged by the problem handlers, with the stack, once.
        logging_config=None,
        debug=False,
    )
    # Wraps routing too, so 404s, 405s and preflights carry the request id as well.
    _document_closed_request_bodies(app)
    hosts = HostPolicy(settings.allowed_hosts) if settings.allowed_hosts else None
    sinks = _exchange_sinks(settings)
    # Ours, not Litestar's CompressionMiddleware (compression.py says why); inside the
    # request context, so a HEAD gets the GET's compressed headers.
    app.asgi_handler = GzipResponses(app.asgi_handler)
    app.asgi_handler = RequestContextMiddleware(
        report_routed_scope(app.asgi_handler) if sinks or tracing else app.asgi_handler,
        hosts,
        allow_by_options_handler(app.routes),
        PreflightPolicy(app.cors_config),
    )
    if sinks:
        app.asgi_handler = ExchangeObserver(app.asgi_handler, sinks)
    if tracing is not None:
        app.asgi_handler = tracing.wrap_asgi(app.asgi_handler)
    return app


def _controllers(container: Container) -> list[Router]:
    """Each controller with only what its handlers take, provided by name.

    A handler names the use case it runs (``place_order: Provided[PlaceOrder]``);
    this is the one place that says which of the container's parts each controller
    may reach. A new context adds its controller here.
    """
    settings = container.settings

    def mounted(handler: ControllerRouterHandler, *parts: str, **values: object) -> Router:
        values |= {name: getattr(container, name) for name in parts}
        dependencies = {name: _constant(value) for name, value in values.items()}
        return Router(path="/", route_handlers=[handler], dependencies=dependencies)

    # Handlers that log or throttle by client address need the proxies to believe.
    client = {"trusted_proxies": settings.trusted_proxies}
    routers = [
        mounted(HealthController, "readiness"),
        mounted(
            AuthController,
            "register_user",
            "log_in",
            "refresh_session",
            "log_out",
            "log_out_everywhere",
            **client,
        ),
        mounted(
            EmailLinksController,
            "verify_email",
            "resend_verification",
            "forgot_password",
            "reset_password",
            **client,
        ),
        mounted(ProfileController, "update_profile", "get_user_stats", "erase_account", **client),
        mounted(SessionController, "list_sessions", "end_session"),
        mounted(
            UserAdminController,
            "list_users",
            "get_user",
            "admin_update_user",
            "deactivate_user",
            **client,
        ),
        mounted(
            ProductController,
            "list_products",
            "get_product",
            "get_product_by_slug",
            "create_product",
            "replace_product",
            "update_product",
            "delete_product",
        ),
        mounted(OrderController, "place_order", "list_orders", "get_order", "cancel_order"),
    ]
    if settings.metrics_enabled:
        token = settings.metrics_token
        routers.append(mounted(scrape_metrics, "count_outbox", metrics_token=token))
    return routers


def _constant(value: object) -> Provide:
    """A dependency resolved once: the same object for every request."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def _exchange_sinks(settings: Settings) -> list[ExchangeSink]:
    sinks: list[ExchangeSink] = []
    if settings.access_log:
        sinks.append(AccessLog(settings.trusted_proxies))
    if settings.metrics_enabled:
        sinks.append(metrics())
    return sinks


@asynccontextmanager
async def _metrics_sampling(app: Litestar, container: Container) -> AsyncIterator[None]:
    """Hands the requests counted and the pool's counts to the metrics every second."""
    if not container.settings.metrics_enabled:
        yield
        return
    sampler = MetricsSampler(metrics(), container.connection_gate())
    app.state[METRICS_SAMPLER_STATE] = sampler
    task = asyncio.create_task(sampler.run(), name="metrics sampling")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task})
        sampler.sample()
        # This process's share leaves the live sums (pool gauges) with it.
        process_stopped()
