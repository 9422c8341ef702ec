"""Registering, logging in, refreshing and logging out over HTTP."""

from __future__ import annotations

import pytest

from tests.http.conftest import PASSWORD, USER_FIELDS, Api, assert_problem, bearer, fields_of

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


async def test_registering_returns_the_new_user_without_secrets(api: Api) -> None:
    response = await api.register("Alice@Example.COM", full_name="Alice")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "alice@example.com"
    assert body["full_name"] == "Alice"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert body["created_at"].endswith("Z")
    assert "password" not in response.text


async def test_registering_a_taken_email_in_another_case_is_a_conflict(api: Api) -> None:
    await api.register("bob@example.com")

    response = await api.register("BOB@example.com")

    assert_problem(response, 409)


async def test_registering_cannot_make_oneself_a_superuser(api: Api) -> None:
    response = await api.register("mallory@example.com", is_superuser=True)

    body = assert_problem(response, 422)
    assert {"field": "body.is_superuser", "message": "Unknown field"} in body["errors"]
    login = await api.http.post(LOGIN, json={"email": "mallory@example.com", "password": PASSWORD})
    assert login.status_code == 401


async def test_registering_reports_every_invalid_field(api: Api) -> None:
    response = await api.http.post(REGISTER, json={"email": "x", "password": "short", "extra": 1})

    body = assert_problem(response, 422)
    fields = fields_of(body)
    assert fields == {"body.email", "body.password", "body.extra"}


async def test_registering_an_invalid_email_is_rejected(api: Api) -> None:
    response = await api.register("not-an-email")

    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "body.email"


async def test_registering_needs_a_json_body(api: Api) -> None:
    response = await api.http.post(
        REGISTER, content=b"email=a@b.co", headers={"content-type": "text/plain"}
    )

    assert_problem(response, 415)


async def test_malformed_json_is_a_bad_request(api: Api) -> None:
    response = await api.http.post(
        REGISTER, content=b'{"email": ', headers={"content-type": "application/json"}
    )

    assert_problem(response, 400)


async def test_logging_in_with_the_oauth2_form_returns_a_token_pair(api: Api) -> None:
    await api.register()

    response = await api.http.post(
        LOGIN, data={"username": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60


async def test_logging_in_with_json_returns_a_token_pair(api: Api) -> None:
    await api.register()

    response = await api.http.post(LOGIN, json={"email": "ALICE@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    me = await api.http.get(ME, headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == "alice@example.com"


async def test_a_wrong_password_and_an_unknown_email_fail_alike(api: Api) -> None:
    await api.register()

    wrong_password = await api.http.post(
        LOGIN, json={"email": "alice@example.com", "password": "nope-nope"}
    )
    unknown_email = await api.http.post(
        LOGIN, json={"email": "nobody@example.com", "password": "nope-nope"}
    )

    for response in (wrong_password, unknown_email):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]


async def test_an_inactive_account_cannot_log_in(api: Api) -> None:
    admin = await api.superuser()
    user_id = (await api.register()).json()["id"]
    await api.http.delete(f"/api/v1/users/{user_id}", headers=admin)

    response = await api.http.post(LOGIN, json={"email": "alice@example.com", "password": PASSWORD})

    assert_problem(response, 403)


async def test_repeated_login_failures_are_throttled(api: Api) -> None:
    await api.register()
    for _ in range(5):
        failed = await api.http.post(
            LOGIN, json={"email": "alice@example.com", "password": "wrong-one"}
        )
        assert failed.status_code == 401

    response = await api.http.post(LOGIN, json={"email": "alice@example.com", "password": PASSWORD})

    assert_problem(response, 429)
    assert int(response.headers["retry-after"]) > 0


async def test_login_refuses_other_content_types(api: Api) -> None:
    response = await api.http.post(LOGIN, content=b"hello", headers={"content-type": "text/plain"})

    assert_problem(response, 415)


async def test_login_with_missing_fields_is_invalid(api: Api) -> None:
    form = await api.http.post(LOGIN, data={"username": "alice@example.com"})
    json_body = await api.http.post(LOGIN, json={"email": "alice@example.com", "pass": "x"})

    assert assert_problem(form, 422)["errors"] == [
        {"field": "body.password", "message": "Field required"}
    ]
    fields = fields_of(assert_problem(json_body, 422))
    assert fields == {"body.password", "body.pass"}


async def test_login_with_malformed_json_is_a_bad_request(api: Api) -> None:
    response = await api.http.post(
        LOGIN, content=b"{", headers={"content-type": "application/json"}
    )

    assert_problem(response, 400)


async def test_refreshing_rotates_the_refresh_token(api: Api) -> None:
    await api.register()
    first = await api.login()

    response = await api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await api.http.get(ME, headers=bearer(second["access_token"]))
    assert me.status_code == 200


async def test_reusing_a_refresh_token_revokes_the_whole_login(api: Api) -> None:
    await api.register()
    first = await api.login()
    second = (await api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()

    reuse = await api.http.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    descendant = await api.http.post(REFRESH, json={"refresh_token": second["refresh_token"]})

    assert_problem(reuse, 401)
    assert_problem(descendant, 401)


async def test_other_logins_survive_a_revoked_family(api: Api) -> None:
    await api.register()
    stolen = await api.login()
    other = await api.login()
    await api.http.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    await api.http.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})

    response = await api.http.post(REFRESH, json={"refresh_token": other["refresh_token"]})

    assert response.status_code == 200


async def test_an_unknown_refresh_token_is_refused(api: Api) -> None:
    response = await api.http.post(REFRESH, json={"refresh_token": "made-up"})

    assert_problem(response, 401)


async def test_an_access_token_is_not_a_refresh_token_and_vice_versa(api: Api) -> None:
    await api.register()
    tokens = await api.login()

    as_refresh = await api.http.post(REFRESH, json={"refresh_token": tokens["access_token"]})
    as_access = await api.http.get(ME, headers=bearer(tokens["refresh_token"]))

    assert_problem(as_refresh, 401)
    assert_problem(as_access, 401)


async def test_logging_out_ends_the_login(api: Api) -> None:
    await api.register()
    tokens = await api.login()

    response = await api.http.post(
        LOGOUT,
        json={"refresh_token": tokens["refresh_token"]},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 204
    assert response.content == b""
    refresh = await api.http.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert_problem(refresh, 401)


async def test_logging_out_needs_a_bearer_token(api: Api) -> None:
    response = await api.http.post(LOGOUT, json={"refresh_token": "whatever"})

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer " + "a" * 5000],
)
async def test_missing_or_malformed_bearer_tokens_are_unauthorized(
    memory_api: Api, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await memory_api.http.get(ME, headers=headers)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_access_token_is_unauthorized(memory_api: Api) -> None:
    headers = await memory_api.user()
    assert memory_api.clock is not None
    memory_api.clock.advance(minutes=16)

    response = await memory_api.http.get(ME, headers=headers)

    assert_problem(response, 401)


async def test_a_token_signed_with_another_key_is_unauthorized(memory_api: Api) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "1", "typ": "access", "iss": "storefront", "aud": "storefront-api", "ver": 0},
        "another-secret-key-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    await memory_api.user()

    response = await memory_api.http.get(ME, headers=bearer(forged))

    assert_problem(response, 401)


async def test_a_wrong_value_before_a_syntax_error_is_still_a_bad_request(api: Api) -> None:
    response = await api.http.post(
        REGISTER, content=b"9\xff\xfeb\x7f", headers={"content-type": "application/json"}
    )

    assert_problem(response, 400)
