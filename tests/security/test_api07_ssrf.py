"""API7:2023 Server Side Request Forgery: the server never fetches a URL a client gave.

The only URL a client hands the API is a product's ``image_url``. It must be http or
https (no ``file:``, ``gopher:``, ``ftp:``, ``data:`` or ``javascript:``), and it is
stored and returned as text: no request, lookup or connection is ever made for it,
even when it names the loopback interface or a cloud metadata service.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from tests.http.conftest import Api

PRODUCT = {"name": "Red Shirt", "price": "19.99", "stock": 10, "category": "shirts"}
INTERNAL_URLS = [
    "http://127.0.0.1:6379/",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::1]:5432/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "https://localhost/admin",
]


@pytest.fixture
def outbound_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and stops) every connection or name lookup the process attempts."""
    attempts: list[str] = []

    def refuse(kind: str) -> Any:
        def attempt(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{kind} {args[1:] if kind.startswith('socket.') else args}")
            raise OSError(f"outbound {kind} attempted in a test that forbids it")

        return attempt

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(
        asyncio.BaseEventLoop, "create_connection", refuse("loop.create_connection")
    )
    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", refuse("loop.getaddrinfo"))
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "ftp://example.com/image.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "//169.254.169.254/latest",
        "169.254.169.254",
    ],
)
async def test_only_http_and_https_image_urls_are_accepted(memory_api: Api, url: str) -> None:
    admin = await memory_api.superuser()

    response = await memory_api.http.post(
        "/api/v1/products", json={**PRODUCT, "image_url": url}, headers=admin
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.image_url"


@pytest.mark.parametrize("url", INTERNAL_URLS)
async def test_an_image_url_is_stored_never_fetched(
    memory_api: Api, url: str, outbound_attempts: list[str]
) -> None:
    admin = await memory_api.superuser()

    created = await memory_api.http.post(
        "/api/v1/products", json={**PRODUCT, "image_url": url}, headers=admin
    )
    assert created.status_code == 201, created.text
    product_path = f"/api/v1/products/{created.json()['id']}"
    replaced = await memory_api.http.put(
        product_path, json={**PRODUCT, "image_url": url}, headers=admin
    )
    read = await memory_api.http.get(product_path)
    listed = await memory_api.http.get("/api/v1/products")

    assert outbound_attempts == []
    assert replaced.status_code == 200
    assert read.json()["image_url"] == url
    assert listed.json()["items"][0]["image_url"] == url


async def test_the_guard_against_outbound_connections_works(outbound_attempts: list[str]) -> None:
    # Without this, a broken fixture would let the test above pass vacuously.
    with pytest.raises(OSError, match="outbound"):
        await asyncio.open_connection("169.254.169.254", 80)
    assert outbound_attempts
