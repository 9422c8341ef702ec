"""What a production start refuses, and what it warns about.

Checked by ``storefront serve`` and ``storefront worker`` (and by the ASGI factory, for
servers that import the app by name) before anything is served or delivered.
"""

from __future__ import annotations

import logging

from entrypoints.setting_values import SettingsError
from entrypoints.settings import Settings

logger = logging.getLogger("storefront")


def refuse_unsafe_production(settings: Settings) -> None:
    """Raise :class:`SettingsError` when production would silently lose e-mail.

    Without ``SMTP_HOST`` every e-mail is written to the log and marked delivered; in
    production that must be a choice (``EMAIL_BACKEND=log``), never an accident.
    """
    if settings.is_production and settings.smtp_host is None and settings.email_backend != "log":
        raise SettingsError(
            "SMTP_HOST is required when ENVIRONMENT=production "
            "(or set EMAIL_BACKEND=log to write e-mails to the log instead of sending them)"
        )


def production_warnings(settings: Settings, *, workers: int = 1) -> list[str]:
    """The risky choices a production start is allowed to make, each in one line."""
    if not settings.is_production:
        return []
    warnings = []
    if settings.uses_sqlite:
        warnings.append(
            "DATABASE_URL is SQLite: one machine, one writer at a time; "
            "use PostgreSQL in production"
        )
    if not settings.allowed_hosts or "*" in settings.allowed_hosts:
        warnings.append(
            "ALLOWED_HOSTS is * or unset: any Host header is accepted; "
            "list the names the service answers to"
        )
    if workers > 1 and settings.redis_url is None:
        warnings.append(
            f"{workers} workers without REDIS_URL: each process keeps its own login "
            "throttle, so the limits are multiplied; set REDIS_URL"
        )
    return warnings


def check_production_start(settings: Settings, *, workers: int = 1) -> None:
    """Refuse an unsafe production start, then log a warning for each risky choice."""
    refuse_unsafe_production(settings)
    for warning in production_warnings(settings, workers=workers):
        logger.warning("%s", warning)
