"""Security events: failed and throttled logins, refresh-token reuse, wrong current
passwords and role changes, each one record on ``storefront.security``, without secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from entrypoints.http.security_events import SECURITY_LOGGER
from tests.http.conftest import PASSWORD, Api, bearer, http_client, make_settings
from tests.http.log_capture import captured


async def test_failed_then_throttled_logins_name_the_account_and_the_client(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(settings=make_settings(LOGIN_MAX_FAILURES_PER_EMAIL="2"))
    wrong = {"username": "alice@example.com", "password": "not-the-password-1"}
    with captured(SECURITY_LOGGER) as log:
        async with http_client(app) as http:
            statuses = [(await http.post("/api/v1/auth/login", data=wrong)).status_code]
            statuses.append((await http.post("/api/v1/auth/login", data=wrong)).status_code)
            statuses.append((await http.post("/api/v1/auth/login", data=wrong)).status_code)

    assert statuses == [401, 401, 429]
    entries = log.entries()
    assert [entry["event"] for entry in entries] == [
        "login.failed",
        "login.failed",
        "login.throttled",
    ]
    assert {(entry["email"], entry["client"], entry["level"]) for entry in entries} == {
        ("alice@example.com", "127.0.0.1", "WARNING")
    }
    assert entries[-1]["retry_after_seconds"] > 0
    assert not any("not-the-password-1" in line for line in log.lines)


async def test_reuse_of_a_refresh_token_and_a_wrong_current_password_are_reported(
    memory_api: Api,
) -> None:
    await memory_api.register("alice@example.com")
    tokens = await memory_api.login("alice@example.com")
    refresh = {"refresh_token": tokens["refresh_token"]}
    with captured(SECURITY_LOGGER) as log:
        assert (await memory_api.http.post("/api/v1/auth/refresh", json=refresh)).status_code == 200
        assert (await memory_api.http.post("/api/v1/auth/refresh", json=refresh)).status_code == 401
        fresh = await memory_api.login("alice@example.com")
        denied = await memory_api.http.patch(
            "/api/v1/users/me",
            json={"password": "a-new-password-2", "current_password": "a-wrong-guess-3"},
            headers=bearer(fresh["access_token"]),
        )

    assert denied.status_code == 403
    reused, wrong_password = log.entries()
    user_id = (
        await memory_api.http.get("/api/v1/users/me", headers=bearer(fresh["access_token"]))
    ).json()["id"]
    assert (reused["event"], reused["user_id"], reused["client"]) == (
        "refresh_token.reused",
        user_id,
        "127.0.0.1",
    )
    assert (wrong_password["event"], wrong_password["user_id"]) == (
        "password.check_failed",
        user_id,
    )
    secrets = [
        tokens["refresh_token"],
        tokens["access_token"],
        "a-new-password-2",
        "a-wrong-guess-3",
    ]
    assert not [secret for secret in secrets for line in log.lines if secret in line]


async def test_promotions_demotions_and_deactivations_are_recorded_with_the_actor(
    memory_api: Api,
) -> None:
    admin = await memory_api.superuser()
    await memory_api.register("bob@example.com")
    admin_id = (await memory_api.http.get("/api/v1/users/me", headers=admin)).json()["id"]
    bob = await memory_api.login("bob@example.com")
    bob_id = (
        await memory_api.http.get("/api/v1/users/me", headers=bearer(bob["access_token"]))
    ).json()["id"]
    with captured(SECURITY_LOGGER) as log:
        await memory_api.http.patch(
            f"/api/v1/users/{bob_id}", json={"is_superuser": True}, headers=admin
        )
        await memory_api.http.patch(
            f"/api/v1/users/{bob_id}", json={"full_name": "Bob"}, headers=admin
        )
        await memory_api.http.delete(f"/api/v1/users/{bob_id}", headers=admin)

    changes = [
        (entry["event"], entry["actor_id"], entry["user_id"], entry["changes"], entry["level"])
        for entry in log.entries()
    ]
    # A name change is not a security event.
    assert changes == [
        ("user.role_changed", admin_id, bob_id, {"is_superuser": True}, "INFO"),
        ("user.role_changed", admin_id, bob_id, {"is_active": False}, "INFO"),
    ]
    assert PASSWORD not in "".join(log.lines)


async def _id_of(api: Api, headers: dict[str, str]) -> int:
    response = await api.http.get("/api/v1/users/me", headers=headers)
    return int(response.json()["id"])
