"""API1:2023 Broken Object Level Authorization: nobody reaches another user's objects.

An order belongs to the user who placed it. Someone else asking for it, by id, gets
the same 404 as for an order that does not exist (so ids cannot be probed), and
cannot cancel it; a superuser sees any order.
"""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Api, items, stock_of


async def _order_of_alice(api: Api) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    admin = await api.superuser()
    product = await api.product(admin, stock=5)
    alice = await api.user("alice@example.com")
    placed = await api.http.post(
        "/api/v1/orders",
        json=items((product["id"], 2)),
        headers=alice,
    )
    assert placed.status_code == 201, placed.text
    return alice, placed.json(), product


async def test_another_users_order_is_not_found(api: Api) -> None:
    _, order, _ = await _order_of_alice(api)
    mallory = await api.user("mallory@example.com")

    response = await api.http.get(f"/api/v1/orders/{order['id']}", headers=mallory)

    assert response.status_code == 404
    missing = await api.http.get("/api/v1/orders/999999", headers=mallory)
    # Someone else's order and no order at all look alike: ids cannot be probed.
    assert response.json()["title"] == missing.json()["title"]
    assert response.headers["content-type"] == missing.headers["content-type"]


async def test_another_users_order_cannot_be_cancelled(api: Api) -> None:
    alice, order, product = await _order_of_alice(api)
    mallory = await api.user("mallory@example.com")

    response = await api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=mallory)

    assert response.status_code == 404
    still = await api.http.get(f"/api/v1/orders/{order['id']}", headers=alice)
    assert still.json()["status"] == "placed"
    assert await stock_of(api, product["id"]) == 3


async def test_a_users_order_list_holds_only_their_orders(api: Api) -> None:
    await _order_of_alice(api)
    mallory = await api.user("mallory@example.com")

    response = await api.http.get("/api/v1/orders", headers=mallory)

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["total"] == 0


async def test_a_superuser_sees_any_order(api: Api) -> None:
    _, order, _ = await _order_of_alice(api)
    admin = bearer_of(await api.login("root@example.com"))

    response = await api.http.get(f"/api/v1/orders/{order['id']}", headers=admin)

    assert response.status_code == 200
    assert response.json()["id"] == order["id"]


async def test_logging_out_with_someone_elses_refresh_token_leaves_their_session(
    api: Api,
) -> None:
    await api.user("alice@example.com")
    alice_tokens = await api.login("alice@example.com")
    mallory = await api.user("mallory@example.com")

    response = await api.http.post(
        "/api/v1/auth/logout",
        json={"refresh_token": alice_tokens["refresh_token"]},
        headers=mallory,
    )

    assert response.status_code == 204
    refreshed = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": alice_tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200


def bearer_of(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_another_users_session_is_not_found_and_stays_alive(api: Api) -> None:
    await api.register("alice@example.com")
    alice = await api.login("alice@example.com")
    mallory = await api.user("mallory@example.com")
    sessions = "/api/v1/users/me/sessions"
    (alices,) = (
        await api.http.get(sessions, headers={"Authorization": f"Bearer {alice['access_token']}"})
    ).json()

    ending = await api.http.delete(f"{sessions}/{alices['id']}", headers=mallory)
    missing = await api.http.delete(f"{sessions}/999999", headers=mallory)
    listed = (await api.http.get(sessions, headers=mallory)).json()

    assert ending.status_code == missing.status_code == 404
    assert ending.json()["title"] == missing.json()["title"]
    assert alices["id"] not in [s["id"] for s in listed]
    refreshed = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": alice["refresh_token"]}
    )
    assert refreshed.status_code == 200
