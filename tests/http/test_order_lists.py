"""GET /orders filters: status for everyone, user_id and all=true for superusers only."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Api, assert_problem, fields_of, items

ORDERS = "/api/v1/orders"


async def a_shop(api: Api) -> dict[str, Any]:
    """Alice and Bob place two orders each, in turn; Alice cancels her second."""
    admin = await api.superuser()
    product = await api.product(admin, stock=100)
    alice = await api.user("alice@example.com")
    bob = await api.user("bob@example.com")
    placed = []
    for headers in (alice, bob, alice, bob):
        response = await api.http.post(ORDERS, json=items((product["id"], 1)), headers=headers)
        assert response.status_code == 201, response.text
        placed.append(response.json())
    cancelled = await api.http.post(f"{ORDERS}/{placed[2]['id']}/cancel", headers=alice)
    assert cancelled.status_code == 200
    ids = {
        name: (await api.http.get("/api/v1/users/me", headers=headers)).json()["id"]
        for name, headers in (("alice", alice), ("bob", bob))
    }
    return {"admin": admin, "alice": alice, "bob": bob, "orders": placed, "ids": ids}


def ids_of(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["items"]]


async def test_a_superuser_lists_every_order_newest_first_with_its_owner(api: Api) -> None:
    shop = await a_shop(api)

    response = await api.http.get(ORDERS, params={"all": "true"}, headers=shop["admin"])

    assert ids_of(response) == [order["id"] for order in reversed(shop["orders"])]
    owners = [order["user_id"] for order in response.json()["items"]]
    alice, bob = shop["ids"]["alice"], shop["ids"]["bob"]
    assert owners == [bob, alice, bob, alice]
    assert response.json()["total"] == 4


async def test_a_superuser_lists_one_customers_orders(api: Api) -> None:
    shop = await a_shop(api)
    bob = shop["ids"]["bob"]

    response = await api.http.get(ORDERS, params={"user_id": bob}, headers=shop["admin"])
    nobody = await api.http.get(ORDERS, params={"user_id": 10**12}, headers=shop["admin"])

    assert ids_of(response) == [shop["orders"][3]["id"], shop["orders"][1]["id"]]
    assert {order["user_id"] for order in response.json()["items"]} == {bob}
    assert ids_of(nobody) == []
    assert nobody.json()["total"] == 0


async def test_status_keeps_the_callers_orders_in_that_state(api: Api) -> None:
    shop = await a_shop(api)

    cancelled = await api.http.get(ORDERS, params={"status": "cancelled"}, headers=shop["alice"])
    placed = await api.http.get(ORDERS, params={"status": "placed"}, headers=shop["alice"])

    assert ids_of(cancelled) == [shop["orders"][2]["id"]]
    assert ids_of(placed) == [shop["orders"][0]["id"]]
    assert {order["status"] for order in placed.json()["items"]} == {"placed"}


async def test_a_superuser_pages_through_every_placed_order_by_cursor(api: Api) -> None:
    shop = await a_shop(api)
    params: dict[str, Any] = {"all": "true", "status": "placed", "limit": 2}

    first = await api.http.get(ORDERS, params=params, headers=shop["admin"])
    cursor = first.json()["next_cursor"]
    rest = await api.http.get(ORDERS, params={**params, "after": cursor}, headers=shop["admin"])

    orders = shop["orders"]
    assert ids_of(first) == [orders[3]["id"], orders[1]["id"]]
    assert first.json()["total"] == 3
    assert ids_of(rest) == [orders[0]["id"]]
    assert rest.json()["next_cursor"] is None


async def test_a_cursor_holds_only_with_the_filters_it_came_from(api: Api) -> None:
    shop = await a_shop(api)
    admin = shop["admin"]
    params: dict[str, Any] = {"all": "true", "status": "placed", "limit": 1}
    cursor = (await api.http.get(ORDERS, params=params, headers=admin)).json()["next_cursor"]
    assert cursor

    others: list[dict[str, Any]] = [
        {"all": "true", "status": "cancelled"},
        {"all": "true"},
        {"status": "placed"},
        {"user_id": shop["ids"]["alice"], "status": "placed"},
    ]
    for filters in others:
        response = await api.http.get(ORDERS, params={**filters, "after": cursor}, headers=admin)
        assert fields_of(assert_problem(response, 422)) == {"query.after"}, filters


async def test_bad_filters_are_unprocessable(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    bad: list[tuple[dict[str, Any], str]] = [
        ({"status": "shipped"}, "query.status"),
        ({"status": ""}, "query.status"),
        ({"user_id": 0}, "query.user_id"),
        ({"user_id": "abc"}, "query.user_id"),
        ({"user_id": 2**63}, "query.user_id"),
        ({"all": "perhaps"}, "query.all"),
        ({"all": "true", "user_id": 1}, "query.user_id"),
    ]
    for params, field in bad:
        response = await memory_api.http.get(ORDERS, params=params, headers=admin)
        assert field in fields_of(assert_problem(response, 422)), params


async def test_a_customer_may_not_use_the_operators_filters(api: Api) -> None:
    shop = await a_shop(api)
    alice_id = shop["ids"]["alice"]

    for params in ({"all": "true"}, {"user_id": alice_id}, {"user_id": shop["ids"]["bob"]}):
        response = await api.http.get(ORDERS, params=params, headers=shop["alice"])
        assert_problem(response, 403)
    own = await api.http.get(ORDERS, params={"all": "false"}, headers=shop["alice"])
    assert ids_of(own) == [shop["orders"][2]["id"], shop["orders"][0]["id"]]
