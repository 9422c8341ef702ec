"""What ends every session of an account ends its refresh tokens too, for good."""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.conftest import PASSWORD, Api, assert_problem, bearer

ME = "/api/v1/users/me"
USERS = "/api/v1/users"
REFRESH = "/api/v1/auth/refresh"


async def refresh(api: Api, tokens: dict[str, Any]) -> httpx.Response:
    return await api.http.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})


async def account(api: Api, email: str = "alice@example.com") -> tuple[dict[str, Any], int]:
    """Register ``email``, log in; its tokens and id."""
    assert (await api.register(email)).status_code == 201
    tokens = await api.login(email)
    me = await api.http.get(ME, headers=bearer(tokens["access_token"]))
    return tokens, me.json()["id"]


async def test_a_refresh_token_taken_before_a_password_change_no_longer_refreshes(
    api: Api,
) -> None:
    tokens, _ = await account(api)
    rotated = (await refresh(api, tokens)).json()

    changed = await api.http.patch(
        ME,
        json={"password": "a-brand-new-password", "current_password": PASSWORD},
        headers=bearer(rotated["access_token"]),
    )

    assert changed.status_code == 200
    assert_problem(await refresh(api, rotated), 401)


async def test_a_refresh_token_from_before_a_deactivation_stays_dead_after_reactivation(
    api: Api,
) -> None:
    admin = await api.superuser()
    tokens, user_id = await account(api)

    assert (await api.http.delete(f"{USERS}/{user_id}", headers=admin)).status_code == 204
    reactivated = await api.http.patch(
        f"{USERS}/{user_id}", json={"is_active": True}, headers=admin
    )

    assert reactivated.status_code == 200
    assert_problem(await refresh(api, tokens), 401)
    assert_problem(await api.http.get(ME, headers=bearer(tokens["access_token"])), 401)


async def test_a_change_of_rank_ends_the_refresh_tokens(api: Api) -> None:
    admin = await api.superuser()
    tokens, user_id = await account(api)

    promoted = await api.http.patch(
        f"{USERS}/{user_id}", json={"is_superuser": True}, headers=admin
    )

    assert promoted.status_code == 200
    assert_problem(await refresh(api, tokens), 401)


async def test_a_change_of_name_keeps_the_sessions(api: Api) -> None:
    admin = await api.superuser()
    tokens, user_id = await account(api)

    await api.http.patch(f"{USERS}/{user_id}", json={"full_name": "Al"}, headers=admin)
    await api.http.patch(f"{USERS}/{user_id}", json={"is_active": True}, headers=admin)

    assert (await refresh(api, tokens)).status_code == 200


async def test_the_last_active_superuser_cannot_demote_or_deactivate_itself(api: Api) -> None:
    admin = await api.superuser()
    me = (await api.http.get(ME, headers=admin)).json()

    demoted = await api.http.patch(
        f"{USERS}/{me['id']}", json={"is_superuser": False}, headers=admin
    )
    deactivated = await api.http.delete(f"{USERS}/{me['id']}", headers=admin)

    assert "last active superuser" in assert_problem(demoted, 409)["detail"]
    assert_problem(deactivated, 409)
    after = (await api.http.get(ME, headers=admin)).json()
    assert (after["is_superuser"], after["is_active"]) == (True, True)


async def test_a_superuser_may_step_down_while_another_remains(api: Api) -> None:
    admin = await api.superuser()
    await api.superuser("second@example.com")
    me = (await api.http.get(ME, headers=admin)).json()

    demoted = await api.http.patch(
        f"{USERS}/{me['id']}", json={"is_superuser": False}, headers=admin
    )

    assert demoted.status_code == 200
    assert demoted.json()["is_superuser"] is False
