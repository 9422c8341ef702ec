"""Every e-mail link flow end to end: the API on SQLite and on PostgreSQL, its outbox
delivered to a real SMTP server, and the token taken out of the received message's
plain-text part, as a customer following the link would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from entrypoints.bootstrap import build_container
from entrypoints.container import Container
from entrypoints.http.app import create_app
from tests.http.conftest import PASSWORD, bearer, cheap_hasher, http_client, make_settings
from tests.outbox.conftest import MailServer, ReceivedMail

FRONTEND = "https://shop.example"
NEW_PASSWORD = "a-brand-new-password"
_LINK = re.compile(
    rf"^{re.escape(FRONTEND)}/(verify-email|reset-password)\?token=([A-Za-z0-9_-]{{32,}})\r?$",
    re.MULTILINE,
)


@dataclass
class Shop:
    http: httpx.AsyncClient
    container: Container
    mail: MailServer

    async def deliver(self, expected_total: int) -> list[ReceivedMail]:
        """Run the outbox's delivery pass until ``expected_total`` messages arrived."""
        while await self.container.deliver_outbox.execute():
            pass
        return await self.mail.wait_for(expected_total)

    async def login(self, password: str = PASSWORD) -> httpx.Response:
        return await self.http.post(
            "/api/v1/auth/login", json={"email": "ann@example.com", "password": password}
        )


def token_from(message: ReceivedMail, kind: str) -> str:
    found = _LINK.search(message.body("plain"))
    assert found is not None, message.body("plain")
    assert found[1] == kind
    # The HTML part links to the same place.
    assert found[2] in message.body("html")
    return found[2]


@pytest.fixture
async def shop(sql_store_url: str, mail_server: MailServer) -> AsyncIterator[Shop]:
    settings = make_settings(
        DATABASE_URL=sql_store_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mail_server.port),
        SMTP_SECURITY="none",
        SMTP_SENDER="shop@storefront.test",
        FRONTEND_URL=FRONTEND + "/",
        OUTBOX_DISPATCHER_IN_PROCESS="false",
    )
    container = build_container(settings, hasher=cheap_hasher())
    try:
        async with http_client(create_app(container)) as http:
            registered = await http.post(
                "/api/v1/auth/register", json={"email": "ann@example.com", "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
            yield Shop(http, container, mail_server)
    finally:
        await container.close()


async def test_the_welcome_emails_link_verifies_the_address(shop: Shop) -> None:
    [welcome] = await shop.deliver(1)
    assert welcome.recipients == ("ann@example.com",)

    verified = await shop.http.post(
        "/api/v1/auth/verify-email", json={"token": token_from(welcome, "verify-email")}
    )

    assert verified.status_code == 200, verified.text
    assert verified.json()["is_verified"] is True


async def test_a_resent_link_verifies_the_address(shop: Shop) -> None:
    tokens = (await shop.login()).json()
    await shop.deliver(1)

    resent = await shop.http.post(
        "/api/v1/auth/verify-email/resend", headers=bearer(tokens["access_token"])
    )
    assert resent.status_code == 202
    [_, again] = await shop.deliver(2)

    verified = await shop.http.post(
        "/api/v1/auth/verify-email", json={"token": token_from(again, "verify-email")}
    )
    assert verified.json()["is_verified"] is True


async def test_a_reset_link_sets_a_new_password_and_ends_every_session(shop: Shop) -> None:
    old = (await shop.login()).json()
    await shop.deliver(1)
    asked = await shop.http.post("/api/v1/auth/forgot-password", json={"email": "ann@example.com"})
    assert asked.status_code == 202
    [_, reset] = await shop.deliver(2)
    assert reset.subject == "Reset your password"

    done = await shop.http.post(
        "/api/v1/auth/reset-password",
        json={"token": token_from(reset, "reset-password"), "password": NEW_PASSWORD},
    )

    assert done.status_code == 204, done.text
    assert (await shop.login()).status_code == 401
    fresh = await shop.login(NEW_PASSWORD)
    assert fresh.status_code == 200
    refreshed = await shop.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert refreshed.status_code == 401
    me = await shop.http.get("/api/v1/users/me", headers=bearer(old["access_token"]))
    assert me.status_code == 401
    me = await shop.http.get("/api/v1/users/me", headers=bearer(fresh.json()["access_token"]))
    assert me.json()["is_verified"] is True
    [*_, notice] = await shop.deliver(3)
    assert (notice.recipients, notice.subject) == (
        ("ann@example.com",),
        "Your password was changed",
    )


async def test_a_changed_address_gets_its_own_link(shop: Shop) -> None:
    tokens = (await shop.login()).json()
    await shop.deliver(1)
    changed = await shop.http.patch(
        "/api/v1/users/me",
        json={"email": "ann@new.example", "current_password": PASSWORD},
        headers=bearer(tokens["access_token"]),
    )
    assert changed.json()["is_verified"] is False

    [_, link] = await shop.deliver(2)

    assert link.recipients == ("ann@new.example",)
    verified = await shop.http.post(
        "/api/v1/auth/verify-email", json={"token": token_from(link, "verify-email")}
    )
    assert (verified.json()["email"], verified.json()["is_verified"]) == ("ann@new.example", True)


async def test_an_unknown_address_asking_for_a_reset_gets_no_email(shop: Shop) -> None:
    await shop.deliver(1)

    asked = await shop.http.post(
        "/api/v1/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    await shop.deliver(1)

    assert asked.status_code == 202
    assert [m.recipients for m in shop.mail.messages()] == [("ann@example.com",)]
