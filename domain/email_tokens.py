"""One-time tokens sent by e-mail: proving an address, or setting a new password.

A token is 32 random bytes (256 bits) in URL-safe base64, put in a link and handed to
the customer once; only its SHA-256 digest is stored. A plain digest is enough (no
salt, no slow hash): the token is not a guessable password, and a leaked table of
digests cannot be turned back into links.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

EMAIL_TOKEN_BYTES = 32
EMAIL_TOKEN_MAX_LENGTH = 128
"""Longer input is refused before anything is hashed or looked up."""

# What secrets.token_urlsafe produces: the alphabet of RFC 4648 §5, no padding.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"

    @property
    def newest_only(self) -> bool:
        """Whether a new token of this purpose ends the user's earlier ones.

        A reset link is a key to the account: the newest request is the one the owner
        is acting on, and older links lying in a mailbox must not still open it. A
        verification link proves the address whichever copy is clicked.
        """
        return self is TokenPurpose.RESET_PASSWORD


def new_email_token() -> str:
    """A fresh secret for a link: 43 characters of ``[A-Za-z0-9_-]``."""
    return secrets.token_urlsafe(EMAIL_TOKEN_BYTES)


def hash_email_token(token: str) -> str:
    """The only form of a token that is ever stored or compared."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether ``token`` could have been issued by :func:`new_email_token`."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


@dataclass(slots=True)
class EmailToken:
    """A stored token: its digest, whose it is, what it is for and until when."""

    token_hash: str
    user_id: int
    purpose: TokenPurpose
    email: str
    """The address the link was sent to: a verification proves this address, no other."""
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def matches(self, token_hash: str, purpose: TokenPurpose) -> bool:
        """Compared in constant time, so response times reveal nothing of the digest."""
        return hmac.compare_digest(self.token_hash, token_hash) and self.purpose is purpose

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
