"""API6:2023 Unrestricted Access to Sensitive Business Flows: ordering cannot be abused.

What limits the order flow, each proved below:

- an ``Idempotency-Key`` makes retries (a double click, a client retrying after a
  timeout, a replaying script) place one order, however often or concurrently sent;
  the same key with another body is a 409, never a second order;
- orders need an account and an active one: a deactivated account's token stops at once;
- stock never goes below zero, whatever the number of orders racing for it, and a
  cancelled order gives its stock back exactly once (hoarding is bounded by stock);
- an order holds at most 100 lines of at most 1000 units each.

What is deliberately **not** limited (a decision for the deployment, not a bug):

- the number of distinct orders an account places: no per-account order rate limit
  exists; a general request rate limit belongs at the reverse proxy;
- registrations: they are not throttled and a taken e-mail answers 409 (which tells
  that an account exists); login failures are throttled (see API4).
"""

from __future__ import annotations

import asyncio

from tests.http.conftest import Api, items, stock_of


async def test_a_retried_order_with_one_key_is_placed_once(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = {**await api.user(), "Idempotency-Key": "checkout-42"}
    body = items((product["id"], 2))

    responses = [
        await api.http.post("/api/v1/orders", json=body, headers=headers) for _ in range(5)
    ]

    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert await stock_of(api, product["id"]) == 8
    orders = await api.http.get("/api/v1/orders", headers=headers)
    assert orders.json()["total"] == 1


async def test_concurrent_orders_with_one_key_place_one_order(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = {**await api.user(), "Idempotency-Key": "double-click"}
    body = items((product["id"], 1))

    responses = await asyncio.gather(
        *(api.http.post("/api/v1/orders", json=body, headers=headers) for _ in range(4))
    )

    placed = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(placed) == 1
    # A request that lost the race for the key may be told so (409), never given a new order.
    assert {response.status_code for response in responses} <= {201, 409}
    assert await stock_of(api, product["id"]) == 9


async def test_reusing_a_key_for_another_order_is_a_conflict(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = {**await api.user(), "Idempotency-Key": "reused"}
    first = items((product["id"], 1))
    other = items((product["id"], 5))

    assert (await api.http.post("/api/v1/orders", json=first, headers=headers)).status_code == 201
    response = await api.http.post("/api/v1/orders", json=other, headers=headers)

    assert response.status_code == 409
    assert await stock_of(api, product["id"]) == 9


async def test_one_users_key_does_not_collide_with_anothers(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin, stock=10)
    body = items((product["id"], 1))
    alice = {**await memory_api.user("alice@example.com"), "Idempotency-Key": "same"}
    bob = {**await memory_api.user("bob@example.com"), "Idempotency-Key": "same"}

    first = await memory_api.http.post("/api/v1/orders", json=body, headers=alice)
    second = await memory_api.http.post("/api/v1/orders", json=body, headers=bob)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_racing_orders_never_take_more_than_the_stock(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=3)
    headers = await api.user()
    body = items((product["id"], 1))

    responses = await asyncio.gather(
        *(api.http.post("/api/v1/orders", json=body, headers=headers) for _ in range(8))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [409] * 5
    assert await stock_of(api, product["id"]) == 0


async def test_cancelling_twice_gives_the_stock_back_once(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=5)
    headers = await api.user()
    body = items((product["id"], 2))
    order = (await api.http.post("/api/v1/orders", json=body, headers=headers)).json()

    first = await api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    second = await api.http.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)

    assert (first.status_code, second.status_code) == (200, 409)
    assert await stock_of(api, product["id"]) == 5


async def test_a_deactivated_account_cannot_order(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin)
    headers = await memory_api.user()
    me = (await memory_api.http.get("/api/v1/users/me", headers=headers)).json()
    await memory_api.http.delete(f"/api/v1/users/{me['id']}", headers=admin)

    response = await memory_api.http.post(
        "/api/v1/orders",
        json=items((product["id"], 1)),
        headers=headers,
    )

    assert response.status_code == 401


async def test_an_order_line_holds_at_most_a_thousand_units(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin, stock=5000)
    headers = await memory_api.user()

    response = await memory_api.http.post(
        "/api/v1/orders",
        json=items((product["id"], 1001)),
        headers=headers,
    )

    assert response.status_code == 422
