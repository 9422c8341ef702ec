"""JwtTokenService: access tokens that say who, until when, and nothing forged gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from jwt.types import Options

from adapters.tokens import JwtTokenService
from application.ports.accounts import AccessClaims
from domain.errors import InvalidCredentials
from domain.users import User
from tests.unit.doubles import SteppingClock

SECRET = "current-secret-key-of-at-least-32-bytes"
OLD_SECRET = "previous-secret-key-of-at-least-32-bytes"
OTHER_SECRET = "somebody-elses-secret-key-at-least-32-bytes"
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_user(user_id: int = 42, token_version: int = 3) -> User:
    return User(
        id=user_id,
        email="alice@example.com",
        hashed_password="not-a-hash",
        full_name="Alice",
        is_active=True,
        is_superuser=False,
        created_at=START,
        updated_at=START,
        token_version=token_version,
    )


def make_service(clock: SteppingClock, **overrides: Any) -> JwtTokenService:
    settings: dict[str, Any] = {"secret_key": SECRET, "clock": clock, **overrides}
    return JwtTokenService(**settings)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
def service(clock: SteppingClock) -> JwtTokenService:
    return make_service(clock)


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def forge(
    service: JwtTokenService,
    *,
    key: str = SECRET,
    algorithm: str = "HS256",
    drop: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
    **changes: Any,
) -> str:
    """A token like the service's own, with some claims changed, signed with ``key``."""
    genuine = service.issue_access_token(make_user()).token
    claims = {**claims_of(genuine), **changes}
    for name in drop:
        del claims[name]
    if headers is None:
        headers = {"kid": header_of(genuine)["kid"]}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def assert_rejected(service: JwtTokenService, token: str) -> None:
    with pytest.raises(InvalidCredentials) as caught:
        service.read_access_token(token)
    # One fixed message: nothing from PyJWT about why.
    assert caught.value.detail == "Invalid or expired access token"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- issuing and reading back -------------------------------------------------------------


def test_an_issued_token_reads_back_as_its_user_and_token_version(
    service: JwtTokenService,
) -> None:
    issued = service.issue_access_token(make_user(user_id=42, token_version=3))

    assert service.read_access_token(issued.token) == AccessClaims(user_id=42, token_version=3)


def test_a_token_names_the_session_it_was_issued_for(service: JwtTokenService) -> None:
    issued = service.issue_access_token(make_user(user_id=42, token_version=3), session_id=7)

    assert service.read_access_token(issued.token) == AccessClaims(
        user_id=42, token_version=3, session_id=7
    )


def test_a_token_lasts_the_configured_time(clock: SteppingClock) -> None:
    service = make_service(clock, access_ttl_seconds=600)

    issued = service.issue_access_token(make_user())

    claims = claims_of(issued.token)
    assert issued.expires_in == 600
    assert claims["exp"] - claims["iat"] == 600
    assert claims["iat"] == claims["nbf"] == int(START.timestamp())


def test_a_token_carries_every_claim_the_contract_names(service: JwtTokenService) -> None:
    claims = claims_of(service.issue_access_token(make_user(user_id=42, token_version=3)).token)

    assert claims["sub"] == "42"
    assert claims["iss"] == "storefront"
    assert claims["aud"] == "storefront-api"
    assert claims["typ"] == "access"
    assert claims["ver"] == 3
    assert set(claims) == {"sub", "exp", "iat", "nbf", "jti", "iss", "aud", "typ", "ver"}


def test_every_token_has_its_own_id(service: JwtTokenService) -> None:
    user = make_user()

    ids = {claims_of(service.issue_access_token(user).token)["jti"] for _ in range(20)}

    assert len(ids) == 20


def test_the_header_names_the_signing_key_by_fingerprint_only(service: JwtTokenService) -> None:
    header = header_of(service.issue_access_token(make_user()).token)

    assert header["alg"] == "HS256"
    assert header["kid"] == hashlib.sha256(SECRET.encode()).hexdigest()[:16]


def test_a_token_is_accepted_until_it_expires_plus_leeway(clock: SteppingClock) -> None:
    service = make_service(clock, access_ttl_seconds=900, leeway_seconds=10)
    token = service.issue_access_token(make_user()).token

    clock.advance(seconds=900 + 9)
    assert service.read_access_token(token).user_id == 42

    clock.advance(seconds=1)
    assert_rejected(service, token)


def test_a_token_from_a_server_whose_clock_runs_a_little_ahead_is_accepted(
    clock: SteppingClock,
) -> None:
    ahead = make_service(SteppingClock(START + timedelta(seconds=8)), leeway_seconds=10)
    token = ahead.issue_access_token(make_user()).token

    assert make_service(clock, leeway_seconds=10).read_access_token(token).user_id == 42


# --- defects ------------------------------------------------------------------------------


def test_a_tampered_payload_is_rejected(service: JwtTokenService) -> None:
    header, _, signature = service.issue_access_token(make_user()).token.split(".")
    claims = claims_of(service.issue_access_token(make_user()).token)
    claims["sub"] = "1"
    payload = b64(json.dumps(claims).encode())

    assert_rejected(service, f"{header}.{payload}.{signature}")


def test_a_tampered_signature_is_rejected(service: JwtTokenService) -> None:
    token = service.issue_access_token(make_user()).token
    head, _, signature = token.rpartition(".")
    flipped = b64(bytes([base64.urlsafe_b64decode(signature + "=")[0] ^ 1]))[:2]

    assert_rejected(service, f"{head}.{flipped}{signature[2:]}")


def test_a_token_signed_with_another_key_under_our_kid_is_rejected(
    service: JwtTokenService,
) -> None:
    assert_rejected(service, forge(service, key=OTHER_SECRET))


def test_an_unsigned_token_with_alg_none_is_rejected(service: JwtTokenService) -> None:
    genuine = service.issue_access_token(make_user()).token
    kid = header_of(genuine)["kid"]
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    payload = genuine.split(".")[1]

    assert_rejected(service, f"{header}.{payload}.")
    assert_rejected(service, f"{header}.{payload}")


# PyJWT warns that our HS256-sized key is short for HS512: true, and beside the point.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_with_another_hmac_algorithm_is_rejected(service: JwtTokenService) -> None:
    assert_rejected(service, forge(service, algorithm="HS512"))


def test_a_token_whose_header_lies_about_its_algorithm_is_rejected(
    service: JwtTokenService,
) -> None:
    genuine = service.issue_access_token(make_user()).token
    kid = header_of(genuine)["kid"]
    header = b64(json.dumps({"alg": "HS512", "typ": "JWT", "kid": kid}).encode())
    payload = genuine.split(".")[1]
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(SECRET.encode(), signing_input, "sha512").digest())

    assert_rejected(service, f"{header}.{payload}.{signature}")


def test_an_expired_token_is_rejected(clock: SteppingClock, service: JwtTokenService) -> None:
    token = service.issue_access_token(make_user()).token

    clock.advance(seconds=3600)

    assert_rejected(service, token)


def test_a_token_not_yet_valid_is_rejected(service: JwtTokenService) -> None:
    later = int(START.timestamp()) + 60

    assert_rejected(service, forge(service, nbf=later))


def test_a_token_issued_in_the_future_is_rejected(service: JwtTokenService) -> None:
    later = int(START.timestamp()) + 60

    assert_rejected(service, forge(service, iat=later))


def test_a_token_for_another_audience_is_rejected(service: JwtTokenService) -> None:
    assert_rejected(service, forge(service, aud="another-api"))
    assert_rejected(service, forge(service, aud=["storefront-api", "another-api"]))


def test_a_token_from_another_issuer_is_rejected(service: JwtTokenService) -> None:
    assert_rejected(service, forge(service, iss="someone-else"))


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "nbf", "jti", "iss", "aud", "typ", "ver"])
def test_a_token_missing_a_claim_is_rejected(service: JwtTokenService, claim: str) -> None:
    assert_rejected(service, forge(service, drop=(claim,)))


@pytest.mark.parametrize("token_type", ["refresh", "ACCESS", "", None])
def test_a_token_of_another_type_is_rejected(
    service: JwtTokenService, token_type: str | None
) -> None:
    assert_rejected(service, forge(service, typ=token_type))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", 42),
        ("sub", "0"),
        ("sub", "-1"),
        ("sub", "042"),
        ("sub", " 42"),
        ("sub", "4²"),
        ("sub", "alice"),
        ("ver", "3"),
        ("ver", -1),
        ("ver", True),
        ("ver", 3.0),
        ("exp", "2100000000"),
        ("exp", True),
        ("exp", 2100000000.5),
        ("jti", 7),
    ],
)
def test_a_token_with_a_claim_of_the_wrong_shape_is_rejected(
    service: JwtTokenService, claim: str, value: Any
) -> None:
    assert_rejected(service, forge(service, **{claim: value}))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b.c",
        "....",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "\udcff.\udcff.\udcff",
        "x" * 10_000 + ".e30.c2ln",
    ],
    ids=[
        "empty",
        "one-word",
        "junk-segments",
        "dots",
        "header-only",
        "no-kid",
        "surrogate",
        "huge",
    ],
)
def test_garbage_is_rejected(service: JwtTokenService, token: str) -> None:
    assert_rejected(service, token)


def test_a_token_without_a_kid_is_rejected(service: JwtTokenService) -> None:
    assert_rejected(service, forge(service, headers={}))


def test_a_token_with_an_unknown_kid_is_rejected(service: JwtTokenService) -> None:
    assert_rejected(service, forge(service, headers={"kid": "0123456789abcdef"}))


# --- key rotation -------------------------------------------------------------------------


def test_a_token_signed_with_a_previous_key_is_still_accepted(clock: SteppingClock) -> None:
    before_rotation = make_service(clock, secret_key=OLD_SECRET)
    token = before_rotation.issue_access_token(make_user()).token

    after_rotation = make_service(clock, secret_key=SECRET, previous_keys=[OLD_SECRET])

    assert after_rotation.read_access_token(token) == AccessClaims(user_id=42, token_version=3)


def test_new_tokens_are_signed_with_the_current_key_never_a_previous_one(
    clock: SteppingClock,
) -> None:
    after_rotation = make_service(clock, secret_key=SECRET, previous_keys=[OLD_SECRET])

    token = after_rotation.issue_access_token(make_user()).token

    assert header_of(token)["kid"] == hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    signature_only: Options = {"verify_exp": False, "verify_aud": False}
    jwt.decode(token, SECRET, algorithms=["HS256"], options=signature_only)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, OLD_SECRET, algorithms=["HS256"], options=signature_only)
    assert make_service(clock, secret_key=SECRET).read_access_token(token).user_id == 42


def test_once_a_key_is_dropped_its_tokens_are_rejected(clock: SteppingClock) -> None:
    token = make_service(clock, secret_key=OLD_SECRET).issue_access_token(make_user()).token

    assert_rejected(make_service(clock, secret_key=SECRET), token)


def test_a_previous_key_under_another_kid_cannot_vouch_for_a_current_kid_token(
    clock: SteppingClock,
) -> None:
    service = make_service(clock, secret_key=SECRET, previous_keys=[OLD_SECRET])

    # Signed with the old key but claiming to be from the current one.
    assert_rejected(service, forge(service, key=OLD_SECRET))


# --- configuration ------------------------------------------------------------------------


def test_a_signing_key_shorter_than_the_hash_is_refused(clock: SteppingClock) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        make_service(clock, secret_key="too-short")


def test_a_short_previous_key_is_refused_too(clock: SteppingClock) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        make_service(clock, previous_keys=["too-short"])


def test_previous_keys_given_as_one_string_are_refused(clock: SteppingClock) -> None:
    with pytest.raises(TypeError, match="previous_keys"):
        make_service(clock, previous_keys=OLD_SECRET)


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256"])
def test_only_hmac_algorithms_are_offered(clock: SteppingClock, algorithm: str) -> None:
    with pytest.raises(ValueError, match="Unsupported token algorithm"):
        make_service(clock, algorithm=algorithm)


def test_hs512_needs_a_64_byte_key_and_then_works(clock: SteppingClock) -> None:
    with pytest.raises(ValueError, match="at least 64 bytes"):
        make_service(clock, algorithm="HS512")

    service = make_service(clock, algorithm="HS512", secret_key="k" * 64)
    token = service.issue_access_token(make_user()).token

    assert header_of(token)["alg"] == "HS512"
    assert service.read_access_token(token).user_id == 42
    assert_rejected(make_service(clock, secret_key="k" * 64), token)


def test_issuer_and_audience_come_from_settings(clock: SteppingClock) -> None:
    service = make_service(clock, issuer="shop", audience="shop-api")
    token = service.issue_access_token(make_user()).token

    assert (claims_of(token)["iss"], claims_of(token)["aud"]) == ("shop", "shop-api")
    assert service.read_access_token(token).user_id == 42
    assert_rejected(make_service(clock), token)


def test_a_token_already_read_is_still_rejected_once_it_expires(clock: SteppingClock) -> None:
    service = make_service(clock)
    token = service.issue_access_token(make_user()).token
    for _ in range(3):
        assert service.read_access_token(token).user_id == 42

    clock.advance(seconds=3600)

    assert_rejected(service, token)


def test_tokens_read_and_expire_alike_without_the_verification_cache(
    clock: SteppingClock,
) -> None:
    service = make_service(clock, verified_cache_size=0)
    token = service.issue_access_token(make_user()).token

    assert service.read_access_token(token) == AccessClaims(user_id=42, token_version=3)
    assert_rejected(service, forge(service, typ="refresh"))
    clock.advance(seconds=3600)
    assert_rejected(service, token)
