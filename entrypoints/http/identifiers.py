"""Ids in paths: anything outside the range the store can hold names nothing (404)."""

from __future__ import annotations

from domain.errors import NotFound

MAX_ID = 2_147_483_647
"""Ids are 32-bit serials in the database."""


def existing_id(value: int, what: str) -> int:
    """``value`` if it could name a stored ``what``, else ``NotFound``.

    A 404 rather than a 422: ``/products/0`` and ``/products/99999999999`` name no
    product, just like ``/products/41`` when there is none.
    """
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"{what} {value} not found")
    return value
