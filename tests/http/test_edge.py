"""Behaviour of the HTTP edge that no storage changes: headers, routing, limits, errors."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from application.ports.common import DependencyUnavailable
from entrypoints.http.content_types import strict_json_body
from tests.http.conftest import Api, assert_problem, failing, http_client, make_settings

PRODUCTS = "/api/v1/products"


async def test_a_client_request_id_is_echoed(memory_api: Api) -> None:
    response = await memory_api.http.get("/health", headers={"X-Request-ID": "abc-123_XYZ"})

    assert response.headers["x-request-id"] == "abc-123_XYZ"


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "tab\there", "caf\u00e9"])
async def test_a_missing_or_unfit_request_id_is_replaced(memory_api: Api, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode("utf-8")}

    response = await memory_api.http.get("/health", headers=headers)

    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


async def test_a_request_id_of_128_characters_is_kept(memory_api: Api) -> None:
    request_id = "r" * 128

    response = await memory_api.http.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


async def test_every_response_has_a_request_id_process_time_and_nosniff(memory_api: Api) -> None:
    responses = [
        await memory_api.http.get("/health"),
        await memory_api.http.get("/no/such/path"),
        await memory_api.http.delete("/health"),
        await memory_api.http.get("/api/v1/users/me"),
        await memory_api.http.get(PRODUCTS, params={"limit": 0}),
    ]

    for response in responses:
        assert response.headers["x-request-id"]
        assert float(response.headers["x-process-time"]) >= 0
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_paths_are_problem_not_found(memory_api: Api) -> None:
    response = await memory_api.http.get("/api/v1/nothing-here")

    body = assert_problem(response, 404)
    assert body["title"] == "Not Found"
    assert body["instance"] == "/api/v1/nothing-here"


async def test_a_wrong_method_lists_the_allowed_ones(memory_api: Api) -> None:
    response = await memory_api.http.delete("/health")
    on_collection = await memory_api.http.put(PRODUCTS)

    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]
    assert "DELETE" not in response.headers["allow"]
    assert_problem(on_collection, 405)
    allowed = {method.strip() for method in on_collection.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed


async def test_a_body_over_the_limit_is_too_large(memory_api: Api) -> None:
    headers = await memory_api.user()
    body = b'{"items": [' + b" " * (1024 * 1024 + 1) + b"]}"

    response = await memory_api.http.post(
        "/api/v1/orders", content=body, headers={**headers, "content-type": "application/json"}
    )

    assert_problem(response, 413)


async def test_the_body_limit_comes_from_settings(app_for: Callable[..., Any]) -> None:
    app = app_for(settings=make_settings(MAX_BODY_SIZE="2048"))

    async with http_client(app) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": "a@example.com", "password": "p" * 8, "full_name": "x" * 3000},
        )

    assert_problem(response, 413)


async def test_large_responses_are_gzipped(memory_api: Api) -> None:
    await _ten_products(memory_api)

    response = await memory_api.http.get(PRODUCTS, headers={"Accept-Encoding": "gzip"})

    assert response.headers["content-encoding"] == "gzip"
    assert len(response.content) >= 1000
    assert response.json()["total"] == 10


async def test_small_responses_are_not_compressed(memory_api: Api) -> None:
    response = await memory_api.http.get("/health", headers={"Accept-Encoding": "gzip"})

    assert "content-encoding" not in response.headers


async def test_gzipped_bytes_are_real_gzip(memory_api: Api) -> None:
    await _ten_products(memory_api)

    _, compressed = await _bytes_on_the_wire(memory_api, PRODUCTS, "gzip")

    assert gzip.decompress(compressed).startswith(b'{"items"')


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("br, deflate", False),
        ("identity", False),
    ],
)
async def test_gzip_follows_the_qualities_of_accept_encoding(
    memory_api: Api, accept_encoding: str, gzipped: bool
) -> None:
    await _ten_products(memory_api)

    response = await memory_api.http.get(PRODUCTS, headers={"Accept-Encoding": accept_encoding})

    assert (response.headers.get("content-encoding") == "gzip") is gzipped
    assert response.json()["total"] == 10


async def test_a_gzipped_response_says_it_varies_with_accept_encoding_and_its_length(
    memory_api: Api,
) -> None:
    await _ten_products(memory_api)

    response, compressed = await _bytes_on_the_wire(memory_api, PRODUCTS, "gzip")
    head = await memory_api.http.head(PRODUCTS, headers={"Accept-Encoding": "gzip"})

    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) == len(compressed)
    assert head.headers["content-encoding"] == "gzip"
    assert head.headers["content-length"] == response.headers["content-length"]
    assert head.content == b""


async def test_a_streamed_file_is_gzipped_as_it_goes_to_the_same_bytes(memory_api: Api) -> None:
    asset = "/static/docs/redoc.standalone.js"
    plain = await memory_api.http.get(asset, headers={"Accept-Encoding": "identity"})
    response, compressed = await _bytes_on_the_wire(memory_api, asset, "gzip")

    assert response.headers["content-encoding"] == "gzip"
    assert len(compressed) < len(plain.content) / 2
    assert gzip.decompress(compressed) == plain.content


async def _ten_products(api: Api) -> None:
    """A catalogue whose first page is well over the 1000 bytes that get gzipped."""
    admin = await api.superuser()
    for number in range(10):
        await api.product(admin, name=f"Product {number}", description="d" * 100)


async def _bytes_on_the_wire(
    api: Api, path: str, accept_encoding: str
) -> tuple[httpx.Response, bytes]:
    """The response to a GET and its body as sent (not decoded)."""
    async with (
        http_client(api.app) as raw,
        raw.stream("GET", path, headers={"Accept-Encoding": accept_encoding}) as response,
    ):
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_an_unexpected_error_is_a_generic_500_logged_with_its_stack(
    app_for: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = app_for(tweak=failing("get_product", RuntimeError("secret SQL detail")))

    with caplog.at_level(logging.ERROR):
        async with http_client(app) as http:
            response = await http.get(f"{PRODUCTS}/1")

    body = assert_problem(response, 500)
    assert body["detail"] == "An unexpected error occurred"
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert any(
        record.exc_info and "secret SQL detail" in str(record.exc_info[1])
        for record in caplog.records
    )


async def test_a_database_outage_is_a_503_with_retry_after(app_for: Callable[..., Any]) -> None:
    app = app_for(tweak=failing("list_products", DependencyUnavailable("db down", 3)))

    async with http_client(app) as http:
        response = await http.get(PRODUCTS)

    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "3"
    assert "db down" not in body["detail"]


async def test_cors_preflight_is_answered_for_configured_origins(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(BACKEND_CORS_ORIGINS="https://shop.example.com"))

    async with http_client(app) as http:
        preflight = await http.options(
            PRODUCTS,
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        simple = await http.get(PRODUCTS, headers={"Origin": "https://shop.example.com"})
        foreign = await http.get(PRODUCTS, headers={"Origin": "https://evil.example.com"})

    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert preflight.headers["x-request-id"]
    assert simple.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in foreign.headers


async def test_without_configured_origins_there_is_no_cors(memory_api: Api) -> None:
    response = await memory_api.http.get(PRODUCTS, headers={"Origin": "https://shop.example.com"})

    assert "access-control-allow-origin" not in response.headers


async def test_head_requests_do_not_bypass_authentication(memory_api: Api) -> None:
    response = await memory_api.http.head("/api/v1/users/me")

    assert response.status_code == 401


async def test_the_lifespan_closes_the_container(app_for: Callable[..., Any]) -> None:
    closed: list[bool] = []

    async def record() -> None:
        closed.append(True)

    app = app_for(tweak=lambda container: dataclasses.replace(container, closers=(record,)))

    async with app.lifespan():
        assert closed == []

    assert closed == [True]


def test_every_route_reading_a_json_body_refuses_other_media_types(memory_api: Api) -> None:
    readers = [
        handler
        for route in memory_api.app.routes
        for handler in getattr(route, "route_handlers", ())
        if "data" in handler.parsed_fn_signature.parameters
    ]

    assert len(readers) == 13
    for handler in readers:
        assert strict_json_body in handler.guards, handler


async def test_allowed_hosts_refuse_other_host_headers(app_for: Callable[..., Any]) -> None:
    app = app_for(settings=make_settings(ALLOWED_HOSTS="shop.example.com,*.internal"))

    async with http_client(app) as http:
        allowed = await http.get("/health", headers={"Host": "shop.example.com:8000"})
        wildcard = await http.get("/health", headers={"Host": "api.internal"})
        refused = await http.get("/health", headers={"Host": "evil.example.com"})

    assert allowed.status_code == wildcard.status_code == 200
    assert_problem(refused, 400)
    assert refused.headers["x-request-id"]


async def test_options_lists_every_method_of_the_path(memory_api: Api) -> None:
    collection = await memory_api.http.options(PRODUCTS)
    item = await memory_api.http.options(f"{PRODUCTS}/1")
    admin_only = await memory_api.http.options("/api/v1/users/1")

    assert collection.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert item.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    assert admin_only.status_code == 204
    assert admin_only.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"


async def test_a_client_hanging_up_mid_body_is_not_an_internal_error(
    memory_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    partial = b'{"email": "carol@example.com", "pass'
    events = iter(
        [
            {"type": "http.request", "body": partial, "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(events)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/register",
        "raw_path": b"/api/v1/auth/register",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with caplog.at_level(logging.INFO, logger="entrypoints.http.problems"):
        await memory_api.app(scope, receive, send)  # type: ignore[arg-type]

    assert sent[0]["status"] == 400
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("hung up" in record.getMessage() for record in caplog.records)
    login = await memory_api.http.post(
        "/api/v1/auth/login", data={"username": "carol@example.com", "password": "x" * 12}
    )
    assert login.status_code == 401
