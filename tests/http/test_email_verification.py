"""POST /auth/verify-email and /auth/verify-email/resend, the welcome e-mail's link, an
e-mail change, and ORDERS_REQUIRE_VERIFIED_EMAIL, through the real app."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.bootstrap import build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import (
    PASSWORD,
    Api,
    assert_problem,
    cheap_hasher,
    fields_of,
    http_client,
    items,
    make_settings,
)
from tests.http.mailbox import Mailbox, link_in, token_in

VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"


async def test_registering_sends_exactly_one_email_the_welcome_with_a_verification_link(
    api: Api,
) -> None:
    mailbox = Mailbox(api.container)
    await api.register("alice@example.com")

    [welcome] = await mailbox.collect()

    assert welcome.to == "alice@example.com"
    assert welcome.subject == "Welcome to Storefront"
    link = link_in(welcome)
    assert link is not None
    base, kind, token = link
    assert (base, kind) == ("http://localhost:3000", "verify-email")
    assert len(token) >= 32
    assert welcome.html.startswith("<!DOCTYPE html>")
    assert token in welcome.html


async def test_the_welcome_link_verifies_the_address(api: Api) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user("alice@example.com")
    assert (await api.http.get("/api/v1/users/me", headers=headers)).json()["is_verified"] is False
    [welcome] = await mailbox.collect()

    response = await api.http.post(VERIFY, json={"token": token_in(welcome, "verify-email")})

    assert response.status_code == 200, response.text
    assert response.json()["is_verified"] is True
    assert response.json()["email"] == "alice@example.com"
    assert (await api.http.get("/api/v1/users/me", headers=headers)).json()["is_verified"] is True


async def test_a_used_verification_token_is_a_bad_request(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = token_in((await mailbox.collect())[0], "verify-email")
    assert (await api.http.post(VERIFY, json={"token": token})).status_code == 200

    body = assert_problem(await api.http.post(VERIFY, json={"token": token}), 400)

    assert token not in body["detail"]


@pytest.mark.parametrize("token", ["nope", "A" * 43, "x" * 1024, "../../etc/passwd" * 4])
async def test_an_unknown_or_malformed_token_is_a_bad_request(api: Api, token: str) -> None:
    assert_problem(await api.http.post(VERIFY, json={"token": token}), 400)


async def test_an_expired_verification_token_is_a_bad_request(memory_api: Api) -> None:
    assert memory_api.clock is not None
    mailbox = Mailbox(memory_api.container)
    await memory_api.register()
    token = token_in((await mailbox.collect())[0], "verify-email")
    memory_api.clock.advance(hours=48, seconds=1)

    assert_problem(await memory_api.http.post(VERIFY, json={"token": token}), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body.token"), ({"token": 5}, "body.token"), ({"token": ""}, "body.token")],
)
async def test_a_verification_body_without_a_token_string_is_invalid(
    api: Api, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await api.http.post(VERIFY, json=body), 422)

    assert field in fields_of(problem)


async def test_an_unknown_field_next_to_the_token_is_invalid(api: Api) -> None:
    assert_problem(await api.http.post(VERIFY, json={"token": "a" * 43, "admin": True}), 422)


async def test_resending_needs_a_bearer_token(api: Api) -> None:
    response = await api.http.post(RESEND)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_resending_sends_a_new_link_that_works(api: Api) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user()
    await mailbox.collect()

    response = await api.http.post(RESEND, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["detail"]
    [again] = await mailbox.collect()
    assert again.to == "alice@example.com"
    assert again.subject == "Confirm your e-mail address"
    verified = await api.http.post(VERIFY, json={"token": token_in(again, "verify-email")})
    assert verified.json()["is_verified"] is True


async def test_resending_for_a_verified_address_is_a_conflict(api: Api) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user()
    await api.http.post(
        VERIFY, json={"token": token_in((await mailbox.collect())[0], "verify-email")}
    )

    assert_problem(await api.http.post(RESEND, headers=headers), 409)
    assert await mailbox.collect() == []


async def test_resending_is_throttled_like_logins(api: Api) -> None:
    headers = await api.user()
    for _ in range(5):
        assert (await api.http.post(RESEND, headers=headers)).status_code == 202

    response = await api.http.post(RESEND, headers=headers)

    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    # Its own allowance: logging in still works.
    await api.login()


async def test_changing_the_email_unverifies_it_and_sends_a_link_to_the_new_address(
    api: Api,
) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user()
    await api.http.post(
        VERIFY, json={"token": token_in((await mailbox.collect())[0], "verify-email")}
    )

    changed = await api.http.patch(
        "/api/v1/users/me",
        json={"email": "alice@new.example", "current_password": PASSWORD},
        headers=headers,
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["is_verified"] is False
    [link] = await mailbox.collect()
    assert link.to == "alice@new.example"
    verified = await api.http.post(VERIFY, json={"token": token_in(link, "verify-email")})
    assert (verified.json()["email"], verified.json()["is_verified"]) == (
        "alice@new.example",
        True,
    )


async def test_a_link_sent_to_an_old_address_no_longer_verifies(api: Api) -> None:
    mailbox = Mailbox(api.container)
    headers = await api.user()
    [welcome] = await mailbox.collect()
    await api.http.patch(
        "/api/v1/users/me",
        json={"email": "alice@new.example", "current_password": PASSWORD},
        headers=headers,
    )

    old_link = {"token": token_in(welcome, "verify-email")}

    assert_problem(await api.http.post(VERIFY, json=old_link), 400)
    assert (await api.http.get("/api/v1/users/me", headers=headers)).json()["is_verified"] is False


async def test_unverified_accounts_cannot_order_when_the_shop_requires_it() -> None:
    settings = make_settings(ORDERS_REQUIRE_VERIFIED_EMAIL="true")
    container = build_memory_container(settings, hasher=cheap_hasher())
    app = create_app(container)
    try:
        async with http_client(app) as http:
            api = Api(http=http, app=app, container=container, backend="memory")
            mailbox = Mailbox(container)
            product = await api.product(await api.superuser())
            headers = await api.user()
            order = items((product["id"], 1))

            refused = await http.post("/api/v1/orders", json=order, headers=headers)
            assert_problem(refused, 403)
            assert (await http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 10

            [welcome] = [m for m in await mailbox.collect() if m.to == "alice@example.com"]
            await http.post(VERIFY, json={"token": token_in(welcome, "verify-email")})
            placed = await http.post("/api/v1/orders", json=order, headers=headers)
            assert placed.status_code == 201, placed.text
    finally:
        await container.close()


async def test_unverified_accounts_can_order_by_default(api: Api) -> None:
    product = await api.product(await api.superuser())
    headers = await api.user()

    placed = await api.http.post("/api/v1/orders", json=items((product["id"], 1)), headers=headers)

    assert placed.status_code == 201, placed.text
