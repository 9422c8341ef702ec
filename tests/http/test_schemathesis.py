"""Schemathesis over every operation of the OpenAPI document, authenticated ones included.

The app runs on the in-memory adapters with cheap argon2, and every request carries a
superuser's bearer token, so the guarded operations are exercised past their guards.
Every check schemathesis has runs on every response (no 5xx; status codes, content
types, headers and bodies as documented; schema-invalid data rejected) but one:
``positive_data_acceptance``. A schema cannot say everything the contract checks
(an opaque cursor, an e-mail's syntax, a price's decimal places, the right current
password), and answering 422 to a schema-valid body that breaks one of those rules
is the contract, not a defect.

The run is deterministic (``derandomize``) and bounded (``MAX_EXAMPLES`` per operation).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from application.users import AdminUpdateUserCommand, CreateSuperuserCommand
from entrypoints.bootstrap import build_memory_container
from entrypoints.http.app import create_app
from tests.http.conftest import PASSWORD, cheap_hasher, make_settings

MAX_EXAMPLES = 50
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
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_honours_its_documented_contract(case: Any) -> None:
    # The app runs on schemathesis's own loop; between two calls it is idle, so the
    # in-memory store can be touched from this one.
    token = asyncio.run(_fresh_superuser_token())
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
