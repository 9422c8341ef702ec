"""The ASGI application for servers that import it by name (``uvicorn --factory``).

Each worker process calls :func:`create_app_from_environment` once: settings are
read, logging set up, and the production container built, in that process.
"""

from __future__ import annotations

from litestar import Litestar

from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging
from entrypoints.settings import load_settings


def create_app_from_environment() -> Litestar:
    settings = load_settings()
    configure_logging(settings)
    return create_app(build_container(settings))
