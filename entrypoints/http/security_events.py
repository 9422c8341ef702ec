"""Security events on a logger of their own (``storefront.security``), never with a secret.

Each event is one record: an ``event`` name (``login.failed``, ``login.throttled``,
``login.inactive``, ``refresh_token.reused``, ``password.check_failed``,
``user.role_changed``) and the fields an operator needs to act on it: who (user ids,
the e-mail tried), from where (the client address), and what changed. Passwords,
tokens and hashes are never handed to this module. Attacks are warnings; legitimate
administrative changes are at INFO.
"""

from __future__ import annotations

import logging
from typing import Any

SECURITY_LOGGER = "storefront.security"
_logger = logging.getLogger(SECURITY_LOGGER)


def _event(level: int, event: str, message: str, **fields: Any) -> None:
    if _logger.isEnabledFor(level):
        _logger.log(level, message, extra={"fields": {"event": event, **fields}})


def login_failed(email: str, client: str | None) -> None:
    _event(
        logging.WARNING,
        "login.failed",
        f"Failed login for {email!r} from {client}",
        email=email,
        client=client,
    )


def login_throttled(email: str, client: str | None, retry_after_seconds: int) -> None:
    _event(
        logging.WARNING,
        "login.throttled",
        f"Login for {email!r} from {client} refused: too many failures "
        f"(retry after {retry_after_seconds} s)",
        email=email,
        client=client,
        retry_after_seconds=retry_after_seconds,
    )


def login_inactive(email: str, client: str | None) -> None:
    _event(
        logging.WARNING,
        "login.inactive",
        f"Login to the inactive account {email!r} from {client}",
        email=email,
        client=client,
    )


def refresh_token_reused(user_id: int, client: str | None) -> None:
    _event(
        logging.WARNING,
        "refresh_token.reused",
        f"A spent refresh token of user {user_id} was presented again from {client}: "
        "that login's sessions are revoked",
        user_id=user_id,
        client=client,
    )


def password_check_failed(user_id: int, client: str | None) -> None:
    _event(
        logging.WARNING,
        "password.check_failed",
        f"Wrong current password for user {user_id} from {client}",
        user_id=user_id,
        client=client,
    )


def role_changed(actor_id: int, user_id: int, client: str | None, **changes: bool) -> None:
    """A superuser changed ``is_superuser`` or ``is_active`` of an account (``changes``)."""
    described = ", ".join(f"{name}={value}" for name, value in changes.items())
    _event(
        logging.INFO,
        "user.role_changed",
        f"User {actor_id} set {described} on user {user_id}",
        actor_id=actor_id,
        user_id=user_id,
        client=client,
        changes=changes,
    )


def account_erased(user_id: int, client: str | None) -> None:
    """An account was erased by its owner; only its id is left to name it."""
    _event(
        logging.INFO,
        "user.erased",
        f"User {user_id} erased their account from {client}",
        user_id=user_id,
        client=client,
    )
