"""Schemathesis over every operation, against ``storefront serve`` on PostgreSQL.

The in-memory run (test_schemathesis.py) cannot see what only a database does:
column widths, NULs, integer ranges, collations, constraint violations. This run
sends the same kind of generated requests over real sockets to a real server on a
fresh PostgreSQL database, with the same checks (``tests/http/fuzzing.py``).

The superuser whose token every request carries can be demoted or deactivated by a
generated request (once another superuser exists): after a 401 or 403 the account is
put back and logged in again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy.engine import make_url

from adapters.sql import migrate
from application.users import CreateSuperuserCommand
from entrypoints.bootstrap import build_container
from tests.conftest import create_postgres_database, drop_postgres_database, run_blocking
from tests.http.conftest import PASSWORD, TEST_SECRET_KEY, cheap_hasher, make_settings
from tests.http.fuzzing import fuzzing, honours_the_contract
from tests.live_server import bare_environment, serving

pytestmark = pytest.mark.postgres

MAX_EXAMPLES = 20
SUPERUSER_EMAIL = "root@example.com"
UNLIMITED = "1000000"


@dataclass
class PostgresServer:
    base_url: str
    database_url: str
    token: str = ""

    def restore_superuser(self) -> None:
        """Give the superuser back its rights and log in again (a request may take them)."""
        asyncio.run(_restore_superuser(self.database_url))
        login = httpx.post(
            f"{self.base_url}/api/v1/auth/login",
            data={"username": SUPERUSER_EMAIL, "password": PASSWORD},
        )
        assert login.status_code == 200, login.text
        self.token = login.json()["access_token"]


async def _create_superuser(database_url: str) -> None:
    container = build_container(make_settings(DATABASE_URL=database_url), hasher=cheap_hasher())
    try:
        await container.create_superuser.execute(
            CreateSuperuserCommand(email=SUPERUSER_EMAIL, password=PASSWORD)
        )
    finally:
        await container.close()


async def _restore_superuser(database_url: str) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE users SET is_active = true, is_superuser = true WHERE email = $1",
            SUPERUSER_EMAIL,
        )
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def postgres_server(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresServer]:
    database_url = create_postgres_database(postgres_server_url)
    directory: Path = tmp_path_factory.mktemp("schemathesis_postgres")
    try:
        migrate.upgrade(database_url)
        env = bare_environment(
            DATABASE_URL=database_url,
            SECRET_KEY=TEST_SECRET_KEY,
            OUTBOX_DISPATCHER_IN_PROCESS="false",
            # Failed logins are part of the fuzzing; 429s would hide the 401 path.
            LOGIN_MAX_FAILURES_PER_EMAIL=UNLIMITED,
            LOGIN_MAX_FAILURES_PER_CLIENT=UNLIMITED,
        )
        run_blocking(lambda: _create_superuser(database_url))
        with serving(directory, env) as base_url:
            server = PostgresServer(base_url=base_url, database_url=database_url)
            server.restore_superuser()
            yield server
    finally:
        drop_postgres_database(database_url)


def test_every_operation_honours_its_documented_contract_on_postgresql(
    postgres_server: PostgresServer,
) -> None:
    schema = schemathesis.openapi.from_url(f"{postgres_server.base_url}/api/v1/openapi.json")
    failures: dict[str, BaseException] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @fuzzing(MAX_EXAMPLES)
        def honours_its_contract(case: Any) -> None:
            response = honours_the_contract(case, postgres_server.token)
            if response.status_code in (401, 403):
                postgres_server.restore_superuser()

        try:
            honours_its_contract()
        except Exception as failure:  # every operation runs; all failures are reported
            failures[operation.label] = failure

    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
