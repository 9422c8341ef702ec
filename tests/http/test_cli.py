"""The `storefront` command: each failure one line on stderr and a non-zero status."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from entrypoints import cli
from entrypoints.demo import demo_products
from entrypoints.http.protocol import GuardedHttpToolsProtocol
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.http.conftest import TEST_SECRET_KEY

ENV = {"SECRET_KEY": TEST_SECRET_KEY}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty folder (no .env) and give the root logger back afterwards."""
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def sqlite_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**ENV, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", **extra}


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("storefront: error: ")
    return lines[0]


def test_openapi_writes_the_document_to_a_file(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"

    status = cli.main(["openapi", "--output", str(output)], environ={})

    assert status == 0
    document = json.loads(output.read_text())
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/products" in document["paths"]


def test_openapi_writes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["openapi"], environ={}) == 0

    assert json.loads(capsys.readouterr().out)["info"]["title"] == "Storefront API"


def test_a_bad_setting_stops_with_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["db", "current"], environ={**ENV, "ACCESS_TOKEN_EXPIRE_MINUTES": "soon"})

    assert status == 2
    assert "ACCESS_TOKEN_EXPIRE_MINUTES" in one_error_line(capsys.readouterr().err)


def test_production_without_a_secret_key_does_not_start(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["serve"], environ={"ENVIRONMENT": "production"})

    assert status == 2
    assert "SECRET_KEY" in one_error_line(capsys.readouterr().err)


def test_db_upgrade_then_current_shows_the_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = sqlite_env(tmp_path)
    assert cli.main(["db", "current"], environ=environ) == 0
    assert "no revision" in capsys.readouterr().out

    assert cli.main(["db", "upgrade"], environ=environ) == 0
    upgraded = capsys.readouterr().out
    assert cli.main(["db", "current"], environ=environ) == 0

    revision = capsys.readouterr().out.strip()
    assert revision
    assert "no revision" not in revision
    assert upgraded == f"Database now at revision {revision}\n"


def test_create_superuser_creates_then_promotes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = sqlite_env(tmp_path, STOREFRONT_SUPERUSER_PASSWORD="a-long-password")

    assert cli.main(["create-superuser", "--email", "Root@Example.com"], environ=environ) == 0
    assert cli.main(["create-superuser", "--email", "root@example.com"], environ=environ) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == ["Superuser root@example.com (id 1) is ready."] * 2


def test_create_superuser_refuses_a_short_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(
        ["create-superuser", "--email", "root@example.com", "--password", "short"],
        environ=sqlite_env(tmp_path),
    )

    assert status == 1
    assert "Password" in one_error_line(capsys.readouterr().err)


def test_seed_demo_adds_products_once_with_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = sqlite_env(tmp_path)

    assert cli.main(["seed-demo", "--products", "30"], environ=environ) == 0
    first = capsys.readouterr()
    assert cli.main(["seed-demo", "--products", "30"], environ=environ) == 0
    second = capsys.readouterr()

    assert "Added 30 demo product(s)" in first.out
    assert "30/30" in first.err
    assert "Added 0 demo product(s)" in second.out


def test_demo_data_is_deterministic_and_spans_a_dozen_categories() -> None:
    first = list(demo_products(48))

    assert first == list(demo_products(48))
    assert len({item.details.category for item in first}) == 12
    assert len({item.slug for item in first}) == 48


def test_serve_migrates_the_embedded_database_and_runs_uvicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append((app, options)))

    environ = {**sqlite_env(tmp_path), "REQUEST_READ_TIMEOUT_SECONDS": "7"}
    status = cli.main(["serve", "--port", "9001", "--workers", "2"], environ=environ)

    assert status == 0
    assert (tmp_path / "shop.db").exists()
    ((app, options),) = calls
    assert app == "entrypoints.http.asgi:create_app_from_environment"
    assert options["factory"] is True
    assert (options["port"], options["workers"]) == (9001, 2)
    # The guarded protocol, picklable for the worker processes, with the setting's deadline.
    protocol = pickle.loads(pickle.dumps(options["http"]))
    assert protocol.func is GuardedHttpToolsProtocol
    assert protocol.keywords["limits"].read_timeout_seconds == 7
    assert options["ws"] == "none"


@pytest.mark.postgres
def test_serve_refuses_an_out_of_date_postgresql_schema(
    postgres_server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *_, **__: pytest.fail("must not start"))
    url = create_postgres_database(postgres_server_url)
    try:
        status = cli.main(["serve"], environ={**ENV, "DATABASE_URL": url})
    finally:
        drop_postgres_database(url)

    assert status == 1
    assert "storefront db upgrade" in one_error_line(capsys.readouterr().err)


def test_the_asgi_factory_builds_the_app_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from entrypoints.http.asgi import create_app_from_environment

    for name, value in sqlite_env(tmp_path).items():
        monkeypatch.setenv(name, value)

    assert isinstance(create_app_from_environment(), Litestar)
