"""HTTP conformance at the edge: HEAD on every GET route, one Host header, CORS refusals,
and a problem (not the server's text/plain 500) for an error outside Litestar's handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from entrypoints.http.request_context import RequestContextMiddleware
from tests.http.conftest import BASE_URL, Api, assert_problem, http_client, make_settings

PRODUCTS = "/api/v1/products"
SHOP = "https://shop.example.com"
# Headers that differ between any two responses, whatever the method.
PER_RESPONSE = {"x-request-id", "x-process-time", "date"}


async def every_get_path(api: Api, admin: dict[str, str]) -> list[str]:
    """Each GET route of the document, with real ids, plus the routes outside it."""
    product = await api.product(admin)
    order = await api.http.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
        headers=admin,
    )
    me = (await api.http.get("/api/v1/users/me", headers=admin)).json()
    values = {
        "{product_id}": str(product["id"]),
        "{slug}": product["slug"],
        "{order_id}": str(order.json()["id"]),
        "{user_id}": str(me["id"]),
    }
    document = (await api.http.get("/api/v1/openapi.json")).json()
    paths = [path for path, item in document["paths"].items() if "get" in item]
    for placeholder, value in values.items():
        paths = [path.replace(placeholder, value) for path in paths]
    assert not [path for path in paths if "{" in path], paths
    return [
        *paths,
        "/api/v1/openapi.json",
        "/docs",
        "/redoc",
        "/static/docs/swagger-ui.css",
    ]


async def test_every_get_route_answers_head_with_the_same_status_and_headers(
    memory_api: Api,
) -> None:
    admin = await memory_api.superuser()

    for path in await every_get_path(memory_api, admin):
        get = await memory_api.http.get(path, headers=admin)
        head = await memory_api.http.head(path, headers=admin)

        assert get.status_code == 200, path
        assert head.status_code == 200, path
        assert head.content == b"", path
        same = {name: value for name, value in get.headers.items() if name not in PER_RESPONSE}
        assert {n: v for n, v in head.headers.items() if n not in PER_RESPONSE} == same, path


async def test_head_is_authenticated_like_the_get(memory_api: Api) -> None:
    response = await memory_api.http.head("/api/v1/users/me")

    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_head_where_there_is_no_get_is_405(memory_api: Api) -> None:
    response = await memory_api.http.head("/api/v1/auth/login")

    assert response.status_code == 405
    assert response.headers["allow"] == "OPTIONS, POST"


async def test_two_host_headers_are_a_bad_request(memory_api: Api) -> None:
    response = await memory_api.http.get(
        "/health", headers=[("Host", "testserver"), ("Host", "evil.example.com")]
    )

    body = assert_problem(response, 400)
    assert "Host" in body["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_two_host_headers_are_refused_even_when_both_are_allowed(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(ALLOWED_HOSTS="shop.example.com,evil.example.com"))

    async with http_client(app) as http:
        response = await http.get(
            "/health", headers=[("Host", "evil.example.com"), ("Host", "shop.example.com")]
        )

    assert_problem(response, 400)


@pytest.mark.parametrize(
    "preflight",
    [
        {"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        {"Origin": SHOP, "Access-Control-Request-Method": "TRACE"},
        {
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-secret",
        },
    ],
    ids=["origin", "method", "headers"],
)
async def test_a_disallowed_cors_preflight_is_a_403_problem(
    app_for: Callable[..., Any], preflight: dict[str, str]
) -> None:
    app = app_for(settings=make_settings(BACKEND_CORS_ORIGINS=SHOP))

    async with http_client(app) as http:
        response = await http.options(PRODUCTS, headers=preflight)

    assert_problem(response, 403)
    assert not [name for name in response.headers if name.startswith("access-control-allow")]
    assert response.headers["x-request-id"]


async def test_without_configured_origins_every_preflight_is_refused(memory_api: Api) -> None:
    response = await memory_api.http.options(
        PRODUCTS, headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    )

    assert_problem(response, 403)
    assert "access-control-allow-origin" not in response.headers


async def test_an_allowed_preflight_is_still_answered(app_for: Callable[..., Any]) -> None:
    app = app_for(settings=make_settings(BACKEND_CORS_ORIGINS=SHOP))

    async with http_client(app) as http:
        response = await http.options(
            PRODUCTS,
            headers={
                "Origin": SHOP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
            },
        )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SHOP


async def broken_app(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("secret internals")


async def silent_app(scope: Any, receive: Any, send: Any) -> None:
    return None


@pytest.mark.parametrize("inner", [broken_app, silent_app], ids=["raises", "never answers"])
async def test_an_error_outside_the_handlers_is_a_500_problem(inner: Any) -> None:
    transport = httpx.ASGITransport(app=RequestContextMiddleware(inner))

    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get("/health")

    assert_problem(response, 500)
    assert "secret" not in response.text
    assert response.headers["x-request-id"]
