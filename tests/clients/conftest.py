"""Clients generated from the served OpenAPI document, by the generators teams use.

The generators are pinned and installed outside the project's venv by
``.ci/install-client-tools`` (into ``$STOREFRONT_CLIENT_TOOLS``, default
``~/.cache/storefront-client-tools``). Without them these tests are skipped, or fail
under ``CI=true``. One ``storefront serve`` subprocess (SQLite, a superuser made with
``storefront create-superuser``) serves the document and the flows, as for a new user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import in_ci
from tests.live_server import bare_environment, serving, storefront

TOOLS = Path(
    os.environ.get("STOREFRONT_CLIENT_TOOLS", Path.home() / ".cache" / "storefront-client-tools")
)
ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "correct-horse-battery"


def client_tool(relative: str) -> Path:
    """A generator installed by .ci/install-client-tools: skipped without it, failed in CI."""
    path = TOOLS / relative
    if not path.exists():
        reason = f"{path} is missing: run .ci/install-client-tools"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@dataclass(frozen=True)
class ServedApi:
    base_url: str
    document: Path
    """The OpenAPI document as served, saved to a file."""


@pytest.fixture(scope="package")
def served_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    directory = tmp_path_factory.mktemp("clients")
    env = bare_environment(
        SECRET_KEY="generated-clients-secret-key-long-enough-for-hs256",
        OUTBOX_DISPATCHER_IN_PROCESS="false",
    )
    made = storefront(
        "create-superuser", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
        cwd=directory, env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with serving(directory, env) as base_url:
        document = directory / "openapi.json"
        served = httpx.get(f"{base_url}/api/v1/openapi.json")
        assert served.status_code == 200
        document.write_bytes(served.content)
        yield ServedApi(base_url=base_url, document=document)
