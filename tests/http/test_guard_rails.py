"""Production guard-rails: refuse to lose e-mail silently, warn about risky choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from entrypoints import cli
from entrypoints.guard_rails import production_warnings
from tests.http.conftest import TEST_SECRET_KEY, make_settings
from tests.http.test_cli import isolated, one_error_line

__all__ = ["isolated"]  # the fixture, imported to run each test in an empty folder

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": TEST_SECRET_KEY}
SAFE_PRODUCTION = {
    **PRODUCTION,
    "DATABASE_URL": "postgresql+asyncpg://shop@db/shop",
    "SMTP_HOST": "mail.example.com",
    "ALLOWED_HOSTS": "shop.example.com",
    "REDIS_URL": "redis://cache:6379/0",
}


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_production_without_smtp_refuses_to_start_naming_the_setting(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *_, **__: pytest.fail("must not start"))

    status = cli.main(command, environ=PRODUCTION)

    assert status == 2
    line = one_error_line(capsys.readouterr().err)
    assert "SMTP_HOST" in line
    assert "EMAIL_BACKEND=log" in line


def test_the_asgi_factory_refuses_production_without_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.http.asgi import create_app_from_environment
    from entrypoints.setting_values import SettingsError

    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match="SMTP_HOST"):
        create_app_from_environment()


def test_production_writing_email_to_the_log_starts_when_chosen_explicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda _app, **options: calls.append(options))
    environ = {
        **PRODUCTION,
        "EMAIL_BACKEND": "log",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        "ALLOWED_HOSTS": "*",
    }

    status = cli.main(["serve", "--workers", "2"], environ=environ)

    assert status == 0
    assert len(calls) == 1
    warnings = "\n".join(line for line in capsys.readouterr().err.splitlines() if "WARNING" in line)
    assert "SQLite" in warnings
    assert "ALLOWED_HOSTS" in warnings
    assert "REDIS_URL" in warnings


def test_a_production_setup_without_risky_choices_gets_no_warning() -> None:
    assert production_warnings(make_settings(**SAFE_PRODUCTION), workers=4) == []


@pytest.mark.parametrize(
    ("change", "workers", "named"),
    [
        ({"DATABASE_URL": "sqlite+aiosqlite:///./shop.db"}, 1, "SQLite"),
        ({"ALLOWED_HOSTS": "*"}, 1, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": ""}, 1, "ALLOWED_HOSTS"),
        ({"REDIS_URL": ""}, 2, "REDIS_URL"),
    ],
)
def test_each_risky_production_choice_gets_one_warning_naming_it(
    change: dict[str, str], workers: int, named: str
) -> None:
    (warning,) = production_warnings(
        make_settings(**{**SAFE_PRODUCTION, **change}), workers=workers
    )

    assert named in warning


def test_one_worker_without_redis_and_development_are_not_warned_about() -> None:
    one_worker = make_settings(**{**SAFE_PRODUCTION, "REDIS_URL": ""})
    development = make_settings(SECRET_KEY=TEST_SECRET_KEY, ALLOWED_HOSTS="*")

    assert production_warnings(one_worker, workers=1) == []
    assert production_warnings(development, workers=8) == []
