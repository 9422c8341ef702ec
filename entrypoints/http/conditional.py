"""Conditional requests: strong ETags from row versions, If-None-Match and If-Match.

An ETag names one version of one resource (``"product-12-v7"``): every write bumps the
version, so the tag changes whenever the representation does. ``If-None-Match`` with the
current tag answers 304 without a body; ``If-Match`` turns a write into "only if it is
still this version", decided by the same UPDATE that writes (412 otherwise).
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar, cast

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

T = TypeVar("T")

_OUR_TAG = re.compile(r'"(?P<kind>[a-z]+)-(?P<id>[0-9]{1,19})-v(?P<version>[0-9]{1,10})"')
_MAX_VERSION = 2_147_483_647  # the column is a 32-bit INTEGER on PostgreSQL
NEVER_MATCHES = -1
"""An expected version no row has: If-Match named none of this resource's tags."""

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        max_length=1024,
        description="Write only if the resource still has this ETag (else 412, nothing "
        "written); `*` matches any current version.",
        required=False,
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=1024,
        description="The ETag of a copy the client holds: 304 without a body if it is "
        "still current.",
        required=False,
    ),
]
ETAG_HEADER = [
    ResponseHeader(
        name="ETag",
        description="Strong entity tag of this version of the resource.",
        # An example value gives the header its schema (a string) in the document.
        value='"product-12-v7"',
        documentation_only=True,
    )
]
NOT_MODIFIED = {
    304: ResponseSpec(
        data_container=None,
        description="Not modified: the If-None-Match tag is current (ETag header, no body)",
    )
}


def entity_tag(kind: str, resource_id: int, version: int) -> str:
    return f'"{kind}-{resource_id}-v{version}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def tagged(content: T, tag: str, if_none_match: str | None = None) -> Response[T]:
    """``content`` with its ETag, or 304 when the client's copy is current.

    If-None-Match compares weakly (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``.
    """
    headers = {"ETag": tag}
    if if_none_match is not None:
        wanted = [value.removeprefix("W/") for value in _tags(if_none_match)]
        if "*" in wanted or tag in wanted:
            # No body: the client's copy is the content.
            return cast("Response[T]", Response(content=None, status_code=304, headers=headers))
    return Response(content=content, headers=headers)


def expected_version(if_match: str | None, kind: str, resource_id: int) -> int | None:
    """The version an If-Match header asks for: None for no condition (absent or ``*``).

    Strong comparison: weak or foreign tags match nothing, so they give a version no
    row has and the write answers 412 (or 404 when the resource does not exist).
    """
    if if_match is None:
        return None
    versions = []
    for tag in _tags(if_match):
        if tag == "*":
            return None
        found = _OUR_TAG.fullmatch(tag)
        if found and found["kind"] == kind and int(found["id"]) == resource_id:
            version = int(found["version"])
            if version <= _MAX_VERSION:
                versions.append(version)
    # Several of our tags: the newest is the only one that can still be current.
    return max(versions, default=NEVER_MATCHES)
