"""API8:2023 Security Misconfiguration: safe defaults at the edge.

No stack trace, exception name or debug page reaches a client (errors are logged
server-side with their stack and answered as problem details); every response
carries the security headers, token responses ``Cache-Control: no-store``; CORS
answers only the configured origins and never allows credentials (so a wildcard
origin can never be combined with them); 405 lists the methods the path allows;
unknown ``Host`` headers are refused when ``ALLOWED_HOSTS`` is set; production
refuses to start with a missing or short secret key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from entrypoints.http.request_context import SECURITY_HEADERS
from entrypoints.setting_values import SettingsError
from entrypoints.settings import load_settings
from tests.http.conftest import PASSWORD, Api, failing, http_client, make_settings

PRODUCTS = "/api/v1/products"
SECRET_32 = "k" * 32


async def test_an_unexpected_error_shows_no_trace_and_is_logged_with_its_stack(
    app_for: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = app_for(
        tweak=failing(
            "list_products",
            ZeroDivisionError("internal detail: SELECT * FROM users WHERE password=..."),
        )
    )

    with caplog.at_level(logging.ERROR):
        async with http_client(app) as http:
            response = await http.get(PRODUCTS)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    for leak in ("Traceback", "ZeroDivisionError", "SELECT", "internal detail", ".py"):
        assert leak not in response.text
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert isinstance(logged[0].exc_info[1], ZeroDivisionError)  # type: ignore[index]


async def test_the_app_does_not_run_in_debug_mode(memory_api: Api) -> None:
    assert memory_api.app.debug is False
    response = await memory_api.http.get("/nowhere", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "<html" not in response.text.lower()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health"),
        ("GET", "/nowhere"),
        ("GET", "/api/v1/users/me"),
        ("DELETE", "/health"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/docs"),
        ("OPTIONS", PRODUCTS),
    ],
)
async def test_every_response_carries_the_security_headers(
    memory_api: Api, method: str, path: str
) -> None:
    response = await memory_api.http.request(method, path)

    assert response.headers["x-content-type-options"] == "nosniff"
    for name, value in SECURITY_HEADERS:
        assert response.headers[name.decode()] == value.decode()
    assert "server" not in response.headers


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/refresh"])
async def test_token_responses_are_never_cached(memory_api: Api, path: str) -> None:
    await memory_api.register()
    tokens = await memory_api.login()
    if path.endswith("login"):
        body = {"email": "alice@example.com", "password": PASSWORD}
    else:
        body = {"refresh_token": tokens["refresh_token"]}

    response = await memory_api.http.post(path, json=body)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", PRODUCTS, "GET, HEAD, OPTIONS, POST"),
        ("POST", f"{PRODUCTS}/1", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        ("PUT", "/api/v1/users/me", "DELETE, GET, HEAD, OPTIONS, PATCH"),
        ("GET", "/api/v1/auth/login", "OPTIONS, POST"),
    ],
)
async def test_a_wrong_method_is_405_with_the_allowed_ones(
    memory_api: Api, method: str, path: str, allow: str
) -> None:
    response = await memory_api.http.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"


async def test_cors_answers_only_configured_origins_without_credentials(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(BACKEND_CORS_ORIGINS="https://shop.example.com"))

    async with http_client(app) as http:
        allowed = await http.options(
            PRODUCTS,
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )
        foreign = await http.options(
            PRODUCTS,
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        )

    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-credentials" not in allowed.headers
    assert foreign.headers.get("access-control-allow-origin") != "https://evil.example.com"
    assert "access-control-allow-credentials" not in foreign.headers


async def test_a_wildcard_origin_never_comes_with_credentials(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(BACKEND_CORS_ORIGINS="*"))

    async with http_client(app) as http:
        response = await http.get(
            PRODUCTS, headers={"Origin": "https://anyone.example.com", "Cookie": "a=b"}
        )

    assert response.headers["access-control-allow-origin"] in ("*", "https://anyone.example.com")
    assert "access-control-allow-credentials" not in response.headers


async def test_unknown_hosts_are_refused_when_hosts_are_configured(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(ALLOWED_HOSTS="shop.example.com"))

    async with http_client(app) as http:
        refused = await http.get("/health", headers={"Host": "evil.example.com"})
        served = await http.get("/health", headers={"Host": "shop.example.com"})

    assert refused.status_code == 400
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert served.status_code == 200


@pytest.mark.parametrize("key", ["", "short", "k" * 31])
def test_production_refuses_a_missing_or_short_secret_key(tmp_path: Path, key: str) -> None:
    environ = {"ENVIRONMENT": "production", "SECRET_KEY": key}

    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environ, env_file=None, secret_file=tmp_path / "secret")


def test_production_refuses_a_short_previous_key(tmp_path: Path) -> None:
    environ = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": SECRET_32,
        "PREVIOUS_SECRET_KEYS": "old-and-short",
    }
    with pytest.raises(SettingsError, match="PREVIOUS_SECRET_KEYS"):
        load_settings(environ, env_file=None, secret_file=tmp_path / "secret")


def test_production_accepts_a_key_of_32_bytes(tmp_path: Path) -> None:
    environ = {"ENVIRONMENT": "production", "SECRET_KEY": SECRET_32}
    settings = load_settings(environ, env_file=None, secret_file=tmp_path / "secret")
    assert settings.secret_key == SECRET_32
    assert SECRET_32 not in repr(settings)


async def test_the_openapi_document_names_no_internal_detail(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).text
    for leak in ("secret", "postgresql", "sqlite", "Traceback"):
        assert leak not in document.lower()
