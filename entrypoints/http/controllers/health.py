"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from application.ports import DependencyUnavailable
from entrypoints.bootstrap import Container
from entrypoints.http.problems import problem_response, problem_responses
from entrypoints.http.schemas import Health, Readiness
from entrypoints.http.security import PUBLIC, PUBLIC_SECURITY
from entrypoints.version import VERSION

_HEALTH = Health(status="ok", version=VERSION)
_READY = Readiness(status="ok", checks={"database": "ok"})


class HealthController(Controller):
    """``/health`` touches nothing; ``/health/ready`` checks the database."""

    path = "/health"
    tags = ["health"]
    opt = PUBLIC
    security = PUBLIC_SECURITY

    @get("/", operation_id="health", summary="Liveness")
    async def health(self) -> Health:
        return _HEALTH

    @get(
        "/ready",
        operation_id="readiness",
        summary="Readiness: can requests be served?",
        responses=problem_responses(503),
    )
    async def ready(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Response[Readiness]:
        try:
            await container.readiness()
        except DependencyUnavailable as exc:
            return problem_response(
                request,
                503,
                f"The database is unavailable: {exc.detail}",
                headers={"Retry-After": str(max(1, exc.retry_after_seconds))},
                checks={"database": "unavailable"},
            )
        return Response(_READY)
