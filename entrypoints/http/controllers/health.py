"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get

from application.ports.common import DependencyUnavailable
from entrypoints.http.problems import problem_response, problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.common import Health, Readiness
from entrypoints.http.security import PUBLIC, PUBLIC_SECURITY
from entrypoints.infrastructure import ReadinessChecks
from entrypoints.version import VERSION

_HEALTH = Health(status="ok", version=VERSION)


class HealthController(Controller):
    """``/health`` touches nothing; ``/health/ready`` checks the database (and Redis, if used)."""

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
        self, request: Request[Any, Any, Any], readiness: Provided[ReadinessChecks]
    ) -> Response[Readiness]:
        names = list(readiness)
        outcomes = await asyncio.gather(
            *(check() for check in readiness.values()), return_exceptions=True
        )
        down: dict[str, DependencyUnavailable] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, DependencyUnavailable):
                down[name] = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
        checks = {name: "unavailable" if name in down else "ok" for name in names}
        if not down:
            return Response(Readiness(status="ok", checks=checks))
        return problem_response(
            request,
            503,
            "; ".join(f"The {name} is unavailable: {exc.detail}" for name, exc in down.items()),
            headers={
                "Retry-After": str(max(1, *(exc.retry_after_seconds for exc in down.values())))
            },
            checks=checks,
        )
