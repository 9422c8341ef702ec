"""Fast stand-ins for the slow or external ports, for use-case tests.

The real adapters have their own tests; these keep the use-case tests about rules.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from application.ports.accounts import AccessClaims, Admission, IssuedAccessToken, PasswordCheck
from domain.errors import InvalidCredentials
from domain.users import User


class SteppingClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class ReversibleHasher:
    """Not a hash at all: "hashed:<password>", plus a marker for outdated parameters."""

    def __init__(self) -> None:
        self.dummy_verifications = 0

    async def hash(self, password: str) -> str:
        return f"hashed:{password}"

    async def verify(self, password: str, hashed: str) -> PasswordCheck:
        if hashed == f"old:{password}":
            return PasswordCheck(valid=True, new_hash=await self.hash(password))
        return PasswordCheck(valid=hashed == f"hashed:{password}")

    async def verify_dummy(self, password: str) -> None:
        self.dummy_verifications += 1


class LookupTokens:
    """Access tokens that are keys of a dictionary of claims."""

    def __init__(self) -> None:
        self._issued: dict[str, AccessClaims] = {}
        self._numbers = itertools.count(1)

    def issue_access_token(self, user: User, session_id: int | None = None) -> IssuedAccessToken:
        token = f"access-{next(self._numbers)}"
        self._issued[token] = AccessClaims(
            user_id=user.id, token_version=user.token_version, session_id=session_id
        )
        return IssuedAccessToken(token=token, expires_in=900)

    def read_access_token(self, token: str) -> AccessClaims:
        try:
            return self._issued[token]
        except KeyError:
            raise InvalidCredentials("Invalid or expired access token") from None


class CountingThrottle:
    """Refuses a key after ``limit`` failed attempts; no window (tests move no time)."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self.failures: defaultdict[str, int] = defaultdict(int)

    async def admit(self, keys: Sequence[str]) -> Admission:
        if any(self.failures[key] >= self.limit for key in keys):
            return Admission(keys=tuple(keys), ticket="", retry_after=60)
        for key in keys:
            self.failures[key] += 1
        return Admission(keys=tuple(keys), ticket="counted")

    async def clear(self, admission: Admission) -> None:
        for key in admission.keys:
            if self.failures[key]:
                self.failures[key] -= 1

    async def reset(self, key: str) -> None:
        self.failures.pop(key, None)
