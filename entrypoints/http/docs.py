"""Swagger UI at ``/docs``, ReDoc at ``/redoc``, and their assets served by Storefront itself.

The JavaScript, CSS and images come from the ``openapi-ui-bundles`` distribution (static
files only, no dependencies), so the pages work on a network without internet access:
nothing is fetched from a CDN. Only the files the two pages use are served, and ReDoc's
script is served with the address of its logo (which it would fetch from Redocly's CDN)
pointed at the copy the bundle ships. The OpenAPI document itself is served by Litestar's
OpenAPI plugin at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePath
from typing import Any

import openapi_ui_bundles
from anyio import AsyncFile
from litestar import Request, Response, Router, get
from litestar.enums import MediaType
from litestar.file_system import BaseLocalFileSystem
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.static_files import create_static_files_router
from litestar.types import FileInfo, PathType

from entrypoints.http.security import PUBLIC

OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/static/docs"

SWAGGER_ASSETS = Path(openapi_ui_bundles.swagger_ui.static_path)
REDOC_ASSETS = Path(openapi_ui_bundles.redoc.static_path)
REDOC_LOGO = "redoc-logo.svg"
_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

DOCS_ASSETS: Mapping[str, Path] = {
    "swagger-ui-bundle.js": SWAGGER_ASSETS / "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js": SWAGGER_ASSETS / "swagger-ui-standalone-preset.js",
    "swagger-ui.css": SWAGGER_ASSETS / "swagger-ui.css",
    "favicon-32x32.png": SWAGGER_ASSETS / "favicon-32x32.png",
    "redoc.standalone.js": REDOC_ASSETS / "redoc.standalone.js",
    REDOC_LOGO: REDOC_ASSETS / "logo-mini.svg",
}
"""What ``/static/docs/<name>`` serves; the bundles' demo pages (which load a remote
example document) and anything else in their folders are not served."""

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


@cache
def redoc_script() -> bytes:
    """ReDoc's bundle with its sidebar logo served from here instead of Redocly's CDN.

    Read on the first request for it, then kept (0.9 MB): a server nobody reads the docs
    of never loads it."""
    script = DOCS_ASSETS["redoc.standalone.js"].read_bytes()
    return script.replace(_REDOC_CDN_LOGO, f"{ASSETS_PATH}/{REDOC_LOGO}".encode())


class _DocsAssetFiles(BaseLocalFileSystem):
    """The file system behind ``/static/docs``: the names in :data:`DOCS_ASSETS`, nothing else.

    The static files router asks for ``<root>/<name>``; any other path is "not found".
    """

    ROOT = PurePath("/docs-assets")
    _REWRITTEN = {"redoc.standalone.js": redoc_script}

    def _name(self, path: PathType) -> str:
        relative = PurePath(str(path)).relative_to(self.ROOT)
        if len(relative.parts) != 1 or relative.name not in DOCS_ASSETS:
            raise FileNotFoundError(str(path))
        return relative.name

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        name = self._name(path)
        info = await super().info(DOCS_ASSETS[name], **kwargs)
        if (rewrite := self._REWRITTEN.get(name)) is not None:
            info = {**info, "size": len(rewrite())}
        return info

    async def open(self, file: PathType, mode: str, buffering: int = -1) -> AsyncFile[Any]:
        name = self._name(file)
        if (rewrite := self._REWRITTEN.get(name)) is not None:
            return AsyncFile(io.BytesIO(rewrite()))
        return await super().open(DOCS_ASSETS[name], mode, buffering)


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_DocsAssetFiles.ROOT],
        file_system=_DocsAssetFiles(),
        resolve_symlinks=False,
        name="docs_assets",
        opt=PUBLIC,
        include_in_schema=False,
    )


DOCS_HANDLERS = (swagger_ui, redoc)
