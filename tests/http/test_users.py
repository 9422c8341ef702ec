"""One's own account, and the administration of accounts by superusers."""

from __future__ import annotations

from tests.http.conftest import PASSWORD, USER_FIELDS, Api, assert_problem, bearer, fields_of, items

ME = "/api/v1/users/me"
USERS = "/api/v1/users"


async def test_reading_my_account(api: Api) -> None:
    headers = await api.user()

    response = await api.http.get(ME, headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "alice@example.com"


async def test_my_account_needs_authentication(api: Api) -> None:
    response = await api.http.get(ME)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_changing_my_name(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(ME, json={"full_name": "Alice Liddell"}, headers=headers)

    assert response.status_code == 200
    assert response.json()["full_name"] == "Alice Liddell"
    assert (await api.http.get(ME, headers=headers)).json()["full_name"] == "Alice Liddell"


async def test_changing_my_email_needs_the_current_password(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(ME, json={"email": "new@example.com"}, headers=headers)

    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "body.current_password"


async def test_a_wrong_current_password_is_forbidden(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(
        ME,
        json={"email": "new@example.com", "current_password": "not-my-password"},
        headers=headers,
    )

    assert_problem(response, 403)


async def test_changing_my_email_with_the_current_password(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(
        ME, json={"email": "New@Example.com", "current_password": PASSWORD}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["email"] == "new@example.com"
    assert (await api.login("new@example.com"))["access_token"]


async def test_changing_my_email_to_a_taken_one_is_a_conflict(api: Api) -> None:
    await api.user("bob@example.com")
    headers = await api.user()

    response = await api.http.patch(
        ME, json={"email": "bob@example.com", "current_password": PASSWORD}, headers=headers
    )

    assert_problem(response, 409)


async def test_changing_my_password_ends_my_access_tokens(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(
        ME, json={"password": "a-brand-new-password", "current_password": PASSWORD}, headers=headers
    )

    assert response.status_code == 200
    assert_problem(await api.http.get(ME, headers=headers), 401)
    assert (await api.login(password="a-brand-new-password"))["access_token"]


async def test_i_cannot_make_myself_a_superuser(api: Api) -> None:
    headers = await api.user()

    response = await api.http.patch(ME, json={"is_superuser": True}, headers=headers)

    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "body.is_superuser", "message": "Unknown field"}]
    assert (await api.http.get(ME, headers=headers)).json()["is_superuser"] is False


async def test_my_stats_start_at_zero(api: Api) -> None:
    headers = await api.user()

    response = await api.http.get(f"{ME}/stats", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS | {"order_count", "total_spent"}
    assert body["order_count"] == 0
    assert body["total_spent"] == "0.00"


async def test_my_stats_count_placed_orders_only(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, price="2.50", stock=100)
    headers = await api.user()
    for quantity in (2, 3):
        placed = await api.http.post(
            "/api/v1/orders",
            json=items((product["id"], quantity)),
            headers=headers,
        )
        assert placed.status_code == 201
    await api.http.post(f"/api/v1/orders/{placed.json()['id']}/cancel", headers=headers)

    body = (await api.http.get(f"{ME}/stats", headers=headers)).json()

    assert body["order_count"] == 1
    assert body["total_spent"] == "5.00"


async def test_listing_users_is_for_superusers_only(api: Api) -> None:
    headers = await api.user()

    response = await api.http.get(USERS, headers=headers)

    assert_problem(response, 403)


async def test_superusers_list_users_a_page_at_a_time(api: Api) -> None:
    admin = await api.superuser()
    for number in range(3):
        await api.register(f"user{number}@example.com")

    response = await api.http.get(USERS, params={"page": 2, "size": 2}, headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4
    assert body["page"] == 2
    assert body["size"] == 2
    assert body["pages"] == 2
    assert [user["email"] for user in body["items"]] == ["user1@example.com", "user2@example.com"]
    assert "hashed_password" not in response.text


async def test_user_list_paging_parameters_are_checked(api: Api) -> None:
    admin = await api.superuser()

    response = await api.http.get(USERS, params={"page": 0, "size": 101}, headers=admin)

    body = assert_problem(response, 422)
    assert fields_of(body) == {"query.page", "query.size"}


async def test_superusers_read_any_account(api: Api) -> None:
    admin = await api.superuser()
    user_id = (await api.register()).json()["id"]

    response = await api.http.get(f"{USERS}/{user_id}", headers=admin)

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


async def test_an_unknown_account_is_not_found(api: Api) -> None:
    admin = await api.superuser()

    for user_id in (999, 0, 10**12):
        assert_problem(await api.http.get(f"{USERS}/{user_id}", headers=admin), 404)


async def test_superusers_promote_and_deactivate_accounts(api: Api) -> None:
    admin = await api.superuser()
    headers = await api.user()
    user_id = (await api.http.get(ME, headers=headers)).json()["id"]

    response = await api.http.patch(
        f"{USERS}/{user_id}", json={"is_superuser": True, "full_name": "Al"}, headers=admin
    )

    assert response.status_code == 200
    assert response.json()["is_superuser"] is True
    assert response.json()["full_name"] == "Al"


async def test_admin_updates_refuse_unknown_fields(api: Api) -> None:
    admin = await api.superuser()
    user_id = (await api.register()).json()["id"]

    response = await api.http.patch(
        f"{USERS}/{user_id}", json={"hashed_password": "x"}, headers=admin
    )

    assert_problem(response, 422)


async def test_a_deactivated_account_loses_access_and_keeps_its_orders(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)
    headers = await api.user()
    user_id = (await api.http.get(ME, headers=headers)).json()["id"]
    order = await api.http.post(
        "/api/v1/orders",
        json=items((product["id"], 1)),
        headers=headers,
    )

    response = await api.http.delete(f"{USERS}/{user_id}", headers=admin)

    assert response.status_code == 204
    assert_problem(await api.http.get(ME, headers=headers), 401)
    login = await api.http.post(
        "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert_problem(login, 403)
    kept = await api.http.get(f"/api/v1/orders/{order.json()['id']}", headers=admin)
    assert kept.status_code == 200
    user = (await api.http.get(f"{USERS}/{user_id}", headers=admin)).json()
    assert user["is_active"] is False


async def test_demoting_a_superuser_takes_effect_at_once(api: Api) -> None:
    admin = await api.superuser()
    other_admin = await api.superuser("second@example.com")
    me = (await api.http.get(ME, headers=other_admin)).json()

    await api.http.patch(f"{USERS}/{me['id']}", json={"is_superuser": False}, headers=admin)

    assert_problem(await api.http.get(USERS, headers=other_admin), 401)
    fresh = bearer((await api.login("second@example.com"))["access_token"])
    assert_problem(await api.http.get(USERS, headers=fresh), 403)


async def test_no_response_ever_contains_a_password_hash(api: Api) -> None:
    admin = await api.superuser()
    headers = await api.user()
    user_id = (await api.http.get(ME, headers=headers)).json()["id"]
    responses = [
        await api.http.get(ME, headers=headers),
        await api.http.get(f"{ME}/stats", headers=headers),
        await api.http.patch(ME, json={"full_name": "A"}, headers=headers),
        await api.http.get(USERS, headers=admin),
        await api.http.get(f"{USERS}/{user_id}", headers=admin),
        await api.http.patch(f"{USERS}/{user_id}", json={"full_name": "B"}, headers=admin),
    ]

    for response in responses:
        assert response.status_code == 200
        assert "hashed_password" not in response.text
        assert "argon2" not in response.text


async def test_admin_updates_take_booleans_only(api: Api) -> None:
    admin = await api.superuser()
    user_id = (await api.register()).json()["id"]

    response = await api.http.patch(
        f"{USERS}/{user_id}", json={"is_superuser": "true", "is_active": 0}, headers=admin
    )

    body = assert_problem(response, 422)
    assert fields_of(body) == {"body.is_superuser", "body.is_active"}
