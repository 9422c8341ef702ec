"""Every error, ours or the framework's, as an RFC 9457 ``application/problem+json`` response.

This is the one place that decides status codes for failures: controllers raise
domain errors or let them rise, and nothing else catches them. Nothing about the
internals (stack, SQL, class names) ever reaches a client; unexpected errors are
logged here with their stack and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from application.ports.common import DependencyUnavailable
from domain.errors import (
    Conflict,
    DomainError,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    TooManyAttempts,
)
from entrypoints.http.inputs import RequestInvalid, qualified_field
from entrypoints.http.schemas.common import FieldError, Problem
from entrypoints.http.validation_errors import validation_errors

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_HEADER_ONLY_STATUS = HTTPStatus.BAD_REQUEST
HEAD_REQUEST = "storefront.head"
"""Scope key marking a HEAD request routed as its GET (see ``RequestContextMiddleware``)."""

_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),  # InsufficientStock included
    (InvalidCredentials, 401),
    (PermissionDenied, 403),
    (InvalidInput, 422),
    (PreconditionFailed, 412),
    (TooManyAttempts, 429),
    (InvalidToken, 400),
)


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
    checks: dict[str, str] | None = None,
) -> Response[Any]:
    """The one way an error leaves the service."""
    problem = Problem(
        title=_reason(status),
        status=status,
        detail=detail,
        instance=request.scope["path"],
        errors=msgspec.UNSET if errors is None else errors,
        checks=msgspec.UNSET if checks is None else checks,
    )
    return Response(
        content=msgspec.json.encode(problem),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def domain_error_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    status = next((code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind)), 400)
    headers: dict[str, str] | None = None
    errors: list[FieldError] | None = None
    if status == 401:
        headers = BEARER_CHALLENGE
    elif isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(max(1, exc.retry_after_seconds))}
    elif isinstance(exc, InvalidInput):
        errors = [FieldError(field=qualified_field(exc.field), message=exc.detail)]
    return problem_response(request, status, exc.detail, headers=headers, errors=errors)


def request_invalid_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, RequestInvalid)
    return problem_response(
        request,
        422,
        "The request is invalid: see errors for each offending field",
        errors=exc.errors,
    )


def dependency_unavailable_to_response(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[Any]:
    assert isinstance(exc, DependencyUnavailable)
    logger.warning("Dependency unavailable on %s: %s", request.scope["path"], exc.detail)
    return problem_response(
        request,
        503,
        "A service this request needs is unavailable; try again shortly",
        headers={"Retry-After": str(max(1, exc.retry_after_seconds))},
    )


_CLIENT_DISCONNECTED = "client disconnected prematurely"


def _is_client_disconnect(exc: HTTPException) -> bool:
    # Litestar reports a client that hangs up mid-body as this 500. Nothing was done (the
    # body never arrived whole) and nobody will read the answer: not an internal error,
    # and not worth an ERROR line in the logs (a load balancer's timeouts cause many).
    return isinstance(exc, InternalServerException) and exc.detail == _CLIENT_DISCONNECTED


def http_exception_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar's own errors: routing, body parsing, validation, size limits, auth."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers) if exc.headers else None
    if isinstance(exc, ValidationException):
        return _validation_response(request, exc)
    if _is_client_disconnect(exc):
        logger.info(
            "Client hung up before sending the whole body of %s %s",
            request.scope["method"],
            request.scope["path"],
        )
        return problem_response(
            request, 400, "The connection closed before the whole body was received"
        )
    if status >= 500:
        logger.error(
            "Internal error on %s %s: %s",
            request.scope["method"],
            request.scope["path"],
            exc.detail,
        )
        return problem_response(request, status, "An unexpected error occurred")
    if isinstance(exc, NotAuthorizedException) or status == 401:
        headers = {**(headers or {}), **BEARER_CHALLENGE}
        detail = exc.detail if exc.detail != _reason(401) else "Authentication required"
    elif isinstance(exc, PermissionDeniedException):
        detail = exc.detail if exc.detail != _reason(403) else "Not allowed"
    elif isinstance(exc, NotFoundException):
        detail = (
            exc.detail
            if exc.detail != _reason(404)
            else f"Nothing found at {request.scope['path']}"
        )
    elif isinstance(exc, MethodNotAllowedException):
        method = "HEAD" if request.scope.get(HEAD_REQUEST) else request.scope["method"]
        detail = f"Method {method} is not allowed here"
        if headers is not None:
            headers = {"Allow": _allow_header(headers)}
    elif status == 413:
        limit = (
            request.route_handler.resolve_request_max_body_size() if _has_handler(request) else None
        )
        detail = (
            f"The request body is larger than the limit of {limit} bytes"
            if limit
            else "The request body is too large"
        )
    else:
        detail = exc.detail or _reason(status)
    return problem_response(request, status, detail, headers=headers)


def _has_handler(request: Request[Any, Any, Any]) -> bool:
    return request.scope.get("route_handler") is not None


def _allow_header(headers: Mapping[str, str]) -> str:
    raw = next((value for name, value in headers.items() if name.lower() == "allow"), "")
    return allow_value(method.strip().upper() for method in raw.split(",") if method.strip())


def allow_value(methods: Iterable[str]) -> str:
    """An ``Allow`` header's value: sorted, with HEAD wherever GET is (every GET answers HEAD)."""
    allowed = set(methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


def _validation_response(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    errors = validation_errors(request, exc)
    # A bad header value is a malformed request; anything else is well-formed but invalid.
    only_headers = bool(errors) and all(error.field.startswith("header.") for error in errors)
    status = _HEADER_ONLY_STATUS if only_headers else HTTPStatus.UNPROCESSABLE_ENTITY
    detail = (
        "Invalid request header"
        if only_headers
        else "The request is invalid: see errors for each offending field"
    )
    return problem_response(request, status, detail, errors=errors or None)


def unexpected_error_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error(
        "Unhandled error on %s %s",
        request.scope.get("method"),
        request.scope.get("path"),
        exc_info=exc,
    )
    return problem_response(request, 500, "An unexpected error occurred")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_to_response,
    RequestInvalid: request_invalid_to_response,
    DependencyUnavailable: dependency_unavailable_to_response,
    HTTPException: http_exception_to_response,
    Exception: unexpected_error_to_response,
}


# --- OpenAPI --------------------------------------------------------------------------------

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON or form body, bad header value), or an invalid, "
    "expired or already used e-mail token",
    401: "Missing, malformed, expired or revoked token, or wrong credentials",
    403: "Authenticated but not allowed",
    404: "No such resource (or it belongs to someone else)",
    409: "Conflicts with the current state",
    412: "If-Match given and the resource has changed since; nothing was written",
    413: "Request body over the configured limit",
    415: "Unsupported request content type",
    422: "Well-formed but invalid input; see errors",
    429: "Too many attempts; see Retry-After",
    503: "A dependency is down; see Retry-After",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route may give.

    400 is listed with any client error: a request can always be malformed, and the
    entry replaces the one Litestar would add with its own (non-problem) error shape.
    """
    if any(400 <= status < 500 for status in statuses):
        statuses = (400, *statuses)
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, _reason(status)),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }
