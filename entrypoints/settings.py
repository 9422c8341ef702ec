"""Settings read once at start-up from the environment, then a ``.env`` file.

The environment wins over ``.env``. Every value is checked here, so a bad one
stops the start with one line naming the setting instead of failing later, deep
inside a request. Nothing else in the project reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./storefront.db"
DEFAULT_SECRET_FILE = ".storefront-secret"
SECRET_MIN_BYTES = 32
GENERATED_SECRET_BYTES = 48
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SQL_SCHEMES = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    # Accepted for convenience (what most hosting platforms hand out); the driver is implied.
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}

Environment = Literal["development", "production"]
LogFormat = Literal["console", "json"]
TrustedNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


SmtpSecurity = Literal["starttls", "tls", "none"]
EmailBackend = Literal["smtp", "log"]


class SettingsError(Exception):
    """A setting is missing or invalid; ``str(error)`` is one line fit for a terminal."""


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


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines, ``#`` comments and an ``export`` prefix allowed.

    Values may be wrapped in single or double quotes, which are removed. A missing
    file is simply empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"Cannot read the settings file {path}: {exc.strerror}") from None
    values: dict[str, str] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SettingsError(f"{path} line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


class _Reader:
    """Typed access to the merged raw values, each failure naming its setting."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def parsed(self, name: str, parse: Callable[[str], T], expected: str) -> T | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise SettingsError(f"Invalid {name}: expected {expected}, got {value!r}") from None

    # None when the setting is not given: the default is the Settings field's own.

    def integer(self, name: str, *, minimum: int, maximum: int) -> int | None:
        def parse(value: str) -> int:
            number = int(value)
            if not minimum <= number <= maximum:
                raise ValueError
            return number

        return self.parsed(name, parse, f"an integer from {minimum} to {maximum}")

    def choice(self, name: str, choices: tuple[str, ...], *, upper: bool) -> str | None:
        def parse(value: str) -> str:
            value = value.upper() if upper else value.lower()
            if value not in choices:
                raise ValueError
            return value

        return self.parsed(name, parse, "one of " + ", ".join(choices))

    def boolean(self, name: str) -> bool | None:
        def parse(value: str) -> bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError

        return self.parsed(name, parse, "true or false")

    def items(self, name: str) -> tuple[str, ...]:
        value = self.text(name) or ""
        return tuple(item.strip() for item in value.split(",") if item.strip())


def _database_url(reader: _Reader) -> str:
    url = reader.text("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _SQL_SCHEMES:
        raise SettingsError(
            "Invalid DATABASE_URL: expected sqlite+aiosqlite:///PATH "
            f"or postgresql+asyncpg://USER:PASSWORD@HOST/NAME, got {redact_url(url)!r}"
        )
    return f"{_SQL_SCHEMES[scheme]}://{rest}"


def _cors_origins(reader: _Reader) -> tuple[str, ...]:
    origins = reader.items("BACKEND_CORS_ORIGINS")
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise SettingsError(
                f"Invalid BACKEND_CORS_ORIGINS: {origin!r} is not an http(s) origin or '*'"
            )
    # Browsers send the Origin header without a trailing slash.
    return tuple(origin.rstrip("/") for origin in origins)


def _trusted_proxies(reader: _Reader) -> tuple[str, ...]:
    entries = reader.items("TRUSTED_PROXIES")
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"Invalid TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return entries


def _redis_url(reader: _Reader) -> str | None:
    url = reader.text("REDIS_URL")
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"Invalid REDIS_URL: expected redis://HOST:PORT/DB, got {url!r}")
    return url


def _secret_key(reader: _Reader, environment: str | None, secret_file: Path) -> str:
    key = reader.text("SECRET_KEY")
    if key is None:
        if environment == "production":
            raise SettingsError("SECRET_KEY is required when ENVIRONMENT=production")
        return _development_secret(secret_file)
    # HS256 keys shorter than the hash output are refused by the token service too
    # (RFC 7518 §3.2); saying so here names the setting.
    if len(key.encode()) < SECRET_MIN_BYTES:
        raise SettingsError(f"Invalid SECRET_KEY: at least {SECRET_MIN_BYTES} bytes are required")
    return key


def _development_secret(secret_file: Path) -> str:
    """A key generated on the first start and kept, so tokens survive restarts."""
    try:
        stored = secret_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = ""
    except OSError as exc:
        raise SettingsError(f"Cannot read {secret_file}: {exc.strerror}") from None
    if stored:
        return stored
    key = secrets.token_urlsafe(GENERATED_SECRET_BYTES)
    try:
        # Created private (0600): the key signs every access token.
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
    except FileExistsError:
        # Another process won the race: use its key.
        return secret_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(
            f"Cannot write a development SECRET_KEY to {secret_file}: {exc}"
        ) from None
    logger.warning(
        "SECRET_KEY is not set: generated one and kept it in %s (development only; "
        "set SECRET_KEY in production)",
        secret_file,
    )
    return key


def _email_backend(reader: _Reader) -> EmailBackend | None:
    backend = reader.choice("EMAIL_BACKEND", ("smtp", "log"), upper=False)
    if backend == "smtp" and reader.text("SMTP_HOST") is None:
        raise SettingsError("EMAIL_BACKEND=smtp needs SMTP_HOST")
    return "smtp" if backend == "smtp" else "log" if backend == "log" else None


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
    reader = _Reader(raw)

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
        "metrics_enabled": reader.boolean("METRICS_ENABLED"),
    }
    return Settings(
        database_url=_database_url(reader),
        secret_key=_secret_key(reader, environment, Path(secret_file)),
        previous_secret_keys=previous_keys,
        backend_cors_origins=_cors_origins(reader),
        allowed_hosts=reader.items("ALLOWED_HOSTS"),
        redis_url=_redis_url(reader),
        smtp_host=reader.text("SMTP_HOST"),
        smtp_user=reader.text("SMTP_USER"),
        smtp_password=reader.text("SMTP_PASSWORD"),
        smtp_sender=reader.text("SMTP_SENDER"),
        email_backend=_email_backend(reader),
        metrics_token=reader.text("METRICS_TOKEN"),
        otel_variables=tuple(
            sorted((name, value) for name, value in raw.items() if name.startswith("OTEL_"))
        ),
        trusted_proxies=_trusted_proxies(reader),
        # What is not given keeps the field's default, stated once, on Settings.
        **{name: value for name, value in given.items() if value is not None},
    )
