"""Schemathesis over every operation of the OpenAPI document, authenticated ones included.

The app runs on the in-memory adapters with cheap argon2, and every request carries a
superuser's bearer token, so the guarded operations are exercised past their guards.
Every check schemathesis has runs on every response (no 5xx; status codes, content
types, headers and bodies as documented; schema-invalid data rejected) but one (see
``tests/http/fuzzing.py``).

The run is deterministic (``derandomize``) and bounded (``MAX_EXAMPLES`` per operation).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import schemathesis

from application.users import AdminUpdateUserCommand, CreateSuperuserCommand
from entrypoints.bootstrap import build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import PASSWORD, cheap_hasher, make_settings
from tests.http.fuzzing import fuzzing, honours_the_contract

MAX_EXAMPLES = 60
SUPERUSER_EMAIL = "root@example.com"
UNLIMITED = "1000000"

_container = build_memory_container(
    make_settings(
        OUTBOX_DISPATCHER_IN_PROCESS="false",
        # Failed logins are part of the fuzzing; 429s would hide the 401 path.
        LOGIN_MAX_FAILURES_PER_EMAIL=UNLIMITED,
        LOGIN_MAX_FAILURES_PER_CLIENT=UNLIMITED,
    ),
    hasher=cheap_hasher(),
)
# Schemathesis starts and stops the lifespan as it sees fit; the hasher's pool must outlive it.
_app = create_app(dataclasses.replace(_container, closers=()))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _app)


async def _superuser_id() -> int:
    user = await _container.create_superuser.execute(
        CreateSuperuserCommand(email=SUPERUSER_EMAIL, password=PASSWORD)
    )
    return user.id


_SUPERUSER_ID = asyncio.run(_superuser_id())


async def _fresh_superuser_token() -> str:
    """A valid token even after a generated request deactivated or demoted the superuser."""
    user = await _container.admin_update_user.execute(
        AdminUpdateUserCommand(user_id=_SUPERUSER_ID, is_active=True, is_superuser=True)
    )
    return _container.tokens.issue_access_token(user).token


@schema.parametrize()
@fuzzing(MAX_EXAMPLES)
def test_every_operation_honours_its_documented_contract(case: Any) -> None:
    # The app runs on schemathesis's own loop; between two calls it is idle, so the
    # in-memory store can be touched from this one.
    honours_the_contract(case, asyncio.run(_fresh_superuser_token()))
