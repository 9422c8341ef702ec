"""What the Schemathesis runs share: bounded, deterministic settings and the checks applied.

Every check runs on every response but ``positive_data_acceptance``: a schema cannot
say everything the contract checks (an opaque cursor, an e-mail's syntax, a price's
decimal places, the right current password), and answering 422 to a schema-valid body
that breaks one of those rules is the contract, not a defect.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings


def fuzzing(max_examples: int) -> settings:
    """Hypothesis settings: a fixed seed, ``max_examples`` per operation, no deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def honours_the_contract(case: Any, token: str) -> Any:
    """Send ``case`` as the superuser of ``token``, run every check on the answer, return it."""
    return case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
