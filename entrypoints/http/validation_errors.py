"""Which fields a refused request got wrong: Litestar's validation entries as the
``errors`` of a 422 problem, with every offending body field named, not only the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from entrypoints.http.inputs import SOURCES, field_errors
from entrypoints.http.schemas.common import FieldError


def validation_errors(
    request: Request[Any, Any, Any], exc: ValidationException
) -> list[FieldError]:
    """One error per offending field of a request Litestar refused."""
    entries: list[dict[str, Any]] = exc.extra if isinstance(exc.extra, list) else []
    errors: list[FieldError] = []
    body_entries = [entry for entry in entries if str(entry.get("source", "")) == "body"]
    if body_entries:
        errors.extend(_body_errors(request) or [_entry_to_error(e) for e in body_entries])
    errors.extend(_entry_to_error(entry) for entry in entries if entry not in body_entries)
    return errors


def _entry_to_error(entry: Mapping[str, Any]) -> FieldError:
    source = str(entry.get("source") or "body")
    named = source.rsplit(".", 1)[-1].lower()
    prefix = named if named in SOURCES else "body"
    key = str(entry.get("key") or "")
    message = str(entry.get("message") or "Invalid value")
    if prefix == "body" and key in ("", "data"):
        return FieldError(field="body", message=message)
    if prefix == "header":
        return FieldError(field=f"header.{key}", message=message)
    return FieldError(field=f"{prefix}.{key}" if key else prefix, message=message)


def body_struct(handler: BaseRouteHandler) -> type[msgspec.Struct] | None:
    """The Struct a handler's ``data`` parameter is decoded into, if it has one."""
    data = handler.parsed_fn_signature.parameters.get("data")
    body_type = getattr(data, "annotation", None)
    if isinstance(body_type, type) and issubclass(body_type, msgspec.Struct):
        return body_type
    return None


def _body_errors(request: Request[Any, Any, Any]) -> list[FieldError] | None:
    """Every offending body field, not just the first one msgspec stopped at.

    Only runs when a body already failed validation, so the normal path pays nothing.
    """
    handler = request.scope.get("route_handler")
    body_type = body_struct(handler) if handler is not None else None
    if body_type is None:
        return None
    state = ScopeState.from_scope(request.scope)
    raw = state.json
    if raw is Empty:
        if not state.body:
            return [FieldError(field="body", message="A JSON request body is required")]
        return None
    return field_errors(body_type, raw, prefix="body")
