"""Login limits hold however many attempts arrive at once, in memory and through Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.http.conftest import BASE_URL, PASSWORD, Api, assert_problem, make_settings

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def login(http: httpx.AsyncClient, email: str, password: str) -> Any:
    return http.post(LOGIN, json={"email": email, "password": password})


async def forty_at_once_for_one_email(http: httpx.AsyncClient) -> list[httpx.Response]:
    """39 wrong passwords and the right one, all at once."""
    attempts = [login(http, "alice@example.com", f"wrong-{n}") for n in range(39)]
    attempts.insert(20, login(http, "alice@example.com", PASSWORD))
    return list(await asyncio.gather(*attempts))


def assert_at_most_five_checked(responses: list[httpx.Response]) -> None:
    counted = statuses(responses)
    assert set(counted) <= {200, 401, 429}
    assert counted[200] + counted[401] <= 5
    assert counted[429] >= 35
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)


async def test_forty_concurrent_logins_for_one_email_check_at_most_five(api: Api) -> None:
    await api.register()

    assert_at_most_five_checked(await forty_at_once_for_one_email(api.http))


@asynccontextmanager
async def _client(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


async def test_a_hundred_concurrent_logins_from_one_client_check_at_most_fifty(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(LOGIN_MAX_FAILURES_PER_CLIENT="50"))
    async with _client(app, "203.0.113.9") as attacker:
        responses = await asyncio.gather(
            *(login(attacker, f"victim{n}@example.com", "wrong-password") for n in range(100))
        )

    assert statuses(list(responses)) == {401: 50, 429: 50}


@pytest.mark.redis
async def test_the_limits_hold_at_once_through_redis(
    app_for: Callable[..., Any], redis_url: str
) -> None:
    app = app_for(settings=make_settings(REDIS_URL=redis_url))
    async with _client(app, "203.0.113.9") as http:
        registered = await http.post(
            "/api/v1/auth/register", json={"email": "alice@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201

        assert_at_most_five_checked(await forty_at_once_for_one_email(http))


async def test_wrong_current_passwords_count_as_failed_logins(api: Api) -> None:
    headers = await api.user()

    guesses = [
        await api.http.patch(
            ME,
            json={"password": "new-password-1", "current_password": f"guess-{n}"},
            headers=headers,
        )
        for n in range(6)
    ]

    assert [g.status_code for g in guesses] == [403] * 5 + [429]
    assert int(guesses[-1].headers["retry-after"]) >= 1
    assert_problem(await login(api.http, "alice@example.com", PASSWORD), 429)


async def test_a_right_current_password_does_not_count(api: Api) -> None:
    headers = await api.user()

    for n in range(6):
        changed = await api.http.patch(
            ME,
            json={"email": f"alice{n}@example.com", "current_password": PASSWORD},
            headers=headers,
        )
        assert changed.status_code == 200
