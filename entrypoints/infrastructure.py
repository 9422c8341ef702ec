"""The adapters the composition root (``bootstrap.py``) chooses from the settings: mailer,
token service, login throttle, readiness checks, and what each leaves to close at shutdown.

With ``bootstrap.py``, the only module that names concrete adapters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from adapters.login_throttle.memory import MemoryLoginThrottle
from adapters.login_throttle.redis_store import RedisLoginThrottle
from adapters.mail import LogMailer, SmtpMailer
from adapters.redis_health import RedisPing
from adapters.tokens import JwtTokenService
from application.account_mail import EmailLinks
from application.ports.accounts import LoginThrottle, PasswordHasher
from application.ports.common import Clock
from application.ports.notifications import Mailer
from entrypoints.settings import Settings

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises ``DependencyUnavailable`` when a backing service is down."""
ReadinessChecks = Mapping[str, ReadinessCheck]
"""The checks ``/health/ready`` runs, by the name it reports (``database``, ``redis``)."""
Closer = Callable[[], Awaitable[None]]
OUTBOX_BATCH_SIZE = 10
SMTP_TIMEOUT_SECONDS = 10.0
DEFAULT_SENDER = "storefront@localhost"


def message_domain(settings: Settings) -> str:
    """Message-IDs are minted in the sender's domain, as RFC 5322 recommends."""
    sender = settings.smtp_sender or DEFAULT_SENDER
    return sender.rpartition("@")[2].strip("<> ") or "localhost"


def chosen_mailer(settings: Settings) -> Mailer:
    if not settings.sends_email or settings.smtp_host is None:
        return LogMailer(settings.smtp_sender or DEFAULT_SENDER)
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender or DEFAULT_SENDER,
        username=settings.smtp_user,
        password=settings.smtp_password,
        use_tls=settings.smtp_security == "tls",
        # STARTTLS is required when asked for, so a stripped offer cannot downgrade us.
        start_tls=settings.smtp_security == "starttls",
        timeout_seconds=SMTP_TIMEOUT_SECONDS,
    )


def email_links(settings: Settings) -> EmailLinks:
    """Where the links in e-mails point, and how long their tokens last."""
    return EmailLinks(
        frontend_url=settings.frontend_url,
        verification_ttl=timedelta(hours=settings.email_token_expire_hours),
        reset_ttl=timedelta(minutes=settings.password_reset_token_expire_minutes),
    )


def token_service(settings: Settings, clock: Clock) -> JwtTokenService:
    return JwtTokenService(
        secret_key=settings.secret_key,
        previous_keys=settings.previous_secret_keys,
        access_ttl_seconds=settings.access_token_expire_minutes * 60,
        clock=clock,
    )


def login_limits(settings: Settings) -> dict[str, int]:
    """Per key kind. Verification and reset links are limited like logins, each with
    its own kinds so that one allowance never eats into another."""
    per_account = settings.login_max_failures_per_email
    per_client = settings.login_max_failures_per_client
    return {
        "email": per_account,
        "client": per_client,
        "verify-user": per_account,
        "verify-client": per_client,
        "reset-email": per_account,
        "reset-client": per_client,
    }


def login_throttle(settings: Settings, clock: Clock) -> tuple[LoginThrottle, tuple[Closer, ...]]:
    if settings.redis_url:
        redis_throttle = RedisLoginThrottle(
            settings.redis_url,
            limits=login_limits(settings),
            window_seconds=settings.login_throttle_window_seconds,
            clock=clock,
        )
        return redis_throttle, (redis_throttle.close,)
    memory_throttle = MemoryLoginThrottle(
        limits=login_limits(settings),
        window_seconds=settings.login_throttle_window_seconds,
        clock=clock,
    )
    return memory_throttle, ()


def readiness_checks(
    settings: Settings, database: ReadinessCheck
) -> tuple[ReadinessChecks, tuple[Closer, ...]]:
    """The database check, and Redis's when ``REDIS_URL`` is set."""
    if not settings.redis_url:
        return {"database": database}, ()
    redis = RedisPing(settings.redis_url)
    return {"database": database, "redis": redis}, (redis.close,)


def closer_for_hasher(hasher: PasswordHasher) -> tuple[Closer, ...]:
    close = getattr(hasher, "close", None)
    if close is None:
        return ()

    async def close_hasher() -> None:
        close()

    return (close_hasher,)
