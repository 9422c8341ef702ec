"""API2:2023 Broken Authentication: only genuine, current tokens let anyone in.

Access tokens are HS256 JWTs whose algorithm, issuer, audience, type and every claim
are checked; refresh tokens are opaque, single-use, and a spent one presented again
revokes every token descended from the same login (RFC 9700). Deactivating a user
or changing their password ends their outstanding access tokens at once.

E-mail link tokens (verification, password reset) are 256 random bits, stored only as
SHA-256 digests, single-use, and a reset link works only while it is the newest; a
reset ends every session. Asking for a reset tells nothing about whether an account
exists, and no token ever reaches a log line.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from adapters.mail import LogMailer
from application.account_mail import EmailLinks
from application.notifications import DeliverOutbox
from application.ports.notifications import EmailMessage
from tests.http.conftest import PASSWORD, TEST_SECRET_KEY, Api, bearer
from tests.http.mailbox import Mailbox, token_in
from tests.http.test_log_safety import _capture_every_logger

ME = "/api/v1/users/me"


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def _forged(token: str, key: str = TEST_SECRET_KEY, **changes: Any) -> str:
    """The same token with changed claims, signed with ``key``."""
    header, claims = _segments(token)
    claims.update(changes)
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": header["kid"]})


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _access_token(api: Api, email: str = "alice@example.com") -> str:
    await api.register(email)
    return (await api.login(email))["access_token"]


async def _refused(api: Api, token: str) -> None:
    response = await api.http.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_genuine_token_is_accepted(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    response = await memory_api.http.get(ME, headers=bearer(token))
    assert response.status_code == 200


async def test_a_tampered_signature_is_refused(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    await _refused(memory_api, f"{head}.{payload}.{flipped}")


async def test_tampered_claims_under_the_old_signature_are_refused(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    head, _, signature = token.split(".")
    _, claims = _segments(token)
    claims["sub"] = "1"
    claims["ver"] = claims["ver"] + 1
    await _refused(memory_api, f"{head}.{_b64(claims)}.{signature}")


async def test_an_unsigned_alg_none_token_is_refused(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    header, claims = _segments(token)
    unsigned = f"{_b64({**header, 'alg': 'none'})}.{_b64(claims)}."
    await _refused(memory_api, unsigned)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
@pytest.mark.filterwarnings("ignore:The HMAC key is")
async def test_another_algorithm_is_refused_even_with_the_right_key(
    memory_api: Api, algorithm: str
) -> None:
    token = await _access_token(memory_api)
    header, claims = _segments(token)
    other = jwt.encode(claims, TEST_SECRET_KEY, algorithm=algorithm, headers={"kid": header["kid"]})
    await _refused(memory_api, other)


async def test_a_token_signed_with_another_key_is_refused(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    await _refused(memory_api, _forged(token, key="another-secret-key-that-is-long-enough-too"))


async def test_an_expired_token_is_refused(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    assert memory_api.clock is not None
    memory_api.clock.advance(minutes=16)
    await _refused(memory_api, token)


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-service"},
        {"iss": "someone-else"},
        {"typ": "refresh"},
        {"nbf": 4_102_444_800},  # not before 2100
    ],
    ids=["wrong-audience", "wrong-issuer", "wrong-type", "not-yet-valid"],
)
async def test_a_token_with_a_wrong_claim_is_refused(
    memory_api: Api, changes: dict[str, Any]
) -> None:
    token = await _access_token(memory_api)
    await _refused(memory_api, _forged(token, **changes))


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "nbf", "jti", "iss", "aud", "typ", "ver"])
async def test_a_token_missing_a_claim_is_refused(memory_api: Api, claim: str) -> None:
    token = await _access_token(memory_api)
    header, claims = _segments(token)
    del claims[claim]
    await _refused(
        memory_api, jwt.encode(claims, TEST_SECRET_KEY, algorithm="HS256", headers=header)
    )


async def test_a_refresh_token_is_not_an_access_token(api: Api) -> None:
    await api.register()
    tokens = await api.login()
    await _refused(api, tokens["refresh_token"])


async def test_an_access_token_is_not_a_refresh_token(api: Api) -> None:
    await api.register()
    tokens = await api.login()
    response = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    assert response.status_code == 401


async def test_reusing_a_spent_refresh_token_revokes_its_family(api: Api) -> None:
    await api.register()
    first = await api.login()
    rotated = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200

    replayed = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replayed.status_code == 401
    descendant = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert descendant.status_code == 401


async def test_concurrent_refreshes_with_one_token_cannot_both_succeed(api: Api) -> None:
    await api.register()
    tokens = await api.login()

    async def refresh() -> int:
        response = await api.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        return response.status_code

    statuses = await asyncio.gather(*(refresh() for _ in range(5)))

    assert sorted(statuses) == [200, 401, 401, 401, 401]


async def test_a_deactivated_users_token_is_refused_at_once(api: Api) -> None:
    admin = await api.superuser()
    token = await _access_token(api)
    me = await api.http.get(ME, headers=bearer(token))

    deleted = await api.http.delete(f"/api/v1/users/{me.json()['id']}", headers=admin)

    assert deleted.status_code == 204
    await _refused(api, token)


async def test_a_demoted_superusers_token_is_refused_at_once(api: Api) -> None:
    admin = await api.superuser()
    other = await api.superuser("other-root@example.com")
    other_id = (await api.http.get(ME, headers=other)).json()["id"]

    demoted = await api.http.patch(
        f"/api/v1/users/{other_id}", json={"is_superuser": False}, headers=admin
    )

    assert demoted.status_code == 200
    response = await api.http.get(ME, headers=other)
    assert response.status_code == 401


async def test_changing_ones_password_ends_outstanding_access_tokens(api: Api) -> None:
    token = await _access_token(api)
    changed = await api.http.patch(
        ME,
        json={"password": "a-brand-new-password", "current_password": PASSWORD},
        headers=bearer(token),
    )
    assert changed.status_code == 200
    await _refused(api, token)


async def test_a_deactivated_user_cannot_refresh(api: Api) -> None:
    admin = await api.superuser()
    await api.register()
    tokens = await api.login()
    me = await api.http.get(ME, headers=bearer(tokens["access_token"]))
    await api.http.delete(f"/api/v1/users/{me.json()['id']}", headers=admin)

    response = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )

    assert response.status_code == 401


# --- e-mail link tokens ------------------------------------------------------------------

FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
VERIFY = "/api/v1/auth/verify-email"


async def _reset_token(api: Api, mailbox: Mailbox) -> str:
    await api.http.post(FORGOT, json={"email": "alice@example.com"})
    [message] = [m for m in await mailbox.collect() if m.subject == "Reset your password"]
    return token_in(message, "reset-password")


async def test_an_email_link_token_cannot_be_replayed(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    verification = token_in((await mailbox.collect())[0], "verify-email")
    reset = await _reset_token(api, mailbox)

    for path, body in (
        (VERIFY, {"token": verification}),
        (RESET, {"token": reset, "password": "a-brand-new-password"}),
    ):
        first = await api.http.post(path, json=body)
        replayed = await api.http.post(path, json=body)
        assert first.status_code in (200, 204), first.text
        assert replayed.status_code == 400, replayed.text


async def test_concurrent_resets_with_one_token_cannot_both_succeed(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    token = await _reset_token(api, mailbox)

    async def reset(password: str) -> int:
        response = await api.http.post(RESET, json={"token": token, "password": password})
        return response.status_code

    statuses = await asyncio.gather(*(reset(f"new-password-{n}") for n in range(4)))

    assert sorted(statuses) == [204, 400, 400, 400]


async def test_a_superseded_reset_link_opens_nothing(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    older = await _reset_token(api, mailbox)
    await _reset_token(api, mailbox)

    response = await api.http.post(RESET, json={"token": older, "password": "attacker-pass"})

    assert response.status_code == 400
    assert (await api.http.post("/api/v1/auth/login", json=_credentials())).status_code == 200


def _credentials(password: str = PASSWORD) -> dict[str, str]:
    return {"email": "alice@example.com", "password": password}


async def test_email_tokens_are_stored_only_as_digests(api: Api) -> None:
    mailbox = Mailbox(api.container)
    await api.register()
    verification = token_in((await mailbox.collect())[0], "verify-email")
    reset = await _reset_token(api, mailbox)

    stored = await _everything_stored(api)

    assert verification not in stored
    assert reset not in stored
    assert hashlib.sha256(reset.encode()).hexdigest() in stored


async def _everything_stored(api: Api) -> str:
    """Every stored value as text: each table's rows, or the in-memory store's state."""
    engine = api.container.engine
    if engine is None:
        return repr(vars(api.container.uow()._store))  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        rows = [
            repr(list(await connection.execute(sa.text(f"SELECT * FROM {name}")))) for name in names
        ]
    return "\n".join(rows)


async def test_forgot_password_does_not_tell_whether_an_account_exists(api: Api) -> None:
    admin = await api.superuser()
    await api.register("alice@example.com")
    await api.register("inactive@example.com")
    inactive = await api.login("inactive@example.com")
    me = await api.http.get(ME, headers=bearer(inactive["access_token"]))
    await api.http.delete(f"/api/v1/users/{me.json()['id']}", headers=admin)

    answers = [
        await api.http.post(FORGOT, json={"email": email})
        for email in ("alice@example.com", "nobody@example.com", "inactive@example.com")
    ]

    assert {response.status_code for response in answers} == {202}
    assert len({response.content for response in answers}) == 1
    varying = {"x-request-id", "x-process-time", "date"}
    assert (
        len(
            {
                tuple(sorted((k, v) for k, v in r.headers.items() if k not in varying))
                for r in answers
            }
        )
        == 1
    )


async def test_unknown_addresses_are_throttled_like_known_ones(api: Api) -> None:
    await api.register("alice@example.com")
    for email in ("alice@example.com", "nobody@example.com"):
        statuses = [
            (await api.http.post(FORGOT, json={"email": email})).status_code for _ in range(6)
        ]
        assert statuses == [202] * 5 + [429], email


class _LoggedAndKept:
    """The log mailer, keeping each message so the test knows the tokens it must not see."""

    def __init__(self) -> None:
        self.log = LogMailer()
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)
        await self.log.send(message)


async def test_no_log_line_holds_an_email_link_token(api: Api) -> None:
    mailer = _LoggedAndKept()
    deliver = DeliverOutbox(api.container.uow, mailer, api.container.clock, links=EmailLinks())
    with _capture_every_logger() as captured:
        await api.register()
        tokens = await api.login()
        await api.http.post(
            "/api/v1/auth/verify-email/resend", headers=bearer(tokens["access_token"])
        )
        await api.http.post(FORGOT, json={"email": "alice@example.com"})
        await deliver.execute()
        welcome, resent, reset = mailer.sent
        secrets = [
            token_in(welcome, "verify-email"),
            token_in(resent, "verify-email"),
            token_in(reset, "reset-password"),
        ]
        await api.http.post(VERIFY, json={"token": secrets[0]})
        await api.http.post(VERIFY, json={"token": secrets[0]})
        await api.http.post(RESET, json={"token": secrets[2], "password": "x"})
        await api.http.post(RESET, json={"token": secrets[2], "password": "a-new-password"})
        await api.http.post(RESET, json={"token": secrets[2], "password": "a-new-password"})

    logged = "\n".join(captured.texts)
    # The log mailer did write each message (recipient and subject), without its link.
    assert logged.count("Reset your password") >= 1
    assert "[redacted]" in logged
    assert [secret[:8] for secret in secrets if secret in logged] == []


@pytest.mark.parametrize("sid", ["1", 0, -1, 2**63, 1.5, True])
async def test_a_token_with_a_malformed_session_claim_is_refused(memory_api: Api, sid: Any) -> None:
    token = await _access_token(memory_api)
    await _refused(memory_api, _forged(token, sid=sid))


async def test_a_token_from_before_sessions_were_recorded_still_works(memory_api: Api) -> None:
    token = await _access_token(memory_api)
    header, claims = _segments(token)
    del claims["sid"]
    legacy = jwt.encode(claims, TEST_SECRET_KEY, algorithm="HS256", headers=header)

    sessions = await memory_api.http.get("/api/v1/users/me/sessions", headers=bearer(legacy))

    assert sessions.status_code == 200
    assert [s["current"] for s in sessions.json()] == [False]


async def test_an_erased_accounts_access_and_refresh_tokens_are_refused(api: Api) -> None:
    await api.register()
    phone = await api.login()
    laptop = await api.login()

    erased = await api.http.request(
        "DELETE",
        "/api/v1/users/me",
        json={"current_password": PASSWORD},
        headers=bearer(laptop["access_token"]),
    )

    assert erased.status_code == 204
    for tokens in (phone, laptop):
        await _refused(api, tokens["access_token"])
        refreshed = await api.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
