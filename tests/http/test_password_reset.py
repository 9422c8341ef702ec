"""POST /auth/forgot-password and /auth/reset-password, and the password-changed notice,
through the real app."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator

import pytest

from entrypoints.bootstrap import build_container, build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import (
    PASSWORD,
    Api,
    assert_problem,
    bearer,
    cheap_hasher,
    fields_of,
    http_client,
    make_settings,
)
from tests.http.mailbox import Mailbox, token_in

FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
NEW_PASSWORD = "a-brand-new-password"


async def reset_link(api: Api, mailbox: Mailbox, email: str = "alice@example.com") -> str:
    response = await api.http.post(FORGOT, json={"email": email})
    assert response.status_code == 202, response.text
    [message] = [m for m in await mailbox.collect() if m.subject == "Reset your password"]
    assert message.to == email
    return token_in(message, "reset-password")


async def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(
    api: Api,
) -> None:
    mailbox = Mailbox(api.container)
    await api.register("alice@example.com")
    await mailbox.collect()

    known = await api.http.post(FORGOT, json={"email": "alice@example.com"})
    unknown = await api.http.post(FORGOT, json={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers["content-type"] == unknown.headers["content-type"]
    sent = await mailbox.collect()
    assert [(m.to, m.subject) for m in sent] == [("alice@example.com", "Reset your password")]


async def test_a_reset_sets_the_password_and_ends_every_session(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    old = await api.login()
    token = await reset_link(api, mailbox)

    response = await api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 204, response.text
    assert response.content == b""
    refreshed = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert_problem(refreshed, 401)
    me = await api.http.get("/api/v1/users/me", headers=bearer(old["access_token"]))
    assert_problem(me, 401)
    wrong = await api.http.post(
        "/api/v1/auth/login", data={"username": "alice@example.com", "password": PASSWORD}
    )
    assert_problem(wrong, 401)
    new = await api.login(password=NEW_PASSWORD)
    me = await api.http.get("/api/v1/users/me", headers=bearer(new["access_token"]))
    assert me.json()["is_verified"] is True


async def test_a_reset_sends_a_password_changed_notice(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = await reset_link(api, mailbox)

    await api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD})

    [notice] = await mailbox.collect()
    assert (notice.to, notice.subject) == ("alice@example.com", "Your password was changed")
    assert notice.html.startswith("<!DOCTYPE html>")


async def test_a_reset_token_works_once(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = await reset_link(api, mailbox)
    await api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD})

    again = await api.http.post(RESET, json={"token": token, "password": "another-password"})

    assert_problem(again, 400)
    await api.login(password=NEW_PASSWORD)


async def test_only_the_newest_reset_link_works(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    first = await reset_link(api, mailbox)
    second = await reset_link(api, mailbox)

    assert_problem(await api.http.post(RESET, json={"token": first, "password": NEW_PASSWORD}), 400)
    ok = await api.http.post(RESET, json={"token": second, "password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text


async def test_a_reset_link_expires_after_thirty_minutes(memory_api: Api) -> None:
    assert memory_api.clock is not None
    mailbox = Mailbox(memory_api.container)
    await memory_api.register()
    token = await reset_link(memory_api, mailbox)
    memory_api.clock.advance(minutes=30, seconds=1)

    expired = await memory_api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD})

    assert_problem(expired, 400)
    await memory_api.login()


async def test_a_bad_reset_token_is_a_bad_request_and_changes_nothing(api: Api) -> None:
    await api.register()

    response = await api.http.post(RESET, json={"token": "Z" * 43, "password": NEW_PASSWORD})

    assert_problem(response, 400)
    await api.login()


async def test_a_verification_token_does_not_reset_a_password(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = token_in((await mailbox.collect())[0], "verify-email")

    assert_problem(await api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD}), 400)


async def test_a_too_short_new_password_is_invalid_and_keeps_the_token(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = await reset_link(api, mailbox)

    short = await api.http.post(RESET, json={"token": token, "password": "short"})

    assert "body.password" in fields_of(assert_problem(short, 422))
    ok = await api.http.post(RESET, json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 204


@pytest.mark.parametrize(
    "body", [{}, {"email": "not-an-email"}, {"email": 7}, {"email": "a@b.c", "x": 1}]
)
async def test_forgot_password_with_a_bad_body_is_invalid(
    api: Api, body: dict[str, object]
) -> None:
    assert_problem(await api.http.post(FORGOT, json=body), 422)


async def test_reset_password_with_missing_fields_is_invalid(api: Api) -> None:
    problem = assert_problem(await api.http.post(RESET, json={}), 422)

    assert fields_of(problem) == {"body.token", "body.password"}


async def test_forgot_password_is_throttled_per_address(api: Api) -> None:
    for _ in range(5):
        assert (
            await api.http.post(FORGOT, json={"email": "nobody@example.com"})
        ).status_code == 202

    throttled = await api.http.post(FORGOT, json={"email": "NOBODY@example.com"})

    assert_problem(throttled, 429)
    assert int(throttled.headers["Retry-After"]) >= 1
    other = await api.http.post(FORGOT, json={"email": "somebody@example.com"})
    assert other.status_code == 202


@pytest.fixture
async def lenient_api() -> AsyncIterator[Api]:
    """The in-memory app with high per-address limits and a per-client limit of 8."""
    settings = make_settings(LOGIN_MAX_FAILURES_PER_EMAIL="1000", LOGIN_MAX_FAILURES_PER_CLIENT="8")
    container = build_memory_container(settings, hasher=cheap_hasher())
    app = create_app(container)
    try:
        async with http_client(app) as http:
            yield Api(http=http, app=app, container=container, backend="memory")
    finally:
        await container.close()


async def test_forgot_password_is_throttled_per_client(lenient_api: Api) -> None:
    for n in range(8):
        sent = await lenient_api.http.post(FORGOT, json={"email": f"user{n}@example.com"})
        assert sent.status_code == 202

    throttled = await lenient_api.http.post(FORGOT, json={"email": "fresh@example.com"})

    assert_problem(throttled, 429)


@pytest.fixture(params=["memory", "sqlite"])
async def unthrottled_api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """The app with limits out of the way, on memory and on a SQLite file."""
    limits = {"LOGIN_MAX_FAILURES_PER_EMAIL": "1000", "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"}
    if request.param == "memory":
        container = build_memory_container(make_settings(**limits), hasher=cheap_hasher())
    else:
        url = request.getfixturevalue("migrated_sqlite_url")
        container = build_container(
            make_settings(DATABASE_URL=url, **limits), hasher=cheap_hasher()
        )
    app = create_app(container)
    try:
        async with http_client(app) as http:
            yield Api(http=http, app=app, container=container, backend=request.param)
    finally:
        await container.close()


async def _median_pair(api: Api, round_: int) -> tuple[float, float]:
    """Medians of 15 interleaved calls for a known and for unknown addresses."""
    known: list[float] = []
    unknown: list[float] = []
    for n in range(15):
        ghost = f"ghost{round_}-{n}@example.com"
        calls = [("alice@example.com", known), (ghost, unknown)]
        for email, timings in calls if n % 2 else reversed(calls):
            started = time.perf_counter()
            response = await api.http.post(FORGOT, json={"email": email})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 202
    return statistics.median(known), statistics.median(unknown)


async def test_forgot_password_takes_about_as_long_for_unknown_addresses(
    unthrottled_api: Api,
) -> None:
    # A generous bound on medians of interleaved calls, and up to three rounds: a busy
    # machine may spoil one round, but a request that did real work for known addresses
    # only (hashing a password, sending mail inline: tens of milliseconds) fails all.
    await unthrottled_api.register("alice@example.com")
    rounds = []
    for round_ in range(3):
        fast, slow = sorted(await _median_pair(unthrottled_api, round_))
        rounds.append((fast, slow))
        if slow <= 2 * fast + 0.005:
            return
    raise AssertionError(f"known and unknown addresses take different times: {rounds}")


async def test_changing_the_password_sends_a_notice_to_the_accounts_address(api: Api) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user()
    await mailbox.collect()

    changed = await api.http.patch(
        "/api/v1/users/me",
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=headers,
    )

    assert changed.status_code == 200, changed.text
    [notice] = await mailbox.collect()
    assert (notice.to, notice.subject) == ("alice@example.com", "Your password was changed")
