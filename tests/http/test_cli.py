"""The `storefront` command: each failure one line on stderr and a non-zero status."""

from __future__ import annotations

import json
import logging
import pickle
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from adapters.sql import migrate
from entrypoints import cli
from entrypoints.demo import demo_products
from entrypoints.http.protocol import GuardedHttpToolsProtocol
from entrypoints.version import VERSION
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


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"], environ={})

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"storefront {VERSION}\n"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["serve"], ["(default: 127.0.0.1)", "(default: 8000)", "(default: 1)"]),
        (["seed-demo"], ["(default: 200)", "(default: 12)"]),
        (["db", "upgrade"], ["(default: head)"]),
    ],
)
def test_help_shows_the_defaults(
    command: list[str], shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main([*command, "--help"], environ={})

    text = " ".join(capsys.readouterr().out.split())
    for default in shown:
        assert default in text
    assert "(default: None)" not in text


def test_db_history_lists_the_migrations_and_marks_the_current_one(
    migrated_sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["db", "history"], environ={**ENV, "DATABASE_URL": migrated_sqlite_url})

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert "(head)" in lines[0]
    assert "(current)" in lines[0]
    assert lines[-1].startswith("<base> -> 0001")


def test_db_revision_autogenerates_the_next_numbered_migration_from_the_models(
    migrated_sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {**ENV, "DATABASE_URL": migrated_sqlite_url}
    heads = migrate.head_revisions()
    directory = tmp_path / "versions"

    status = cli.main(
        ["db", "revision", "-m", "add a thing", "--directory", str(directory)], environ=environ
    )

    assert status == 0
    (script,) = directory.glob("*.py")
    number = int(max(heads)) + 1
    assert script.name == f"{number:04d}_add_a_thing.py"
    text = script.read_text()
    assert f"revision: str = '{number:04d}'" in text
    assert f"down_revision: str | None = '{max(heads)}'" in text
    # The database matches the models: autogenerate found nothing to change.
    assert "op." not in text
    assert str(script) in capsys.readouterr().out


def test_db_revision_on_an_outdated_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(
        ["db", "revision", "-m", "x", "--directory", str(tmp_path / "v")],
        environ=sqlite_env(tmp_path),
    )

    assert status == 1
    assert "db revision failed" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_serve_refuses_a_port_out_of_range_in_one_line(
    port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *_, **__: pytest.fail("must not start"))

    status = cli.main(["serve", "--port", port], environ=sqlite_env(tmp_path))

    assert status == 2
    assert "--port" in one_error_line(capsys.readouterr().err)


def test_serve_on_a_port_already_taken_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *_, **__: pytest.fail("must not start"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        status = cli.main(["serve", "--port", str(port)], environ=sqlite_env(tmp_path))

    assert status == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"127.0.0.1:{port}" in line
    assert "in use" in line


def test_serve_bounds_the_graceful_stop_by_the_shutdown_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda _app, **options: calls.append(options))

    cli.main(["serve"], environ=sqlite_env(tmp_path, SHUTDOWN_TIMEOUT_SECONDS="10"))

    ((options),) = calls
    assert 0 < options["timeout_graceful_shutdown"] < 10
