"""API4:2023 Unrestricted Resource Consumption: every input is bounded.

Pages hold at most 100 items, bodies at most 1 MiB (``MAX_BODY_SIZE``), every string
and array has a maximum length, an order at most 100 lines, and failed logins are
throttled per e-mail (5 in 15 minutes) and per client address (50), with
``Retry-After``; so are requests for password-reset links (per address and per client)
and for verification links (per account and per client), each on its own count. With
``REDIS_URL`` set, every API process counts in the same place.
``X-Forwarded-For`` only names the client when a trusted proxy sent it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar

from entrypoints.bootstrap import build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import BASE_URL, PASSWORD, Api, cheap_hasher, items, make_settings

PRODUCT = {"name": "Red Shirt", "price": "19.99", "stock": 10, "category": "shirts"}


@pytest.mark.parametrize(
    "path", ["/api/v1/products?limit=101", "/api/v1/orders?limit=101", "/api/v1/users?size=101"]
)
async def test_a_page_is_at_most_a_hundred_items(memory_api: Api, path: str) -> None:
    admin = await memory_api.superuser()

    response = await memory_api.http.get(path, headers=admin)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("query.")


async def test_a_hundred_items_is_a_valid_page(memory_api: Api) -> None:
    response = await memory_api.http.get("/api/v1/products?limit=100")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/products", "/api/v1/orders"]
)
async def test_a_body_over_one_mebibyte_is_refused_with_413(memory_api: Api, path: str) -> None:
    admin = await memory_api.superuser()
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'

    response = await memory_api.http.post(
        path, content=body, headers={**admin, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("field", "length"),
    [("name", 201), ("category", 101), ("description", 5001), ("image_url", 2049)],
)
async def test_over_long_product_strings_are_refused(
    memory_api: Api, field: str, length: int
) -> None:
    admin = await memory_api.superuser()
    value = "https://example.com/" + "x" * length if field == "image_url" else "x" * length

    response = await memory_api.http.post(
        "/api/v1/products", json={**PRODUCT, field: value}, headers=admin
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"body.{field}"


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "a" * 320 + "@example.com"), ("password", "p" * 129), ("full_name", "n" * 201)],
)
async def test_over_long_account_strings_are_refused(
    memory_api: Api, field: str, value: str
) -> None:
    body = {"email": "alice@example.com", "password": PASSWORD, field: value}

    response = await memory_api.http.post("/api/v1/auth/register", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"body.{field}"


async def test_an_over_long_password_is_not_hashed_at_login(memory_api: Api) -> None:
    response = await memory_api.http.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": "p" * 100_000}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "query", ["q=" + "x" * 201, "category=" + "x" * 101, "after=" + "x" * 1025]
)
async def test_over_long_query_strings_are_refused(memory_api: Api, query: str) -> None:
    response = await memory_api.http.get(f"/api/v1/products?{query}")
    assert response.status_code == 422


async def test_an_order_has_at_most_a_hundred_lines(memory_api: Api) -> None:
    headers = await memory_api.user()
    items = [{"product_id": n, "quantity": 1} for n in range(1, 102)]

    response = await memory_api.http.post("/api/v1/orders", json={"items": items}, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.items"


async def test_an_over_long_idempotency_key_is_refused(memory_api: Api) -> None:
    headers = await memory_api.user()
    response = await memory_api.http.post(
        "/api/v1/orders",
        json=items((1, 1)),
        headers={**headers, "Idempotency-Key": "k" * 256},
    )
    assert response.status_code in (400, 422)


# --- login throttling -----------------------------------------------------------------------


async def _fail_login(http: httpx.AsyncClient, email: str, **headers: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong-password"}, headers=headers
    )


async def test_five_failures_for_one_email_are_throttled_with_retry_after(api: Api) -> None:
    await api.register()
    for _ in range(5):
        assert (await _fail_login(api.http, "alice@example.com")).status_code == 401

    response = await _fail_login(api.http, "Alice@Example.com")
    # Even the right password waits: the throttle answers before any check.
    right = await api.http.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 900
    assert right.status_code == 429


@asynccontextmanager
async def _client(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


async def test_fifty_failures_from_one_address_are_throttled(app_for: Callable[..., Any]) -> None:
    app = app_for(settings=make_settings(LOGIN_MAX_FAILURES_PER_CLIENT="50"))
    async with _client(app, "203.0.113.9") as attacker, _client(app, "198.51.100.1") as other:
        for n in range(50):
            assert (await _fail_login(attacker, f"victim{n}@example.com")).status_code == 401

        blocked = await _fail_login(attacker, "someone-new@example.com")
        elsewhere = await _fail_login(other, "someone-new@example.com")

    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 401


async def test_a_client_cannot_dodge_the_throttle_with_x_forwarded_for(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(
        settings=make_settings(LOGIN_MAX_FAILURES_PER_CLIENT="3", TRUSTED_PROXIES="10.0.0.1")
    )
    async with _client(app, "203.0.113.9") as attacker:
        for n in range(3):
            forged = {"X-Forwarded-For": f"192.0.2.{n}"}
            assert (await _fail_login(attacker, f"v{n}@example.com", **forged)).status_code == 401
        blocked = await _fail_login(
            attacker, "new@example.com", **{"X-Forwarded-For": "192.0.2.99"}
        )
    assert blocked.status_code == 429


async def test_a_trusted_proxy_names_the_client_it_forwards(app_for: Callable[..., Any]) -> None:
    app = app_for(
        settings=make_settings(LOGIN_MAX_FAILURES_PER_CLIENT="3", TRUSTED_PROXIES="10.0.0.0/8")
    )
    async with _client(app, "10.0.0.1") as proxy:
        for n in range(3):
            sent = {"X-Forwarded-For": "203.0.113.9"}
            assert (await _fail_login(proxy, f"v{n}@example.com", **sent)).status_code == 401
        blocked = await _fail_login(proxy, "new@example.com", **{"X-Forwarded-For": "203.0.113.9"})
        other = await _fail_login(proxy, "new@example.com", **{"X-Forwarded-For": "198.51.100.1"})
    assert blocked.status_code == 429
    # Everyone behind the proxy is not punished for one client.
    assert other.status_code == 401


@pytest.mark.redis
async def test_two_api_processes_share_the_throttle_through_redis(redis_url: str) -> None:
    settings = {"REDIS_URL": redis_url, "LOGIN_MAX_FAILURES_PER_EMAIL": "4"}
    one_container = build_memory_container(make_settings(**settings), hasher=cheap_hasher())
    other_container = build_memory_container(make_settings(**settings), hasher=cheap_hasher())
    try:
        async with (
            _client(create_app(one_container), "203.0.113.1") as one,
            _client(create_app(other_container), "203.0.113.2") as other,
        ):
            for http in (one, other, one, other):
                assert (await _fail_login(http, "alice@example.com")).status_code == 401

            from_one = await _fail_login(one, "alice@example.com")
            from_other = await _fail_login(other, "alice@example.com")
    finally:
        await one_container.close()
        await other_container.close()

    assert from_one.status_code == 429
    assert from_other.status_code == 429
    assert int(from_other.headers["retry-after"]) >= 1


async def test_two_api_processes_share_the_reset_throttle_through_redis(redis_url: str) -> None:
    settings = {"REDIS_URL": redis_url, "LOGIN_MAX_FAILURES_PER_EMAIL": "4"}
    one_container = build_memory_container(make_settings(**settings), hasher=cheap_hasher())
    other_container = build_memory_container(make_settings(**settings), hasher=cheap_hasher())
    forgot = "/api/v1/auth/forgot-password"
    body = {"email": "alice@example.com"}
    try:
        async with (
            _client(create_app(one_container), "203.0.113.1") as one,
            _client(create_app(other_container), "203.0.113.2") as other,
        ):
            for http in (one, other, one, other):
                assert (await http.post(forgot, json=body)).status_code == 202

            from_one = await one.post(forgot, json=body)
            from_other = await other.post(forgot, json=body)
            # Its own allowance: the address's logins are not counted against it.
            login = await one.post(
                "/api/v1/auth/login", json={"email": "alice@example.com", "password": "x" * 8}
            )
    finally:
        await one_container.close()
        await other_container.close()

    assert (from_one.status_code, from_other.status_code) == (429, 429)
    assert int(from_other.headers["retry-after"]) >= 1
    assert login.status_code == 401


async def test_reset_requests_never_lock_an_account_out_of_logging_in(memory_api: Api) -> None:
    await memory_api.register("alice@example.com")
    statuses = [
        (
            await memory_api.http.post(
                "/api/v1/auth/forgot-password", json={"email": "alice@example.com"}
            )
        ).status_code
        for _ in range(6)
    ]

    assert statuses[-1] == 429
    await memory_api.login("alice@example.com")
