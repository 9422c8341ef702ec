"""Racing clients over HTTP: 409 for the losers, never an oversell, never a 500."""

from __future__ import annotations

import asyncio
from collections import Counter

from application.auth import RegisterCommand
from tests.http.conftest import PASSWORD, Api, bearer, items, stock_of

ORDERS = "/api/v1/orders"


async def customers(api: Api, count: int) -> list[dict[str, str]]:
    """Bearer headers for ``count`` new customers (tokens minted directly, to save time)."""
    headers = []
    for number in range(count):
        user = await api.container.register_user.execute(
            RegisterCommand(email=f"racer{number}@example.com", password=PASSWORD)
        )
        headers.append(bearer(api.container.tokens.issue_access_token(user).token))
    return headers


async def test_fifty_customers_racing_for_ten_units_get_ten_orders_and_forty_409s(
    api: Api,
) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    body = items((product["id"], 1))

    responses = await asyncio.gather(
        *(api.http.post(ORDERS, json=body, headers=h) for h in await customers(api, 50))
    )

    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    assert all(str(product["id"]) in r.json()["detail"] for r in responses if r.status_code == 409)
    stock = await stock_of(api, product["id"])
    assert stock == 0


async def test_two_concurrent_requests_with_one_idempotency_key_create_one_order(
    api: Api,
) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    (headers,) = await customers(api, 1)
    headers = {**headers, "Idempotency-Key": "checkout-42"}
    body = items((product["id"], 3))

    first, second = await asyncio.gather(
        api.http.post(ORDERS, json=body, headers=headers),
        api.http.post(ORDERS, json=body, headers=headers),
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    listed = (await api.http.get(ORDERS, headers=headers)).json()
    assert listed["total"] == 1
    stock = await stock_of(api, product["id"])
    assert stock == 7
