"""Swagger UI at ``/docs``, ReDoc at ``/redoc``, and their assets served by Storefront itself.

The JavaScript and CSS come from the ``drf-spectacular-sidecar`` distribution's
static files, so the pages work on a network without internet access: nothing
is fetched from a CDN. The OpenAPI document itself is served by Litestar's
OpenAPI plugin at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.enums import MediaType
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.static_files import create_static_files_router

from entrypoints.http.security import PUBLIC

OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/static/docs"

_SIDECAR = Path(str(files("drf_spectacular_sidecar"))) / "static" / "drf_spectacular_sidecar"
SWAGGER_ASSETS = _SIDECAR / "swagger-ui-dist"
REDOC_ASSETS = _SIDECAR / "redoc" / "bundles"

_FAVICON = f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>"

SWAGGER = SwaggerRenderPlugin(
    js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
    css_url=f"{ASSETS_PATH}/swagger-ui.css",
    standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
    # Swagger UI keeps the token across reloads; the password flow needs no client id.
    init_oauth={"usePkceWithAuthorizationCodeGrant": False},
    favicon=_FAVICON,
    path=DOCS_PATH,
)
REDOC = RedocRenderPlugin(
    js_url=f"{ASSETS_PATH}/redoc.standalone.js",
    google_fonts=False,
    favicon=_FAVICON,
    path=REDOC_PATH,
)
OPENAPI_JSON = JsonRenderPlugin(path="/")
"""Mounted by the OpenAPI config at ``OPENAPI_PATH`` (its router's own path)."""


def _render(plugin: OpenAPIRenderPlugin, request: Request[Any, Any, Any]) -> Response[bytes]:
    schema = request.app.openapi_schema.to_schema()
    return Response(plugin.render(request, schema), media_type=MediaType.HTML)


@get(
    DOCS_PATH, operation_id="swagger_ui", include_in_schema=False, opt=PUBLIC, sync_to_thread=False
)
def swagger_ui(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _render(SWAGGER, request)


@get(REDOC_PATH, operation_id="redoc", include_in_schema=False, opt=PUBLIC, sync_to_thread=False)
def redoc(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _render(REDOC, request)


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_ASSETS, REDOC_ASSETS],
        name="docs_assets",
        opt=PUBLIC,
        include_in_schema=False,
    )


DOCS_HANDLERS = (swagger_ui, redoc)
