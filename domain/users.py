"""Users and the rules on their e-mail addresses and passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInput

EMAIL_MAX_LENGTH = 254
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
FULL_NAME_MAX_LENGTH = 200

# Deliberately permissive: one "@", no spaces, a dotted domain. Deliverability is
# proven by the welcome e-mail, not by a regular expression.
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def fold_email(raw: str) -> str:
    """The form an address is stored and compared in: trimmed, lower case.

    Login folds what it is given without validating it: a malformed address there
    is just one that no account has (401), not an input error.
    """
    return raw.strip().lower()


def normalise_email(raw: str) -> str:
    """Return the canonical form of a valid address, or refuse it (``InvalidInput``)."""
    email = fold_email(raw)
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL_PATTERN.fullmatch(email):
        raise InvalidInput("Not a valid e-mail address", field="email")
    return email


def check_password_rules(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"Password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long",
            field="password",
        )


def check_full_name(full_name: str | None) -> str | None:
    if full_name is not None and len(full_name) > FULL_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"Full name must be at most {FULL_NAME_MAX_LENGTH} characters long", field="full_name"
        )
    return full_name


@dataclass(slots=True)
class User:
    id: int
    email: str | None
    """None once the account is erased."""
    hashed_password: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime
    # Bumped whenever outstanding access tokens must stop working at once.
    token_version: int = 0
    # Bumped by every write: what an ETag is made of.
    version: int = 1
    # Whether the current address was proven by a link sent to it.
    is_verified: bool = False
