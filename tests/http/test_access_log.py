"""The access log: on by default, one record per request, every field an operator needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from entrypoints.http.exchanges import ACCESS_LOGGER, UNMATCHED_ROUTE
from tests.http.conftest import Api, http_client, make_settings
from tests.http.log_capture import captured


async def test_each_request_is_one_json_line_with_route_status_duration_client_and_user(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(TRUSTED_PROXIES="127.0.0.1"))
    async with http_client(app) as http:
        await http.post(
            "/api/v1/auth/register",
            json={"email": "alice@example.com", "password": "correct-horse-battery"},
        )
        tokens = (
            await http.post(
                "/api/v1/auth/login",
                data={"username": "alice@example.com", "password": "correct-horse-battery"},
            )
        ).json()
        with captured(ACCESS_LOGGER) as log:
            response = await http.get(
                "/api/v1/users/me?page=2",
                headers={
                    "Authorization": f"Bearer {tokens['access_token']}",
                    "X-Request-ID": "req-42",
                    "X-Forwarded-For": "203.0.113.7",
                },
            )
            await http.get("/api/v1/products/12345")

    assert response.status_code == 200
    me, product = log.entries()
    assert me["logger"] == ACCESS_LOGGER
    assert {key: me[key] for key in ("method", "route", "path", "status", "client")} == {
        "method": "GET",
        "route": "/api/v1/users/me",
        "path": "/api/v1/users/me",
        "status": 200,
        # The proxy's address is 127.0.0.1 (trusted): the client is the one it names.
        "client": "203.0.113.7",
    }
    assert me["request_id"] == "req-42"
    assert me["user_id"] == response.json()["id"]
    assert 0 < me["duration_ms"] < 60_000
    assert "page=2" not in log.lines[0]
    # The route is the template; the raw path is a field of its own.
    assert (product["route"], product["path"], product["status"]) == (
        "/api/v1/products/{product_id}",
        "/api/v1/products/12345",
        404,
    )
    assert product["user_id"] is None
    assert len(product["request_id"]) == 32  # generated: the client sent none


async def test_unrouted_requests_share_one_route_label(memory_api: Api) -> None:
    with captured(ACCESS_LOGGER) as log:
        await memory_api.http.get("/no/such/thing/1")
        await memory_api.http.request("BREW", "/health")

    routes = [(entry["route"], entry["status"]) for entry in log.entries()]
    assert routes == [(UNMATCHED_ROUTE, 404), (UNMATCHED_ROUTE, 405)]


async def test_a_head_request_is_logged_as_head_under_its_get_route(memory_api: Api) -> None:
    with captured(ACCESS_LOGGER) as log:
        assert (await memory_api.http.head("/api/v1/products/1")).status_code == 404

    (entry,) = log.entries()
    assert (entry["method"], entry["route"]) == ("HEAD", "/api/v1/products/{product_id}")


async def test_the_console_line_says_it_all_too(memory_api: Api) -> None:
    with captured(ACCESS_LOGGER) as log:
        await memory_api.http.get("/health", headers={"X-Request-ID": "abc"})

    (record,) = log.records
    message = record.getMessage()
    assert message.startswith("GET /health 200 ")
    assert "client=127.0.0.1 user=-" in message
    assert record.request_id == "abc"  # type: ignore[attr-defined]


async def test_access_log_false_turns_it_off(app_for: Callable[..., Any]) -> None:
    app = app_for(settings=make_settings(ACCESS_LOG="false"))
    with captured(ACCESS_LOGGER) as log:
        async with http_client(app) as http:
            assert (await http.get("/health")).status_code == 200

    assert log.records == []
