"""The `storefront` command on PostgreSQL: migrate, make a superuser, seed the catalogue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.sql import migrate
from entrypoints import cli
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.http.test_cli import ENV, isolated  # noqa: F401 - autouse: logging put back

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_postgres_url(postgres_server_url: str) -> Iterator[str]:
    url = create_postgres_database(postgres_server_url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_a_new_postgresql_database_is_migrated_seeded_and_given_a_superuser(
    empty_postgres_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {**ENV, "DATABASE_URL": empty_postgres_url}

    assert cli.main(["db", "upgrade"], environ=environ) == 0
    assert cli.main(["db", "current"], environ=environ) == 0
    revision = capsys.readouterr().out.strip().splitlines()[-1]
    assert revision.split()[0] in migrate.head_revisions()
    assert (
        cli.main(
            ["create-superuser", "--email", "root@example.com", "--password", "long-password"],
            environ=environ,
        )
        == 0
    )
    assert cli.main(["seed-demo", "--products", "40"], environ=environ) == 0
    assert cli.main(["seed-demo", "--products", "40"], environ=environ) == 0

    out = capsys.readouterr().out
    assert "Superuser root@example.com (id 1) is ready." in out
    assert "Added 40 demo product(s)" in out
    assert "Added 0 demo product(s)" in out


def test_downgrading_to_base_empties_the_schema_and_upgrading_restores_it(
    empty_postgres_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {**ENV, "DATABASE_URL": empty_postgres_url}

    assert cli.main(["db", "upgrade"], environ=environ) == 0
    assert cli.main(["db", "downgrade", "base"], environ=environ) == 0
    assert cli.main(["db", "current"], environ=environ) == 0
    assert "no revision" in capsys.readouterr().out
    assert cli.main(["db", "upgrade"], environ=environ) == 0
