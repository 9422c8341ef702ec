"""How each raw setting is read and checked: the ``.env`` file, typed values, URLs,
secrets. A bad value raises :class:`SettingsError`, one line naming the setting."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from entrypoints.settings import EmailBackend

logger = logging.getLogger("entrypoints.settings")
T = TypeVar("T")


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./storefront.db"
DEFAULT_SECRET_FILE = ".storefront-secret"


SECRET_MIN_BYTES = 32


GENERATED_SECRET_BYTES = 48


_SQL_SCHEMES = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    # Accepted for convenience (what most hosting platforms hand out); the driver is implied.
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


class SettingsError(Exception):
    """A setting is missing or invalid; ``str(error)`` is one line fit for a terminal."""


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


class Reader:
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


def database_url(reader: Reader) -> str:
    url = reader.text("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _SQL_SCHEMES:
        raise SettingsError(
            "Invalid DATABASE_URL: expected sqlite+aiosqlite:///PATH "
            f"or postgresql+asyncpg://USER:PASSWORD@HOST/NAME, got {redact_url(url)!r}"
        )
    return f"{_SQL_SCHEMES[scheme]}://{rest}"


def cors_origins(reader: Reader) -> tuple[str, ...]:
    origins = reader.items("BACKEND_CORS_ORIGINS")
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise SettingsError(
                f"Invalid BACKEND_CORS_ORIGINS: {origin!r} is not an http(s) origin or '*'"
            )
    # Browsers send the Origin header without a trailing slash.
    return tuple(origin.rstrip("/") for origin in origins)


def trusted_proxies(reader: Reader) -> tuple[str, ...]:
    entries = reader.items("TRUSTED_PROXIES")
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"Invalid TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return entries


def frontend_url(reader: Reader) -> str | None:
    url = reader.text("FRONTEND_URL")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            f"Invalid FRONTEND_URL: expected an http(s) URL without query or fragment, got {url!r}"
        )
    # Links are made by appending "/verify-email?token=...".
    return url.rstrip("/")


def redis_url(reader: Reader) -> str | None:
    url = reader.text("REDIS_URL")
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"Invalid REDIS_URL: expected redis://HOST:PORT/DB, got {url!r}")
    return url


def secret_key(reader: Reader, environment: str | None, secret_file: Path) -> str:
    key = reader.text("SECRET_KEY")
    if key is None:
        if environment == "production":
            raise SettingsError("SECRET_KEY is required when ENVIRONMENT=production")
        return development_secret(secret_file)
    # HS256 keys shorter than the hash output are refused by the token service too
    # (RFC 7518 §3.2); saying so here names the setting.
    if len(key.encode()) < SECRET_MIN_BYTES:
        raise SettingsError(f"Invalid SECRET_KEY: at least {SECRET_MIN_BYTES} bytes are required")
    return key


def development_secret(secret_file: Path) -> str:
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


def email_backend(reader: Reader) -> EmailBackend | None:
    backend = reader.choice("EMAIL_BACKEND", ("smtp", "log"), upper=False)
    if backend == "smtp" and reader.text("SMTP_HOST") is None:
        raise SettingsError("EMAIL_BACKEND=smtp needs SMTP_HOST")
    return "smtp" if backend == "smtp" else "log" if backend == "log" else None
