"""Settings read once at start-up from the environment, then a ``.env`` file.

The environment wins over ``.env``. Every value is checked here, so a bad one
stops the start with one line naming the setting instead of failing later, deep
inside a request. Nothing else in the project reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from entrypoints.setting_values import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SECRET_FILE,
    SECRET_MIN_BYTES,
    Reader,
    SettingsError,
    cors_origins,
    database_url,
    email_backend,
    frontend_url,
    read_env_file,
    redact_url,
    redis_url,
    secret_key,
    trusted_proxies,
)

logger = logging.getLogger(__name__)


T = TypeVar("T")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


Environment = Literal["development", "production"]


LogFormat = Literal["console", "json"]


TrustedNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


SmtpSecurity = Literal["starttls", "tls", "none"]


EmailBackend = Literal["smtp", "log"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service, validated; build it with :func:`load_settings`."""

    database_url: str = DEFAULT_DATABASE_URL
    # A steady pool: overflow connections opened and closed under load cost ~15 % CPU
    # (tests/benchmarks/RESULTS.md). 16 per process leaves room for several workers
    # within PostgreSQL's default max_connections of 100.
    database_pool_size: int = 16
    database_max_overflow: int = 0
    database_pool_pre_ping: bool = False
    secret_key: str
    previous_secret_keys: tuple[str, ...] = ()
    environment: Environment = "development"
    access_token_expire_minutes: int = 15
    refresh_token_expire_days: int = 14
    backend_cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    redis_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_sender: str | None = None
    smtp_security: SmtpSecurity = "starttls"
    # None: SMTP when SMTP_HOST is set, else the log. Production must choose the log
    # explicitly (see entrypoints.guard_rails).
    email_backend: EmailBackend | None = None
    outbox_dispatcher_in_process: bool = True
    outbox_retention_days: int = 7
    max_body_size: int = 1_048_576
    request_read_timeout_seconds: int = 30
    login_max_failures_per_email: int = 5
    login_max_failures_per_client: int = 50
    login_throttle_window_seconds: int = 900
    trusted_proxies: tuple[str, ...] = ()
    # Where the links in e-mails point: the shop's web front end, which posts the token
    # back to the API (/verify-email?token=..., /reset-password?token=...).
    frontend_url: str = "http://localhost:3000"
    email_token_expire_hours: int = 48
    password_reset_token_expire_minutes: int = 30
    orders_require_verified_email: bool = False
    log_level: str = "INFO"
    log_format: LogFormat = "console"
    shutdown_timeout_seconds: int = 20
    access_log: bool = True
    metrics_enabled: bool = True
    metrics_token: str | None = None
    otel_variables: tuple[tuple[str, str], ...] = ()
    """Every ``OTEL_*`` variable given (environment or ``.env``), for the tracing SDK."""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def sends_email(self) -> bool:
        """Whether e-mails go to an SMTP server (else they are written to the log)."""
        return self.email_backend != "log" and self.smtp_host is not None

    @property
    def tracing_enabled(self) -> bool:
        """Whether the standard ``OTEL_*`` variables ask for traces to be exported."""
        otel = dict(self.otel_variables)
        if otel.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return False
        exporter = otel.get("OTEL_TRACES_EXPORTER", "").strip().lower()
        if exporter:
            return exporter != "none"
        endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        return any(otel.get(name) for name in endpoints)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def __repr__(self) -> str:
        # Secrets stay out of logs and tracebacks.
        database_url = redact_url(self.database_url)
        return f"Settings(environment={self.environment!r}, database_url={database_url!r})"


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = ".env",
    *,
    secret_file: str | Path = DEFAULT_SECRET_FILE,
) -> Settings:
    """Read and check every setting; a bad value raises :class:`SettingsError`.

    ``environ`` defaults to the process environment; ``env_file`` (``None`` for
    none) fills in what the environment does not set.
    """
    raw: dict[str, str] = dict(read_env_file(env_file)) if env_file is not None else {}
    raw.update(os.environ if environ is None else environ)
    reader = Reader(raw)

    environment = reader.choice("ENVIRONMENT", ("development", "production"), upper=False)
    previous_keys = reader.items("PREVIOUS_SECRET_KEYS")
    if any(len(key.encode()) < SECRET_MIN_BYTES for key in previous_keys):
        raise SettingsError(
            f"Invalid PREVIOUS_SECRET_KEYS: each key must be at least {SECRET_MIN_BYTES} bytes long"
        )
    # Each value is checked by its reader; Settings' constructor gives each its type.
    given: dict[str, Any] = {
        "environment": environment,
        "database_pool_size": reader.integer("DATABASE_POOL_SIZE", minimum=1, maximum=1000),
        "database_max_overflow": reader.integer("DATABASE_MAX_OVERFLOW", minimum=0, maximum=1000),
        "database_pool_pre_ping": reader.boolean("DATABASE_POOL_PRE_PING"),
        "access_token_expire_minutes": reader.integer(
            "ACCESS_TOKEN_EXPIRE_MINUTES", minimum=1, maximum=24 * 60
        ),
        "refresh_token_expire_days": reader.integer(
            "REFRESH_TOKEN_EXPIRE_DAYS", minimum=1, maximum=365
        ),
        "smtp_port": reader.integer("SMTP_PORT", minimum=1, maximum=65535),
        "smtp_security": reader.choice("SMTP_SECURITY", ("starttls", "tls", "none"), upper=False),
        "outbox_dispatcher_in_process": reader.boolean("OUTBOX_DISPATCHER_IN_PROCESS"),
        "outbox_retention_days": reader.integer("OUTBOX_RETENTION_DAYS", minimum=1, maximum=3650),
        "max_body_size": reader.integer("MAX_BODY_SIZE", minimum=1024, maximum=1 << 30),
        "request_read_timeout_seconds": reader.integer(
            "REQUEST_READ_TIMEOUT_SECONDS", minimum=1, maximum=3600
        ),
        "login_max_failures_per_email": reader.integer(
            "LOGIN_MAX_FAILURES_PER_EMAIL", minimum=1, maximum=1_000_000
        ),
        "login_max_failures_per_client": reader.integer(
            "LOGIN_MAX_FAILURES_PER_CLIENT", minimum=1, maximum=1_000_000
        ),
        "login_throttle_window_seconds": reader.integer(
            "LOGIN_THROTTLE_WINDOW_SECONDS", minimum=1, maximum=7 * 24 * 3600
        ),
        "log_level": reader.choice("LOG_LEVEL", LOG_LEVELS, upper=True),
        "log_format": reader.choice("LOG_FORMAT", ("console", "json"), upper=False),
        "shutdown_timeout_seconds": reader.integer(
            "SHUTDOWN_TIMEOUT_SECONDS", minimum=1, maximum=3600
        ),
        "access_log": reader.boolean("ACCESS_LOG"),
        "frontend_url": frontend_url(reader),
        "email_token_expire_hours": reader.integer(
            "EMAIL_TOKEN_EXPIRE_HOURS", minimum=1, maximum=30 * 24
        ),
        "password_reset_token_expire_minutes": reader.integer(
            "PASSWORD_RESET_TOKEN_EXPIRE_MINUTES", minimum=1, maximum=24 * 60
        ),
        "orders_require_verified_email": reader.boolean("ORDERS_REQUIRE_VERIFIED_EMAIL"),
        "metrics_enabled": reader.boolean("METRICS_ENABLED"),
    }
    return Settings(
        database_url=database_url(reader),
        secret_key=secret_key(reader, environment, Path(secret_file)),
        previous_secret_keys=previous_keys,
        backend_cors_origins=cors_origins(reader),
        allowed_hosts=reader.items("ALLOWED_HOSTS"),
        redis_url=redis_url(reader),
        smtp_host=reader.text("SMTP_HOST"),
        smtp_user=reader.text("SMTP_USER"),
        smtp_password=reader.text("SMTP_PASSWORD"),
        smtp_sender=reader.text("SMTP_SENDER"),
        email_backend=email_backend(reader),
        metrics_token=reader.text("METRICS_TOKEN"),
        otel_variables=tuple(
            sorted((name, value) for name, value in raw.items() if name.startswith("OTEL_"))
        ),
        trusted_proxies=trusted_proxies(reader),
        # What is not given keeps the field's default, stated once, on Settings.
        **{name: value for name, value in given.items() if value is not None},
    )
