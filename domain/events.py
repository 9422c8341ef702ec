"""Things that happened which other parts of the system react to (e-mail, for one).

Events carry ids rather than whole entities: whoever reacts later loads what it
needs as it is then (the customer's current e-mail address, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class UserRegistered:
    user_id: int
    email: str
    full_name: str | None


@dataclass(frozen=True, slots=True)
class VerificationRequested:
    """A verification link is owed to ``email`` (resent, or a changed address).

    The token is minted when the e-mail is written, not here: an outbox row never
    holds a usable secret.
    """

    user_id: int
    email: str


@dataclass(frozen=True, slots=True)
class PasswordResetRequested:
    """Somebody asked for a reset link for ``email``, whether or not it has an account.

    Recorded either way, so the request does the same work for both; whoever sends the
    e-mail looks the account up and sends nothing when there is none (or it is inactive).
    """

    email: str


@dataclass(frozen=True, slots=True)
class PasswordChanged:
    """The account's password was changed (by its owner, or by a reset link)."""

    user_id: int
    email: str


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: int
    user_id: int
    lines: tuple[tuple[str, int, Decimal], ...]
    """(product name, quantity, line total) per line."""
    total: Decimal


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: int
    user_id: int
    total: Decimal


DomainEvent = (
    UserRegistered
    | VerificationRequested
    | PasswordResetRequested
    | PasswordChanged
    | OrderPlaced
    | OrderCancelled
)


def account_of(event: DomainEvent) -> int | None:
    """The account an event is about, when it names one (a reset request names only an
    address, which may have no account)."""
    return None if isinstance(event, PasswordResetRequested) else event.user_id
