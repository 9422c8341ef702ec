"""Admin writes racing customers' writes over HTTP: each write changes only its own fields."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import httpx

from tests.http.conftest import Api, bearer, items, stock_of
from tests.http.test_order_races import customers

ORDERS = "/api/v1/orders"
USERS = "/api/v1/users"


async def shuffled(*calls: Awaitable[httpx.Response], seed: int = 5) -> list[httpx.Response]:
    ordered = list(calls)
    random.Random(seed).shuffle(ordered)
    return list(await asyncio.gather(*ordered))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def test_price_edits_racing_forty_orders_for_five_units_sell_exactly_five(
    api: Api,
) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=5)
    body = items((product["id"], 1))
    path = f"/api/v1/products/{product['id']}"

    responses = await shuffled(
        *(api.http.post(ORDERS, json=body, headers=h) for h in await customers(api, 40)),
        *(api.http.patch(path, json={"price": f"{20 + n}.00"}, headers=admin) for n in range(10)),
    )

    assert statuses(responses) == {201: 5, 409: 35, 200: 10}
    assert await stock_of(api, product["id"]) == 0


async def _profile_edits_racing(
    api: Api, admin_call: Any, *, promote: bool, rounds: int = 2
) -> list[tuple[dict[str, Any], list[httpx.Response]]]:
    """Per round, a new account sends 60 profile edits while ``admin_call`` runs on it."""
    admin = await api.superuser()
    outcomes = []
    for round_ in range(rounds):
        email = f"bob{round_}@example.com"
        bob = await api.user(email)
        bob_id = (await api.http.get(f"{USERS}/me", headers=bob)).json()["id"]
        if promote:
            promoted = await api.http.patch(
                f"{USERS}/{bob_id}", json={"is_superuser": True}, headers=admin
            )
            assert promoted.status_code == 200
            bob = bearer((await api.login(email))["access_token"])
        edits = (
            api.http.patch(f"{USERS}/me", json={"full_name": f"Bob {n}"}, headers=bob)
            for n in range(60)
        )
        responses = await shuffled(*edits, admin_call(f"{USERS}/{bob_id}", admin), seed=round_)
        after = (await api.http.get(f"{USERS}/{bob_id}", headers=admin)).json()
        outcomes.append((after, responses))
    return outcomes


async def test_sixty_profile_edits_never_undo_a_demotion(api: Api) -> None:
    def demote(path: str, admin: dict[str, str]) -> Awaitable[httpx.Response]:
        return api.http.patch(path, json={"is_superuser": False}, headers=admin)

    for after, responses in await _profile_edits_racing(api, demote, promote=True):
        assert after["is_superuser"] is False
        # Edits after the demotion meet a revoked token; none may fail otherwise.
        assert set(statuses(responses)) <= {200, 401}


async def test_sixty_profile_edits_never_undo_a_deactivation(api: Api) -> None:
    def deactivate(path: str, admin: dict[str, str]) -> Awaitable[httpx.Response]:
        return api.http.delete(path, headers=admin)

    for after, responses in await _profile_edits_racing(api, deactivate, promote=False):
        assert after["is_active"] is False
        assert set(statuses(responses)) <= {200, 204, 401}
