"""Accounts ports: users, refresh-token families, password hashing, access tokens and
the login throttle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.changes import UNSET, Unset
from application.pagination import PageRequest, Slice
from domain.sessions import RefreshToken
from domain.users import User


@dataclass(frozen=True, slots=True)
class UserChanges:
    """The fields one write sets; every other column keeps whatever it holds then.

    ``end_sessions`` bumps the token version in the same statement, so access tokens
    issued before it stop working.
    """

    email: str | Unset | None = UNSET
    """None erases the address (an erased account has none)."""
    hashed_password: str | Unset = UNSET
    full_name: str | Unset | None = UNSET
    is_active: bool | Unset = UNSET
    is_superuser: bool | Unset = UNSET
    is_verified: bool | Unset = UNSET
    end_sessions: bool = False


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Store a new user and return it with its id; a taken e-mail raises ``Conflict``."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Look up by normalised e-mail (comparison is case-insensitive)."""
        ...

    async def get_for_update(self, user_id: int) -> User | None:
        """Read and lock the user's row until the transaction ends."""
        ...

    async def lock_active_superusers(self) -> list[int]:
        """Ids of the active superusers, their rows locked (in id order) until the
        transaction ends: of two transactions removing superusers, the second sees
        what the first left."""
        ...

    async def change(
        self,
        user_id: int,
        changes: UserChanges,
        at: datetime,
        expected_version: int | None = None,
    ) -> User | None:
        """Set only the given fields (and ``updated_at``) in one conditional statement,
        bump the version, and return the user as stored; None if there is no such user.

        With ``expected_version``, a user whose version differs raises
        ``PreconditionFailed`` and nothing is written. A taken e-mail raises ``Conflict``.
        """
        ...

    async def list_page(self, page: PageRequest) -> Slice[User]:
        """Users by ascending id."""
        ...


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: str) -> RefreshToken | None: ...

    async def spend(self, token_hash: str, at: datetime) -> bool:
        """Mark a usable token used, atomically: of two concurrent calls one wins."""
        ...

    async def revoke_family(self, family_id: str, at: datetime) -> None: ...

    async def revoke_all_for_user(self, user_id: int, at: datetime) -> None:
        """End every refresh-token family of the user (a logout everywhere)."""
        ...

    async def delete_all_for_user(self, user_id: int) -> None:
        """Forget every refresh token of the user (an erased account)."""
        ...

    async def purge(self, expired_before: datetime) -> int:
        """Delete tokens that expired before the given time; return how many.

        Spent and revoked tokens are kept until they expire: a spent token presented
        again is how reuse is detected, and its family revoked.
        """
        ...


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    valid: bool
    new_hash: str | None = None
    """A fresh hash when the stored one uses outdated parameters."""


class PasswordHasher(Protocol):
    """Slow, salted password hashing; implementations never block the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, hashed: str) -> PasswordCheck: ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so unknown e-mails cannot be told apart."""
        ...


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    """Seconds until it expires."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    token_version: int
    session_id: int | None = None
    """The login the token was issued for; None in tokens issued before sessions were."""


class TokenService(Protocol):
    """Short-lived signed access tokens."""

    def issue_access_token(
        self, user: User, session_id: int | None = None
    ) -> IssuedAccessToken: ...

    def read_access_token(self, token: str) -> AccessClaims:
        """Verify and decode; any defect raises ``InvalidCredentials``."""
        ...


@dataclass(frozen=True, slots=True)
class Admission:
    """A throttle's answer to one attempt."""

    keys: tuple[str, ...]
    ticket: str
    """Identifies the attempt, counted as a failure until cleared."""
    retry_after: int | None = None
    """Set when refused: seconds to wait. A refused attempt is not counted."""


class LoginThrottle(Protocol):
    """Counts password attempts per key (e-mail, client address) in a sliding window.

    An attempt counts from the moment it is admitted, before the password is checked,
    so however many arrive at once no more than the limit per key are checked.
    """

    async def admit(self, keys: Sequence[str]) -> Admission:
        """In one atomic step: refuse (``retry_after`` set, nothing counted) if any key is
        at its limit, else count the attempt against every key."""
        ...

    async def clear(self, admission: Admission) -> None:
        """The admitted attempt succeeded: it no longer counts."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every attempt counted against ``key``."""
        ...
