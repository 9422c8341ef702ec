"""The bind parameters of a per-field ``UPDATE``: only the fields a change gives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.changes import UNSET


def change_parameters(
    changes: object,
    field_names: Sequence[str],
    keys: dict[str, Any],
    expected_version: int | None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``keys`` plus each given field (and ``expected_version`` when the write is
    conditional), and the names of the given fields, in ``field_names`` order: the
    statement sets those columns and no others, so a concurrent write to any other
    column is never undone by a stale value."""
    params = dict(keys)
    fields = tuple(name for name in field_names if getattr(changes, name) is not UNSET)
    params.update((name, getattr(changes, name)) for name in fields)
    if expected_version is not None:
        params["expected_version"] = expected_version
    return params, fields
