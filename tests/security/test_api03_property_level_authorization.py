"""API3:2023 Broken Object Property Level Authorization: no mass assignment, no leaks.

Request bodies are closed Structs: a field a client may not set (``is_superuser``,
``is_active``, ``slug``, ``id``, ``unit_price``, ``status``, ``hashed_password``,
``created_at``...) is an unknown field, refused with a 422 that names it, and nothing
changes. No response of any operation ever carries a password hash.

Refusing a field happens at the edge, whatever the storage, so those tests run on
the in-memory adapters; the walk over every operation runs on every backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.http.conftest import PASSWORD, Api, bearer, items
from tests.http.mailbox import Mailbox, token_in

PRIVILEGED_USER_FIELDS = {
    "is_superuser": True,
    "is_active": False,
    "id": 99,
    "hashed_password": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "token_version": 7,
}
SERVER_PRODUCT_FIELDS = {
    "slug": "chosen-slug",
    "id": 99,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "deleted_at": None,
}
SERVER_ORDER_FIELDS = {
    "status": "cancelled",
    "id": 99,
    "user_id": 1,
    "total": "0.01",
    "created_at": "2020-01-01T00:00:00Z",
}
SERVER_LINE_FIELDS = {"unit_price": "0.01", "product_name": "Free", "line_total": "0.01"}
PRODUCT = {"name": "Red Shirt", "price": "19.99", "stock": 10, "category": "shirts"}


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert {"field": field, "message": "Unknown field"} in response.json()["errors"]


@pytest.mark.parametrize(("field", "value"), PRIVILEGED_USER_FIELDS.items())
async def test_registering_refuses_privileged_fields(
    memory_api: Api, field: str, value: Any
) -> None:
    response = await memory_api.register("mallory@example.com", **{field: value})

    _refused(response, f"body.{field}")
    # Nothing was created: the address is still free.
    assert (await memory_api.register("mallory@example.com")).status_code == 201


@pytest.mark.parametrize(("field", "value"), PRIVILEGED_USER_FIELDS.items())
async def test_one_cannot_set_privileged_fields_on_ones_own_profile(
    memory_api: Api, field: str, value: Any
) -> None:
    headers = await memory_api.user("mallory@example.com")

    response = await memory_api.http.patch("/api/v1/users/me", json={field: value}, headers=headers)

    _refused(response, f"body.{field}")
    me = (await memory_api.http.get("/api/v1/users/me", headers=headers)).json()
    assert me["is_superuser"] is False
    assert me["is_active"] is True


@pytest.mark.parametrize(("field", "value"), SERVER_PRODUCT_FIELDS.items())
async def test_server_made_product_fields_are_refused(
    memory_api: Api, field: str, value: Any
) -> None:
    admin = await memory_api.superuser()
    created = await memory_api.http.post(
        "/api/v1/products", json={**PRODUCT, field: value}, headers=admin
    )
    _refused(created, f"body.{field}")

    product = await memory_api.product(admin)
    path = f"/api/v1/products/{product['id']}"
    replaced = await memory_api.http.put(path, json={**PRODUCT, field: value}, headers=admin)
    _refused(replaced, f"body.{field}")
    patched = await memory_api.http.patch(path, json={field: value}, headers=admin)
    _refused(patched, f"body.{field}")
    assert (await memory_api.http.get(path)).json()["slug"] == "red-shirt"


@pytest.mark.parametrize(("field", "value"), SERVER_ORDER_FIELDS.items())
async def test_server_made_order_fields_are_refused(
    memory_api: Api, field: str, value: Any
) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin)
    headers = await memory_api.user()
    body = {"items": [{"product_id": product["id"], "quantity": 1}], field: value}

    response = await memory_api.http.post("/api/v1/orders", json=body, headers=headers)

    _refused(response, f"body.{field}")
    assert (await memory_api.http.get("/api/v1/orders", headers=headers)).json()["total"] == 0


@pytest.mark.parametrize(("field", "value"), SERVER_LINE_FIELDS.items())
async def test_a_client_cannot_price_its_own_order_lines(
    memory_api: Api, field: str, value: Any
) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin)
    headers = await memory_api.user()
    body = {"items": [{"product_id": product["id"], "quantity": 1, field: value}]}

    response = await memory_api.http.post("/api/v1/orders", json=body, headers=headers)

    _refused(response, f"body.items[0].{field}")


# --- no operation leaks a password hash -----------------------------------------------------

Step = Callable[[Api, dict[str, Any]], Awaitable[httpx.Response]]


def _steps() -> dict[str, Step]:
    """One request per operation, in an order where each finds what it needs."""

    def auth(state: dict[str, Any], who: str = "admin") -> dict[str, str]:
        return state[who]

    async def register(api: Api, state: dict[str, Any]) -> httpx.Response:
        return await api.register("walker@example.com", full_name="Walker")

    async def login(api: Api, state: dict[str, Any]) -> httpx.Response:
        response = await api.http.post(
            "/api/v1/auth/login", json={"email": "walker@example.com", "password": PASSWORD}
        )
        state["walker_tokens"] = response.json()
        state["walker"] = bearer(response.json()["access_token"])
        return response

    async def refresh(api: Api, state: dict[str, Any]) -> httpx.Response:
        response = await api.http.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": state["walker_tokens"]["refresh_token"]},
        )
        state["walker_tokens"] = response.json()
        return response

    async def logout(api: Api, state: dict[str, Any]) -> httpx.Response:
        return await api.http.post(
            "/api/v1/auth/logout",
            json={"refresh_token": state["walker_tokens"]["refresh_token"]},
            headers=state["walker"],
        )

    def get(path: str, who: str | None = "admin") -> Step:
        async def step(api: Api, state: dict[str, Any]) -> httpx.Response:
            headers = auth(state, who) if who else {}
            return await api.http.get(path.format(**state), headers=headers)

        return step

    def send(method: str, path: str, body: dict[str, Any] | None, who: str = "admin") -> Step:
        async def step(api: Api, state: dict[str, Any]) -> httpx.Response:
            response = await api.http.request(
                method, path.format(**state), json=body, headers=auth(state, who)
            )
            return response

        return step

    async def create_product(api: Api, state: dict[str, Any]) -> httpx.Response:
        response = await api.http.post("/api/v1/products", json=PRODUCT, headers=state["admin"])
        state["product_id"] = response.json()["id"]
        return response

    async def place_order(api: Api, state: dict[str, Any]) -> httpx.Response:
        body = items((state["product_id"], 1))
        response = await api.http.post("/api/v1/orders", json=body, headers=state["walker"])
        state["order_id"] = response.json()["id"]
        return response

    async def forgot_password(api: Api, state: dict[str, Any]) -> httpx.Response:
        await Mailbox(api.container).collect()  # what earlier steps queued
        body = {"email": "root@example.com"}
        return await api.http.post("/api/v1/auth/forgot-password", json=body)

    async def verify_email(api: Api, state: dict[str, Any]) -> httpx.Response:
        sent = await Mailbox(api.container).collect()
        [*_, link] = [m for m in sent if m.to == "walker@example.com"]
        token = token_in(link, "verify-email")
        return await api.http.post("/api/v1/auth/verify-email", json={"token": token})

    async def reset_password(api: Api, state: dict[str, Any]) -> httpx.Response:
        sent = await Mailbox(api.container).collect()
        [link] = [m for m in sent if m.subject == "Reset your password"]
        body = {"token": token_in(link, "reset-password"), "password": PASSWORD}
        return await api.http.post("/api/v1/auth/reset-password", json=body)

    async def walker_id(api: Api, state: dict[str, Any]) -> httpx.Response:
        response = await api.http.get("/api/v1/users/me", headers=state["walker"])
        state["user_id"] = response.json()["id"]
        return response

    async def end_my_session(api: Api, state: dict[str, Any]) -> httpx.Response:
        second = await api.http.post(
            "/api/v1/auth/login", json={"email": "walker@example.com", "password": PASSWORD}
        )
        headers = bearer(second.json()["access_token"])
        sessions = (await api.http.get("/api/v1/users/me/sessions", headers=headers)).json()
        current = next(session for session in sessions if session["current"])
        return await api.http.delete(f"/api/v1/users/me/sessions/{current['id']}", headers=headers)

    async def erase_my_account(api: Api, state: dict[str, Any]) -> httpx.Response:
        await api.register("eraser@example.com", full_name="Eraser")
        tokens = await api.login("eraser@example.com")
        return await api.http.request(
            "DELETE",
            "/api/v1/users/me",
            json={"current_password": PASSWORD},
            headers=bearer(tokens["access_token"]),
        )

    return {
        "health": get("/health", None),
        "readiness": get("/health/ready", None),
        "register": register,
        "login": login,
        "refresh": refresh,
        "resend_verification_email": send(
            "POST", "/api/v1/auth/verify-email/resend", None, "walker"
        ),
        "verify_email": verify_email,
        "get_my_profile": walker_id,
        "update_my_profile": send("PATCH", "/api/v1/users/me", {"full_name": "W"}, "walker"),
        "create_product": create_product,
        "list_products": get("/api/v1/products", None),
        "get_product": get("/api/v1/products/{product_id}", None),
        "get_product_by_slug": get("/api/v1/products/slug/red-shirt", None),
        "replace_product": send("PUT", "/api/v1/products/{product_id}", PRODUCT),
        "update_product": send("PATCH", "/api/v1/products/{product_id}", {"stock": 50}),
        "place_order": place_order,
        "list_orders": get("/api/v1/orders", "walker"),
        "get_order": get("/api/v1/orders/{order_id}", "walker"),
        "cancel_order": send("POST", "/api/v1/orders/{order_id}/cancel", None, "walker"),
        "get_my_stats": get("/api/v1/users/me/stats", "walker"),
        "list_my_sessions": get("/api/v1/users/me/sessions", "walker"),
        "end_my_session": end_my_session,
        "erase_my_account": erase_my_account,
        "list_users": get("/api/v1/users"),
        "get_user": get("/api/v1/users/{user_id}"),
        "update_user": send("PATCH", "/api/v1/users/{user_id}", {"full_name": "Walked"}),
        "logout": logout,
        "logout_all": send("POST", "/api/v1/auth/logout-all", None, "walker"),
        "delete_product": send("DELETE", "/api/v1/products/{product_id}", None),
        "deactivate_user": send("DELETE", "/api/v1/users/{user_id}", None),
        # Last: a reset ends the administrator's sessions.
        "forgot_password": forgot_password,
        "reset_password": reset_password,
    }


def _documented_operations(api: Api) -> set[str]:
    paths = api.app.openapi_schema.to_schema()["paths"]
    return {
        operation["operationId"]
        for item in paths.values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


async def test_no_operation_ever_returns_a_password_hash(api: Api) -> None:
    steps = _steps()
    # A new operation must join the walk: the inventory comes from the document.
    assert set(steps) == _documented_operations(api)
    state: dict[str, Any] = {"admin": await api.superuser()}
    bodies: dict[str, str] = {}

    for operation, step in steps.items():
        response = await step(api, state)
        assert response.status_code < 400, (operation, response.text)
        bodies[operation] = response.text

    for operation, body in bodies.items():
        assert "hashed_password" not in body, operation
        assert "$argon2" not in body, operation
        assert PASSWORD not in body, operation
