"""GET and DELETE /users/me/sessions: one entry per login, the current one marked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import (
    PASSWORD,
    Api,
    assert_problem,
    bearer,
    http_client,
    make_settings,
)

SESSIONS = "/api/v1/users/me/sessions"
SESSION_FIELDS = {"id", "created_at", "last_used_at", "expires_at", "user_agent", "ip", "current"}


async def log_in(api: Api, agent: str, email: str = "alice@example.com") -> dict[str, Any]:
    response = await api.http.post(
        "/api/v1/auth/login",
        data={"username": email, "password": PASSWORD},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def refresh(api: Api, tokens: dict[str, Any], agent: str = "phone") -> Any:
    return await api.http.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"User-Agent": agent},
    )


def listed(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()
    return sessions


async def test_each_login_is_a_session_newest_first_the_callers_marked(api: Api) -> None:
    await api.register()
    laptop = await log_in(api, "laptop browser")
    phone = await log_in(api, "phone app")

    from_phone = listed(await api.http.get(SESSIONS, headers=bearer(phone["access_token"])))
    from_laptop = listed(await api.http.get(SESSIONS, headers=bearer(laptop["access_token"])))

    assert [set(s) for s in from_phone] == [SESSION_FIELDS, SESSION_FIELDS]
    assert [s["user_agent"] for s in from_phone] == ["phone app", "laptop browser"]
    assert [s["current"] for s in from_phone] == [True, False]
    assert [s["current"] for s in from_laptop] == [False, True]
    assert from_phone[0]["id"] > from_phone[1]["id"]
    assert {s["ip"] for s in from_phone} == {"127.0.0.1"}
    newest = from_phone[0]
    assert newest["created_at"] == newest["last_used_at"] < newest["expires_at"]


async def test_a_refresh_records_its_use_and_keeps_the_session(memory_api: Api) -> None:
    api = memory_api
    assert api.clock is not None
    await api.register()
    tokens = await log_in(api, "laptop")
    (before,) = listed(await api.http.get(SESSIONS, headers=bearer(tokens["access_token"])))

    api.clock.advance(hours=3)
    renewed = (await refresh(api, tokens, agent="laptop, updated")).json()
    (after,) = listed(await api.http.get(SESSIONS, headers=bearer(renewed["access_token"])))

    assert after["id"] == before["id"]
    assert after["current"] is True
    assert after["created_at"] == before["created_at"]
    assert after["last_used_at"] > before["last_used_at"]
    assert after["expires_at"] > before["expires_at"]
    assert after["user_agent"] == "laptop, updated"


async def test_reading_the_sessions_writes_nothing(memory_api: Api) -> None:
    api = memory_api
    assert api.clock is not None
    headers = await api.user()
    (before,) = listed(await api.http.get(SESSIONS, headers=headers))

    api.clock.advance(minutes=5)
    await api.http.get("/api/v1/users/me", headers=headers)
    (after,) = listed(await api.http.get(SESSIONS, headers=headers))

    assert after == before


async def test_the_address_is_the_real_client_behind_a_trusted_proxy(app_for: Any) -> None:
    app = app_for(settings=make_settings(TRUSTED_PROXIES="127.0.0.0/8"))
    async with http_client(app) as http:
        await http.post(
            "/api/v1/auth/register", json={"email": "a@example.com", "password": PASSWORD}
        )
        login = await http.post(
            "/api/v1/auth/login",
            data={"username": "a@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.23"},
        )
        headers = bearer(login.json()["access_token"])
        (session,) = (await http.get(SESSIONS, headers=headers)).json()

    assert session["ip"] == "198.51.100.23"
    assert session["user_agent"].startswith("python-httpx/")


async def test_a_long_or_unprintable_user_agent_is_cut_and_cleaned(api: Api) -> None:
    await api.register()
    tokens = await log_in(api, "\tagent\x7f" + "x" * 2000)

    (session,) = listed(await api.http.get(SESSIONS, headers=bearer(tokens["access_token"])))

    assert session["user_agent"] == ("agent" + "x" * 2000)[:512]


async def test_ending_a_session_stops_its_refresh_token_at_once(api: Api) -> None:
    await api.register()
    laptop = await log_in(api, "laptop")
    phone = await log_in(api, "phone")
    headers = bearer(phone["access_token"])
    laptop_session = listed(await api.http.get(SESSIONS, headers=headers))[1]

    ended = await api.http.delete(f"{SESSIONS}/{laptop_session['id']}", headers=headers)

    assert ended.status_code == 204
    assert ended.content == b""
    assert_problem(await refresh(api, laptop), 401)
    assert [s["user_agent"] for s in listed(await api.http.get(SESSIONS, headers=headers))] == [
        "phone"
    ]
    assert (await refresh(api, phone)).status_code == 200
    again = await api.http.delete(f"{SESSIONS}/{laptop_session['id']}", headers=headers)
    assert_problem(again, 404)


async def test_ending_my_current_session_stops_its_refresh_token(api: Api) -> None:
    await api.register()
    tokens = await log_in(api, "laptop")
    headers = bearer(tokens["access_token"])
    (mine,) = listed(await api.http.get(SESSIONS, headers=headers))

    assert (await api.http.delete(f"{SESSIONS}/{mine['id']}", headers=headers)).status_code == 204

    assert_problem(await refresh(api, tokens), 401)
    assert listed(await api.http.get(SESSIONS, headers=headers)) == []


async def test_logout_and_logout_all_end_the_listed_sessions(api: Api) -> None:
    await api.register()
    first = await log_in(api, "one")
    second = await log_in(api, "two")
    third = await log_in(api, "three")
    headers = bearer(third["access_token"])

    logout = await api.http.post(
        "/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]}, headers=headers
    )
    remaining = [s["user_agent"] for s in listed(await api.http.get(SESSIONS, headers=headers))]
    everywhere = await api.http.post("/api/v1/auth/logout-all", headers=headers)
    fresh = await log_in(api, "four")

    assert logout.status_code == 204
    assert remaining == ["three", "two"]
    assert everywhere.status_code == 204
    assert_problem(await refresh(api, second), 401)
    assert_problem(await refresh(api, third), 401)
    after = listed(await api.http.get(SESSIONS, headers=bearer(fresh["access_token"])))
    assert [s["user_agent"] for s in after] == ["four"]


async def test_unknown_or_malformed_session_ids_are_not_found(api: Api) -> None:
    headers = await api.user()

    for session_id in ("999999", "0", "01", "abc", str(2**63)):
        response = await api.http.delete(f"{SESSIONS}/{session_id}", headers=headers)
        assert response.status_code in (404, 422), (session_id, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert_problem(await api.http.delete(f"{SESSIONS}/999999", headers=headers), 404)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_sessions_need_authentication(memory_api: Api, method: str) -> None:
    path = SESSIONS if method == "GET" else f"{SESSIONS}/1"

    response = await memory_api.http.request(method, path)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
