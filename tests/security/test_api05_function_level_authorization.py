"""API5:2023 Broken Function Level Authorization: administrative functions need a superuser.

An inventory built from the app's own routes fails when a write route on products
or users, or any route of the user administration, lacks the superuser guard, and
when a route is public without being on the list of public routes below. Live
requests then check the guards answer 401 to strangers and 403 to ordinary users.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from entrypoints.http.security import superuser_only
from tests.http.conftest import Api

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    # Whoever holds a link's token, or asks for a reset, has no session (yet).
    ("POST", "/api/v1/auth/verify-email"),
    ("POST", "/api/v1/auth/forgot-password"),
    ("POST", "/api/v1/auth/reset-password"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{product_id:int}"),
    ("GET", "/api/v1/products/slug/{slug:str}"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/static/docs/{file_path:path}"),
    ("HEAD", "/static/docs/{file_path:path}"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/openapi.json/{path:str}"),
    ("GET", "/api/v1/openapi.json/openapi.json"),
    # Open to scrapers, or behind METRICS_TOKEN (not an account's bearer token).
    ("GET", "/metrics"),
}
ADMIN_OPERATIONS = [
    ("GET", "/api/v1/users", None),
    ("GET", "/api/v1/users/{me}", None),
    ("PATCH", "/api/v1/users/{me}", {"is_superuser": True}),
    ("DELETE", "/api/v1/users/{me}", None),
    ("POST", "/api/v1/products", {"name": "X", "price": "1.00", "category": "c"}),
    ("PUT", "/api/v1/products/{product}", {"name": "X", "price": "1.00", "category": "c"}),
    ("PATCH", "/api/v1/products/{product}", {"price": "0.01"}),
    ("DELETE", "/api/v1/products/{product}", None),
]


def _routes(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(method, path, handler) of every route but Litestar's automatic OPTIONS ones."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or handler.http_methods == {"OPTIONS"}:
                continue
            for method in handler.http_methods:
                yield method, route.path, handler


def _guards(handler: HTTPRouteHandler) -> list[Any]:
    return [getattr(guard, "func", guard) for guard in handler.resolve_guards()]


def _needs_superuser(method: str, path: str) -> bool:
    is_admin_of_users = path.startswith("/api/v1/users") and not path.startswith("/api/v1/users/me")
    is_catalogue_write = path.startswith("/api/v1/products") and method in WRITE_METHODS
    return is_admin_of_users or is_catalogue_write


def test_every_administrative_route_has_the_superuser_guard(memory_api: Api) -> None:
    routes = list(_routes(memory_api.app))
    guarded = [(m, p) for m, p, h in routes if _needs_superuser(m, p)]
    # The inventory found the administrative routes (so it is not vacuous).
    assert len(guarded) == 8

    unguarded = [
        (method, path)
        for method, path, handler in routes
        if _needs_superuser(method, path) and superuser_only not in _guards(handler)
    ]

    assert unguarded == []


def test_only_the_listed_routes_are_public(memory_api: Api) -> None:
    public = {
        (method, path)
        for method, path, handler in _routes(memory_api.app)
        if handler.opt.get("exclude_from_auth")
    }
    assert public == PUBLIC_ROUTES


def test_authentication_excludes_no_path_pattern(memory_api: Api) -> None:
    # Litestar matches exclude patterns as unanchored regular expressions: "/health"
    # would also open "/api/v1/orders/health-report". Public routes say so in `opt`.
    from entrypoints.http.security import BearerTokenMiddleware

    found = [
        middleware.kwargs
        for middleware in memory_api.app.middleware
        if getattr(middleware, "middleware", None) is BearerTokenMiddleware
    ]
    assert len(found) == 1
    assert not found[0]["exclude"]
    assert found[0]["exclude_http_methods"] == ["OPTIONS"]


async def _targets(api: Api) -> dict[str, Any]:
    admin = await api.superuser()
    product = await api.product(admin)
    user = await api.user("mallory@example.com")
    me = (await api.http.get("/api/v1/users/me", headers=user)).json()
    return {"user": user, "me": me["id"], "product": product["id"]}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_OPERATIONS)
async def test_an_ordinary_user_is_forbidden_administrative_functions(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    targets = await _targets(api)

    response = await api.http.request(
        method, path.format(**targets), json=body, headers=targets["user"]
    )

    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    me = await api.http.get("/api/v1/users/me", headers=targets["user"])
    assert me.json()["is_superuser"] is False


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_OPERATIONS)
async def test_a_stranger_must_authenticate_for_administrative_functions(
    memory_api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    targets = await _targets(memory_api)

    response = await memory_api.http.request(method, path.format(**targets), json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_superuser_may_use_administrative_functions(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    response = await memory_api.http.get("/api/v1/users", headers=admin)
    assert response.status_code == 200


async def test_an_ordinary_user_may_not_use_the_operators_view_of_orders(api: Api) -> None:
    targets = await _targets(api)
    admin_id = (await api.http.get("/api/v1/users/me", headers=await api.superuser())).json()["id"]

    for params in ({"all": "true"}, {"user_id": admin_id}, {"user_id": targets["me"]}):
        response = await api.http.get("/api/v1/orders", params=params, headers=targets["user"])
        assert response.status_code == 403, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
