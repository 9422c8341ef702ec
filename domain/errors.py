"""The kinds of failure the business knows about.

Every layer above raises or lets these rise; the HTTP edge maps each kind to one
status code in a single place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every business-rule failure; ``detail`` is safe to show a client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does."""


class Conflict(DomainError):
    """The request clashes with the current state (a taken e-mail, a used key...)."""


class InsufficientStock(Conflict):
    """A product cannot serve the quantity asked for."""

    def __init__(self, product_id: int, requested: int) -> None:
        super().__init__(f"Product {product_id} does not have {requested} unit(s) in stock")
        self.product_id = product_id
        self.requested = requested


class PreconditionFailed(DomainError):
    """The resource changed since the version the client based its write on."""


class InvalidCredentials(DomainError):
    """Wrong e-mail or password, or a token that is not (or no longer) valid."""


class RefreshTokenReused(InvalidCredentials):
    """A spent refresh token was presented again: it was copied, and its login is revoked."""

    def __init__(self, detail: str, user_id: int) -> None:
        super().__init__(detail)
        self.user_id = user_id


class InvalidToken(DomainError):
    """An e-mail link's token that is unknown, expired, already used or superseded."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class InvalidInput(DomainError):
    """Well-formed input that breaks a business rule; ``field`` names the culprit."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class TooManyAttempts(DomainError):
    """The caller must wait before trying again."""

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
