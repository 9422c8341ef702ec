"""DELETE /users/me: the account is erased, the address is free, the orders stay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.http.conftest import (
    PASSWORD,
    Api,
    assert_problem,
    bearer,
    fields_of,
    items,
)

ME = "/api/v1/users/me"


async def erase(api: Api, headers: dict[str, str], password: Any = PASSWORD, **extra: Any) -> Any:
    body = {"current_password": password} if password is not None else {}
    return await api.http.request("DELETE", ME, json=body, headers={**headers, **extra})


async def test_an_erased_account_is_gone_but_its_orders_stay(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    await api.register("alice@example.com", full_name="Alice Liddell")
    tokens = await api.login("alice@example.com")
    alice = bearer(tokens["access_token"])
    alice_id = (await api.http.get(ME, headers=alice)).json()["id"]
    order = await api.http.post("/api/v1/orders", json=items((product["id"], 2)), headers=alice)
    assert order.status_code == 201

    response = await erase(api, alice)

    assert response.status_code == 204
    assert response.content == b""
    account = (await api.http.get(f"/api/v1/users/{alice_id}", headers=admin)).json()
    assert (account["email"], account["full_name"]) == (None, None)
    assert (account["is_active"], account["is_superuser"]) == (False, False)
    kept = await api.http.get(f"/api/v1/orders/{order.json()['id']}", headers=admin)
    assert kept.json() == order.json() | {"updated_at": kept.json()["updated_at"]}
    listed = await api.http.get("/api/v1/orders", params={"user_id": alice_id}, headers=admin)
    assert [o["id"] for o in listed.json()["items"]] == [order.json()["id"]]


async def test_the_erased_address_may_register_again(api: Api) -> None:
    headers = await api.user("alice@example.com")
    assert (await erase(api, headers)).status_code == 204

    again = await api.register("Alice@Example.com")
    login = await api.http.post(
        "/api/v1/auth/login", data={"username": "alice@example.com", "password": PASSWORD}
    )

    assert again.status_code == 201, again.text
    assert again.json()["email"] == "alice@example.com"
    assert login.status_code == 200


async def test_the_erased_password_no_longer_logs_in(api: Api) -> None:
    headers = await api.user("alice@example.com")
    await erase(api, headers)

    login = await api.http.post(
        "/api/v1/auth/login", data={"username": "alice@example.com", "password": PASSWORD}
    )

    assert_problem(login, 401)


async def test_the_erased_accounts_unsent_mail_is_dropped(memory_api: Api) -> None:
    api = memory_api
    alice = await api.user("alice@example.com")
    await api.user("bob@example.com")
    assert (await api.container.count_outbox.execute())["pending"] == 2

    await erase(api, alice)

    async with api.container.uow() as uow:
        # Everything queued is due by then; claiming reads what a dispatcher would send.
        far = datetime(2100, 1, 1, tzinfo=UTC)
        pending = [message.event for message in await uow.outbox.claim(100, far, far)]
    assert [getattr(event, "email", None) for event in pending] == ["bob@example.com"]


async def test_a_wrong_password_is_forbidden_and_counts_as_a_failed_login(api: Api) -> None:
    headers = await api.user("alice@example.com")

    refused = [await erase(api, headers, password="not the password") for _ in range(5)]
    throttled = await erase(api, headers)

    assert [r.status_code for r in refused] == [403] * 5
    assert_problem(refused[0], 403)
    body = assert_problem(throttled, 429)
    assert "retry-after" in throttled.headers, body
    assert (await api.http.get(ME, headers=headers)).status_code == 200


async def test_the_current_password_is_required(memory_api: Api) -> None:
    headers = await memory_api.user()

    missing = await erase(memory_api, headers, password=None)
    empty = await erase(memory_api, headers, password="")
    unknown = await memory_api.http.request(
        "DELETE", ME, json={"current_password": PASSWORD, "email": "x@example.com"}, headers=headers
    )
    nul = await erase(memory_api, headers, password="pass\x00word")

    assert fields_of(assert_problem(missing, 422)) == {"body.current_password"}
    assert fields_of(assert_problem(empty, 422)) == {"body.current_password"}
    assert fields_of(assert_problem(unknown, 422)) == {"body.email"}
    assert fields_of(assert_problem(nul, 422)) == {"body.current_password"}
    assert (await memory_api.http.get(ME, headers=headers)).status_code == 200


async def test_a_malformed_or_missing_body_is_refused(memory_api: Api) -> None:
    headers = await memory_api.user()

    broken = await memory_api.http.request(
        "DELETE",
        ME,
        content=b'{"current_password": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    no_body = await memory_api.http.request("DELETE", ME, headers=headers)
    form = await memory_api.http.request(
        "DELETE", ME, data={"current_password": PASSWORD}, headers=headers
    )

    assert_problem(broken, 400)
    assert no_body.status_code in (400, 422), no_body.text
    assert no_body.headers["content-type"] == "application/problem+json"
    assert_problem(form, 415)
    assert (await memory_api.http.get(ME, headers=headers)).status_code == 200


async def test_the_last_active_superuser_cannot_erase_their_account(api: Api) -> None:
    admin = await api.superuser()

    refused = await erase(api, admin)
    second = await api.superuser("second@example.com")
    allowed = await erase(api, admin)

    assert_problem(refused, 409)
    assert allowed.status_code == 204
    assert_problem(await erase(api, second), 409)


async def test_a_stale_if_match_erases_nothing(api: Api) -> None:
    headers = await api.user()
    seen = (await api.http.get(ME, headers=headers)).headers["etag"]
    await api.http.patch(ME, json={"full_name": "Renamed"}, headers=headers)

    stale = await erase(api, headers, **{"If-Match": seen})
    current = (await api.http.get(ME, headers=headers)).headers["etag"]
    fresh = await erase(api, headers, **{"If-Match": current})

    assert_problem(stale, 412)
    assert fresh.status_code == 204


async def test_an_erased_account_cannot_be_reactivated_or_promoted(api: Api) -> None:
    admin = await api.superuser()
    headers = await api.user()
    user_id = (await api.http.get(ME, headers=headers)).json()["id"]
    await erase(api, headers)

    for change in ({"is_active": True}, {"is_superuser": True}):
        response = await api.http.patch(f"/api/v1/users/{user_id}", json=change, headers=admin)
        assert_problem(response, 409)
    renamed = await api.http.patch(
        f"/api/v1/users/{user_id}", json={"full_name": None}, headers=admin
    )
    assert renamed.status_code == 200
