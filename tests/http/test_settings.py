"""Settings: read once, from the environment then .env, each bad value named in one line."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from entrypoints.setting_values import SettingsError, read_env_file
from entrypoints.settings import Settings, load_settings

KEY = "k" * 40


def load(environ: dict[str, str], tmp_path: Path, env_file: str | None = None) -> Settings:
    path = tmp_path / ".env"
    if env_file is not None:
        path.write_text(env_file, encoding="utf-8")
    return load_settings(environ, env_file=path, secret_file=tmp_path / ".storefront-secret")


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    settings = load({"SECRET_KEY": KEY}, tmp_path)

    assert settings.database_url == "sqlite+aiosqlite:///./storefront.db"
    assert settings.environment == "development"
    assert settings.access_token_expire_minutes == 15
    assert settings.refresh_token_expire_days == 14
    assert settings.max_body_size == 1_048_576
    assert settings.request_read_timeout_seconds == 30
    assert settings.login_max_failures_per_email == 5
    assert settings.login_max_failures_per_client == 50
    assert settings.login_throttle_window_seconds == 900
    assert settings.backend_cors_origins == ()
    assert settings.trusted_proxies == ()
    assert settings.redis_url is None
    assert (settings.log_level, settings.log_format) == ("INFO", "console")
    assert settings.shutdown_timeout_seconds == 20
    assert settings.email_backend is None
    assert settings.frontend_url == "http://localhost:3000"
    assert settings.email_token_expire_hours == 48
    assert settings.password_reset_token_expire_minutes == 30
    assert settings.orders_require_verified_email is False


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    settings = load(
        {"SECRET_KEY": KEY, "ACCESS_TOKEN_EXPIRE_MINUTES": "5"},
        tmp_path,
        env_file="ACCESS_TOKEN_EXPIRE_MINUTES=30\nREFRESH_TOKEN_EXPIRE_DAYS=7\n",
    )

    assert settings.access_token_expire_minutes == 5
    assert settings.refresh_token_expire_days == 7


def test_the_env_file_allows_comments_quotes_and_export(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n\nexport LOG_LEVEL=debug\nSMTP_SENDER=\"Shop <shop@example.com>\"\nA='b c'\n",
        encoding="utf-8",
    )

    assert read_env_file(path) == {
        "LOG_LEVEL": "debug",
        "SMTP_SENDER": "Shop <shop@example.com>",
        "A": "b c",
    }


def test_a_missing_env_file_is_empty(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "absent.env") == {}


def test_a_malformed_env_file_line_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="line 2"):
        load({"SECRET_KEY": KEY}, tmp_path, env_file="LOG_LEVEL=INFO\nnot a setting\n")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
        ("MAX_BODY_SIZE", "-1"),
        ("ENVIRONMENT", "staging"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://db/shop"),
        ("BACKEND_CORS_ORIGINS", "shop.example.com"),
        ("TRUSTED_PROXIES", "10.0.0.300"),
        ("REDIS_URL", "http://cache"),
        ("SMTP_PORT", "smtp"),
        ("SECRET_KEY", "short"),
        ("PREVIOUS_SECRET_KEYS", "short"),
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_POOL_PRE_PING", "maybe"),
        ("OUTBOX_DISPATCHER_IN_PROCESS", "sometimes"),
        ("SMTP_SECURITY", "ssl3"),
        ("OUTBOX_RETENTION_DAYS", "0"),
        ("REQUEST_READ_TIMEOUT_SECONDS", "0"),
        ("EMAIL_BACKEND", "pigeon"),
        ("EMAIL_BACKEND", "smtp"),  # without SMTP_HOST
        ("SHUTDOWN_TIMEOUT_SECONDS", "0"),
        ("FRONTEND_URL", "shop.example.com"),
        ("FRONTEND_URL", "https://shop.example.com/?ref=mail"),
        ("EMAIL_TOKEN_EXPIRE_HOURS", "0"),
        ("EMAIL_TOKEN_EXPIRE_HOURS", "two days"),
        ("PASSWORD_RESET_TOKEN_EXPIRE_MINUTES", "0"),
        ("ORDERS_REQUIRE_VERIFIED_EMAIL", "perhaps"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load({"SECRET_KEY": KEY, name: value}, tmp_path)

    message = str(raised.value)
    assert name in message
    assert "\n" not in message


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load({"ENVIRONMENT": "production"}, tmp_path)


def test_production_accepts_a_long_secret_key(tmp_path: Path) -> None:
    settings = load({"ENVIRONMENT": "production", "SECRET_KEY": KEY}, tmp_path)

    assert settings.is_production
    assert settings.secret_key == KEY


def test_development_generates_a_secret_once_and_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        first = load({}, tmp_path)
    second = load({}, tmp_path)

    secret_file = tmp_path / ".storefront-secret"
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    assert secret_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert any("SECRET_KEY" in record.getMessage() for record in caplog.records)


def test_lists_are_comma_separated(tmp_path: Path) -> None:
    settings = load(
        {
            "SECRET_KEY": KEY,
            "BACKEND_CORS_ORIGINS": "https://a.example.com/, http://localhost:3000",
            "TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "PREVIOUS_SECRET_KEYS": f"{'p' * 32},{'q' * 32}",
        },
        tmp_path,
    )

    assert settings.backend_cors_origins == ("https://a.example.com", "http://localhost:3000")
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.previous_secret_keys == ("p" * 32, "q" * 32)


def test_a_plain_postgresql_url_gets_the_async_driver(tmp_path: Path) -> None:
    settings = load({"SECRET_KEY": KEY, "DATABASE_URL": "postgres://u:p@db/shop"}, tmp_path)

    assert settings.database_url == "postgresql+asyncpg://u:p@db/shop"
    assert not settings.uses_sqlite


def test_secrets_stay_out_of_the_representation(tmp_path: Path) -> None:
    settings = load(
        {"SECRET_KEY": KEY, "DATABASE_URL": "postgresql+asyncpg://u:hunter2@db/shop"}, tmp_path
    )

    assert KEY not in repr(settings)
    assert "hunter2" not in repr(settings)


def test_email_goes_to_smtp_when_a_host_is_set_unless_the_log_is_chosen(tmp_path: Path) -> None:
    smtp = {"SECRET_KEY": KEY, "SMTP_HOST": "mail.example.com"}

    assert load(smtp, tmp_path).sends_email
    assert not load({**smtp, "EMAIL_BACKEND": "log"}, tmp_path).sends_email
    assert not load({"SECRET_KEY": KEY}, tmp_path).sends_email


def test_the_frontend_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    settings = load(
        {
            "SECRET_KEY": KEY,
            "FRONTEND_URL": "https://shop.example.com/app/",
            "ORDERS_REQUIRE_VERIFIED_EMAIL": "true",
            "EMAIL_TOKEN_EXPIRE_HOURS": "24",
            "PASSWORD_RESET_TOKEN_EXPIRE_MINUTES": "10",
        },
        tmp_path,
    )

    assert settings.frontend_url == "https://shop.example.com/app"
    assert settings.orders_require_verified_email is True
    assert settings.email_token_expire_hours == 24
    assert settings.password_reset_token_expire_minutes == 10
