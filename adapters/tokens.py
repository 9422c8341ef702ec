"""Short-lived access tokens: JWTs signed with a shared secret (HMAC), via PyJWT.

Key rotation: tokens carry a ``kid`` header, a fingerprint of the key that signed
them. New tokens are always signed with the current key; keys listed as previous
still verify the tokens they signed until those expire, so a secret can be
replaced without logging everyone out.

Reading a token runs on every authenticated request, and a client sends the same
token for its whole lifetime. So everything that does not depend on the token
(keys, fingerprints, options, the PyJWT instance) is prepared once, and the
outcome of verifying a token's signature and claims is kept in a bounded LRU
cache; only the time checks, which depend on when it is read, run on every read.
Only tokens that passed every check are cached, so nobody can fill the cache
without holding a signing key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import jwt
from jwt.algorithms import HMACAlgorithm

from application.ports.accounts import AccessClaims, IssuedAccessToken
from application.ports.common import Clock
from domain.errors import InvalidCredentials
from domain.ids import MAX_ID
from domain.users import User

ACCESS_TOKEN_TYPE: Final = "access"
_REQUIRED_CLAIMS: Final = ["sub", "exp", "iat", "nbf", "jti", "iss", "aud", "typ", "ver"]
_HASHES: Final = {
    "HS256": HMACAlgorithm.SHA256,
    "HS384": HMACAlgorithm.SHA384,
    "HS512": HMACAlgorithm.SHA512,
}
# Our headers are ~60 characters; anything much longer is not ours and is not parsed.
_MAX_HEADER_SEGMENT = 256
_INVALID_TOKEN_DETAIL: Final = "Invalid or expired access token"


def key_fingerprint(secret_key: str) -> str:
    """The ``kid`` of a key: names it without revealing it."""
    return hashlib.sha256(secret_key.encode()).hexdigest()[:16]


class _RejectedToken(Exception):
    """Internal: a defect found by our own checks, turned into InvalidCredentials."""


@dataclass(frozen=True, slots=True)
class _VerifiedToken:
    """What holds true of a token at any time: signed by us, for us, an access token."""

    claims: AccessClaims
    expires_at: int
    not_before: int
    issued_at: int


class JwtTokenService:
    """Implements ``TokenService`` with HMAC-signed JWTs (HS256 by default).

    Claims: ``sub`` (user id as a string), ``exp``, ``iat``, ``nbf``, ``jti``,
    ``iss``, ``aud``, ``typ`` (``"access"``), ``ver`` (the user's token version,
    compared with the stored one by the caller to revoke tokens early) and ``sid`` (the
    login it was issued for, which marks the caller's own session in the list). Any defect
    in a token read back raises ``InvalidCredentials`` with one fixed message, so
    nothing about why it failed reaches a client.

    Time claims are checked against the injected clock (with ``leeway_seconds`` of
    tolerance for skew between servers), not PyJWT's own, so issuing and reading
    agree on what "now" is.
    """

    def __init__(
        self,
        *,
        secret_key: str,
        algorithm: str = "HS256",
        issuer: str = "storefront",
        audience: str = "storefront-api",
        access_ttl_seconds: int = 900,
        previous_keys: Sequence[str] = (),
        leeway_seconds: int = 10,
        clock: Clock,
        verified_cache_size: int = 4096,
    ) -> None:
        hash_function = _HASHES.get(algorithm)
        if hash_function is None:
            raise ValueError(
                f"Unsupported token algorithm {algorithm!r}: use one of {', '.join(_HASHES)}"
            )
        if access_ttl_seconds < 1:
            raise ValueError("access_ttl_seconds must be at least 1")
        if leeway_seconds < 0:
            raise ValueError("leeway_seconds must not be negative")
        if verified_cache_size < 0:
            raise ValueError("verified_cache_size must not be negative")
        if isinstance(previous_keys, str):
            # A lone string would otherwise be read as one key per character.
            raise TypeError("previous_keys must be a sequence of keys, not a string")
        hmac_algorithm = HMACAlgorithm(hash_function)
        for key in (secret_key, *previous_keys):
            # RFC 7518 §3.2: an HMAC key at least as long as the hash output. PyJWT
            # only warns (on every call); a weak secret should stop the start instead.
            too_short = hmac_algorithm.check_key_length(hmac_algorithm.prepare_key(key))
            if too_short:
                raise ValueError(
                    f"Token signing keys must be at least {hash_function().digest_size} "
                    f"bytes long for {algorithm}"
                )

        self._algorithm = algorithm
        self._algorithms = [algorithm]
        self._issuer = issuer
        self._audience = audience
        self._ttl = access_ttl_seconds
        self._leeway = leeway_seconds
        self._clock = clock
        self._signing_key = secret_key.encode()
        self._signing_headers = {"kid": key_fingerprint(secret_key)}
        # Previous keys verify only; the current key is added last so that it wins
        # if a previous key is listed again (or, improbably, shares its fingerprint).
        self._verification_keys = {key_fingerprint(key): key.encode() for key in previous_keys}
        self._verification_keys[key_fingerprint(secret_key)] = self._signing_key
        self._jwt = jwt.PyJWT(
            options={
                "require": list(_REQUIRED_CLAIMS),
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_sub": True,
                "verify_jti": True,
                "strict_aud": True,
                # Checked below against self._clock, with the same leeway.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            }
        )
        # Per instance, not on the method: instances have different keys and clocks.
        self._verify = functools.lru_cache(maxsize=verified_cache_size)(self._verify_uncached)

    def issue_access_token(self, user: User, session_id: int | None = None) -> IssuedAccessToken:
        issued_at = int(self._clock.now().timestamp())
        claims: dict[str, Any] = {
            "sub": str(user.id),
            "exp": issued_at + self._ttl,
            "iat": issued_at,
            "nbf": issued_at,
            "jti": secrets.token_urlsafe(16),
            "iss": self._issuer,
            "aud": self._audience,
            "typ": ACCESS_TOKEN_TYPE,
            "ver": user.token_version,
        }
        if session_id is not None:
            claims["sid"] = session_id
        token = self._jwt.encode(
            claims, self._signing_key, algorithm=self._algorithm, headers=self._signing_headers
        )
        return IssuedAccessToken(token=token, expires_in=self._ttl)

    def read_access_token(self, token: str) -> AccessClaims:
        try:
            verified = self._verify(token)
        except (_RejectedToken, jwt.PyJWTError, ValueError, TypeError):
            # ValueError/TypeError: odd input PyJWT does not wrap (say, a lone surrogate).
            raise InvalidCredentials(_INVALID_TOKEN_DETAIL) from None
        now = self._clock.now().timestamp()
        if (
            verified.expires_at <= now - self._leeway
            or verified.not_before > now + self._leeway
            or verified.issued_at > now + self._leeway
        ):
            raise InvalidCredentials(_INVALID_TOKEN_DETAIL)
        return verified.claims

    def _verify_uncached(self, token: str) -> _VerifiedToken:
        key = self._verification_keys.get(self._unverified_kid(token))
        if key is None:
            raise _RejectedToken
        claims = self._jwt.decode(
            token, key, algorithms=self._algorithms, audience=self._audience, issuer=self._issuer
        )
        return _checked(claims)

    def _unverified_kid(self, token: str) -> str:
        """The ``kid`` header, read without verification: it only picks the key.

        PyJWT's ``get_unverified_header`` decodes and validates the whole token, as
        long as verifying it; reading only the first segment keeps the hot path to
        one full decode. A lying header cannot help an attacker: the signature is
        then checked with the key it names, under the pinned algorithm.
        """
        header_segment, dot, _ = token.partition(".")
        if not dot or len(header_segment) > _MAX_HEADER_SEGMENT:
            raise _RejectedToken
        try:
            header = json.loads(
                base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4))
            )
        except (binascii.Error, ValueError) as error:
            raise _RejectedToken from error
        if not isinstance(header, dict) or header.get("alg") != self._algorithm:
            raise _RejectedToken
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _RejectedToken
        return kid


def _checked(claims: dict[str, Any]) -> _VerifiedToken:
    """Our own checks on claims PyJWT found present, signed and addressed to us."""
    expires_at, not_before, issued_at = claims["exp"], claims["nbf"], claims["iat"]
    # Whole seconds only, as issued: no floats (NaN would compare as "valid"), no bools.
    if not all(type(value) is int for value in (expires_at, not_before, issued_at)):
        raise _RejectedToken
    if claims["typ"] != ACCESS_TOKEN_TYPE:
        raise _RejectedToken
    subject, version = claims["sub"], claims["ver"]
    # str(int(...)) round trip: no signs, spaces, leading zeros or other digits.
    if not (subject.isascii() and subject.isdigit() and str(int(subject)) == subject):
        raise _RejectedToken
    if type(version) is not int or version < 0:
        raise _RejectedToken
    user_id = int(subject)
    if not 1 <= user_id <= MAX_ID:
        raise _RejectedToken
    # Optional: tokens issued before sessions were recorded have none.
    session_id = claims.get("sid")
    if session_id is not None and (type(session_id) is not int or not 1 <= session_id <= MAX_ID):
        raise _RejectedToken
    return _VerifiedToken(
        claims=AccessClaims(user_id=user_id, token_version=version, session_id=session_id),
        expires_at=expires_at,
        not_before=not_before,
        issued_at=issued_at,
    )
