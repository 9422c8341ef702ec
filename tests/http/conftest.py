"""The real Litestar app, on the in-memory adapters and on PostgreSQL.

``api`` runs each test twice, once per backend (PostgreSQL skipped when it is not
reachable, failed under CI=true); ``store_api`` three times, on SQLite as well.
``memory_api`` is for behaviour of the HTTP edge that no storage can change
(headers, routing, docs), run once. ``app_for``
builds an app on the in-memory adapters with particular settings or container tweaks
(see ``failing``), and closes what it built at teardown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from adapters.passwords import Argon2PasswordHasher
from application.users import CreateSuperuserCommand
from entrypoints.bootstrap import build_container, build_memory_container
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings, load_settings

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
PASSWORD = "correct-horse-battery"
BASE_URL = "http://testserver"
BACKENDS = ["memory", pytest.param("postgres", marks=pytest.mark.postgres)]
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "is_active",
    "is_superuser",
    "is_verified",
    "created_at",
    "updated_at",
}


def cheap_hasher() -> Argon2PasswordHasher:
    """Real argon2id, with parameters small enough for a fast suite."""
    return Argon2PasswordHasher(memory_cost_kib=64, time_cost=1, parallelism=1)


def make_settings(**overrides: str) -> Settings:
    environ = {"SECRET_KEY": TEST_SECRET_KEY, **overrides}
    return load_settings(environ, env_file=None)


class MovableClock:
    """The wall clock, plus however far a test moved it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Api:
    """A client of the API as a test sees it, with shortcuts for common steps."""

    http: httpx.AsyncClient
    app: Litestar
    container: Container
    backend: str
    clock: MovableClock | None = None

    async def register(
        self, email: str = "alice@example.com", password: str = PASSWORD, **extra: Any
    ) -> httpx.Response:
        return await self.http.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )

    async def login(
        self, email: str = "alice@example.com", password: str = PASSWORD
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/auth/login", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def user(self, email: str = "alice@example.com") -> dict[str, str]:
        """Register ``email`` and return bearer headers for it."""
        registered = await self.register(email)
        assert registered.status_code == 201, registered.text
        tokens = await self.login(email)
        return bearer(tokens["access_token"])

    async def superuser(self, email: str = "root@example.com") -> dict[str, str]:
        await self.container.create_superuser.execute(
            CreateSuperuserCommand(email=email, password=PASSWORD)
        )
        tokens = await self.login(email)
        return bearer(tokens["access_token"])

    async def product(
        self, admin: Mapping[str, str], name: str = "Red Shirt", **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name, "price": "19.99", "stock": 10, "category": "shirts", **fields}
        response = await self.http.post("/api/v1/products", json=body, headers=dict(admin))
        assert response.status_code == 201, response.text
        return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def failing(use_case: str, error: Exception) -> Callable[[Container], Container]:
    """A container tweak (for ``app_for``) whose ``use_case`` raises ``error`` when run."""

    class Broken:
        async def execute(self, *_: object) -> None:
            raise error

    return lambda container: dataclasses.replace(container, **{use_case: Broken()})


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["instance"]
    return body


def fields_of(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


def items(*lines: tuple[int, int]) -> dict[str, Any]:
    return {
        "items": [
            {"product_id": product_id, "quantity": quantity} for product_id, quantity in lines
        ]
    }


async def stock_of(api: Api, product_id: int) -> int:
    return (await api.http.get(f"/api/v1/products/{product_id}")).json()["stock"]


def http_client(app: Litestar) -> httpx.AsyncClient:
    """A client calling ``app`` in the test's own event loop.

    Litestar's AsyncTestClient runs the app on another loop, which a test that also
    calls the container directly (to make a superuser) cannot share a pool with.
    """
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def _serve(
    container: Container, backend: str, clock: MovableClock | None
) -> AsyncIterator[Api]:
    # The app's lifespan only closes the container; pytest-asyncio sets fixtures up and
    # tears them down in different tasks, which an ASGI lifespan task group cannot span.
    app = create_app(container)
    try:
        async with http_client(app) as http:
            yield Api(http=http, app=app, container=container, backend=backend, clock=clock)
    finally:
        await container.close()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture(params=BACKENDS)
async def api(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Api]:
    """The app on each backend in turn."""
    if request.param == "postgres":
        url = request.getfixturevalue("migrated_postgres_url")
        pg_settings = make_settings(
            DATABASE_URL=url, DATABASE_POOL_SIZE="4", DATABASE_MAX_OVERFLOW="4"
        )
        container = build_container(pg_settings, hasher=cheap_hasher())
        async for api in _serve(container, "postgres", None):
            yield api
        return
    clock = MovableClock()
    container = build_memory_container(settings, hasher=cheap_hasher(), clock=clock)
    async for api in _serve(container, "memory", clock):
        yield api


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_api(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Api]:
    """The app on each of the three stores (for behaviour the databases could change)."""
    if request.param == "memory":
        async for api in _serve(
            build_memory_container(settings, hasher=cheap_hasher()), "memory", None
        ):
            yield api
        return
    fixture = "migrated_postgres_url" if request.param == "postgres" else "migrated_sqlite_url"
    store_settings = make_settings(DATABASE_URL=request.getfixturevalue(fixture))
    container = build_container(store_settings, hasher=cheap_hasher())
    async for api in _serve(container, request.param, None):
        yield api


@pytest.fixture
async def memory_api(settings: Settings) -> AsyncIterator[Api]:
    """The app on the in-memory adapters only, with a clock the test can move."""
    clock = MovableClock()
    container = build_memory_container(settings, hasher=cheap_hasher(), clock=clock)
    async for api in _serve(container, "memory", clock):
        yield api


@pytest.fixture
async def app_for() -> AsyncIterator[Callable[..., Any]]:
    """Build the app on the in-memory adapters with particular settings or container tweaks.

    Every container built is closed at teardown (the one built, before any tweak, as it
    owns the resources; closing twice, after an app's lifespan, is harmless).
    """
    built: list[Container] = []

    def build(
        *, settings: Settings | None = None, tweak: Callable[[Container], Container] | None = None
    ) -> Litestar:
        container = build_memory_container(settings or make_settings(), hasher=cheap_hasher())
        built.append(container)
        if tweak is not None:
            container = tweak(container)
        return create_app(container)

    try:
        yield build
    finally:
        for container in built:
            await container.close()
