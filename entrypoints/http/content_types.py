"""Request bodies: JSON of the declared media type, decoded strictly, before any handler runs.

Litestar reads a body as JSON whatever its declared type, and converts values
leniently (``"5"`` becomes ``5``, ``"true"`` becomes ``True``). The guard here
gives JSON endpoints the contract's behaviour instead: another media type is a
415, malformed JSON a 400, and a value of the wrong type a 422 naming every
offending field. It only runs on routes that read a body.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

from entrypoints.http.inputs import decode_body
from entrypoints.http.validation_errors import body_struct

# DELETE too: erasing one's account takes a body (the current password).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnsupportedMediaType(HTTPException):
    """415: the body's ``Content-Type`` is not one the endpoint reads."""

    status_code = 415


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def strict_json_body(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard for routes reading a JSON body: 415, 400 or 422 before the handler runs.

    A request without a body is left to Litestar, which reports the missing body. The
    body is checked whole by :func:`~entrypoints.http.inputs.decode_body`.
    """
    if connection.scope.get("method") not in _BODY_METHODS:
        return
    struct = body_struct(handler)
    if struct is None or not isinstance(connection, Request):
        return
    content_type = next(
        (value for name, value in connection.scope["headers"] if name == b"content-type"), None
    )
    if content_type is not None:
        media_type = content_type.decode("latin-1").partition(";")[0].strip().lower()
        if not is_json(media_type):
            raise UnsupportedMediaType(
                f"Unsupported Content-Type {media_type!r}: send application/json"
            )
    body = await connection.body()
    if body:
        decode_body(body, struct)
