"""Randomised mixes of concurrent writes on PostgreSQL: the invariants hold, nothing 5xx.

Each mix runs for a few seconds of wall time (MIX_SECONDS), and in any case until a
minimum of work is done (MIN_WRITES), so a slow machine still races as many writes.
The seed is printed on failure.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.http.conftest import Api, bearer
from tests.http.test_order_races import customers

MIX_SECONDS = 3.0
MIN_WRITES = 40
ORDERS = "/api/v1/orders"
PRODUCTS = "/api/v1/products"
USERS = "/api/v1/users"

on_postgresql = pytest.mark.parametrize(
    "api", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Tally:
    """Every status seen, per kind of request."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, int]] = Counter()

    def note(self, kind: str, response: httpx.Response) -> httpx.Response:
        self.seen[(kind, response.status_code)] += 1
        return response

    def done(self, deadline: float, kind: str, status: int) -> bool:
        """Past the deadline, with at least MIN_WRITES answers of this kind and status."""
        return time.monotonic() >= deadline and self.seen[(kind, status)] >= MIN_WRITES

    def server_errors(self) -> list[tuple[str, int]]:
        return [key for key in self.seen if key[1] >= 500]


async def placed_units(api: Api, headers: dict[str, str]) -> Counter[int]:
    """Units per product in the customer's placed (not cancelled) orders."""
    units: Counter[int] = Counter()
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
        page = (await api.http.get(ORDERS, params=params, headers=headers)).json()
        for order in page["items"]:
            if order["status"] == "placed":
                for line in order["items"]:
                    units[line["product_id"]] += line["quantity"]
        after = page["next_cursor"]
        if after is None:
            return units


@on_postgresql
async def test_orders_cancellations_and_admin_edits_never_lose_a_unit(api: Api) -> None:
    seed = random.randrange(1 << 30)
    admin = await api.superuser()
    initial = {
        (await api.product(admin, name=f"Item {n}", stock=stock))["id"]: stock
        for n, stock in enumerate((15, 30, 60, 120))
    }
    product_ids = list(initial)
    shoppers = await customers(api, 6)
    tally = Tally()
    deadline = time.monotonic() + MIX_SECONDS

    async def shop(headers: dict[str, str], rng: random.Random) -> None:
        mine: list[int] = []
        while not tally.done(deadline, "order", 201):
            roll = rng.random()
            if roll < 0.25 and mine:
                order_id = mine.pop(rng.randrange(len(mine)))
                tally.note(
                    "cancel", await api.http.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
                )
                continue
            chosen = rng.sample(product_ids, 1 if roll < 0.6 else rng.randint(2, 3))
            body = {"items": [{"product_id": p, "quantity": rng.randint(1, 3)} for p in chosen]}
            placed = tally.note("order", await api.http.post(ORDERS, json=body, headers=headers))
            if placed.status_code == 201:
                mine.append(placed.json()["id"])

    async def curate(rng: random.Random) -> None:
        while not tally.done(deadline, "order", 201):
            path = f"{PRODUCTS}/{rng.choice(product_ids)}"
            edit = (
                {"price": f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"}
                if rng.random() < 0.6
                else {"name": f"Item {rng.randint(0, 10**6)}"}
            )
            tally.note("edit", await api.http.patch(path, json=edit, headers=admin))

    rngs = [random.Random(seed + n) for n in range(len(shoppers) + 2)]
    await asyncio.gather(
        *(shop(headers, rng) for headers, rng in zip(shoppers, rngs, strict=False)),
        curate(rngs[-1]),
        curate(rngs[-2]),
    )

    assert not tally.server_errors(), (seed, tally.seen)
    assert {status for (kind, status) in tally.seen if kind == "order"} <= {201, 409}, seed
    assert {status for (kind, status) in tally.seen if kind != "order"} <= {200}, seed
    sold: Counter[int] = Counter()
    for headers in shoppers:
        sold.update(await placed_units(api, headers))
    for product_id, stock in initial.items():
        now = (await api.http.get(f"{PRODUCTS}/{product_id}")).json()["stock"]
        assert now >= 0
        assert now + sold[product_id] == stock, (seed, product_id, tally.seen)


@on_postgresql
async def test_profile_edits_never_undo_the_admins_last_decision(api: Api) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    admin = await api.superuser()
    await api.superuser("deputy@example.com")  # so demoting a user is never the last one
    tally = Tally()
    users = []
    for n in range(3):
        email = f"member{n}@example.com"
        headers = await api.user(email)
        user_id = (await api.http.get(f"{USERS}/me", headers=headers)).json()["id"]
        users.append((email, user_id))
    decisions = [
        {"is_superuser": True},
        {"is_superuser": False},
        {"is_active": False},
        {"is_active": True},
        {"full_name": "Set by admin"},
    ]
    final: dict[int, dict[str, Any]] = {user_id: {} for _, user_id in users}
    deadline = time.monotonic() + MIX_SECONDS

    async def edit_own_profile(email: str) -> None:
        headers: dict[str, str] | None = None
        number = 0
        while not tally.done(deadline, "own", 200):
            if headers is None:
                login = await api.http.post(
                    "/api/v1/auth/login", json={"email": email, "password": "correct-horse-battery"}
                )
                tally.note("login", login)
                if login.status_code != 200:  # deactivated for now
                    await asyncio.sleep(0.01)
                    continue
                headers = bearer(login.json()["access_token"])
            number += 1
            edit = {"full_name": f"Own edit {number}"}
            response = tally.note(
                "own", await api.http.patch(f"{USERS}/me", json=edit, headers=headers)
            )
            if response.status_code == 401:  # a decision ended the session: log in again
                headers = None

    async def decide() -> None:
        while not tally.done(deadline, "own", 200):
            _, user_id = rng.choice(users)
            decision = rng.choice(decisions)
            response = await api.http.patch(f"{USERS}/{user_id}", json=decision, headers=admin)
            tally.note("decision", response)
            if response.status_code == 200:
                final[user_id].update({k: v for k, v in decision.items() if k != "full_name"})

    # One admin: decisions are sequential, so the last answered is the last made.
    await asyncio.gather(*(edit_own_profile(email) for email, _ in users), decide())

    assert not tally.server_errors(), (seed, tally.seen)
    assert {status for (kind, status) in tally.seen if kind == "decision"} == {200}, seed
    assert {status for (kind, status) in tally.seen if kind == "own"} <= {200, 401}, seed
    for user_id, expected in final.items():
        stored = (await api.http.get(f"{USERS}/{user_id}", headers=admin)).json()
        for field, value in expected.items():
            assert stored[field] == value, (seed, user_id, field, tally.seen)
