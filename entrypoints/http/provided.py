"""How a handler names a part of the container it needs."""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import SkipValidation

T = TypeVar("T")

Provided: TypeAlias = NamedDependency[SkipValidation[T]]
"""A use case or setting the composition root gives a controller (``entrypoints/http/app.py``),
injected by the parameter's name: ``place_order: Provided[PlaceOrder]``.

Not validated per request: the value is the object the composition root built at start-up,
and checking its type on every request would only cost time (and refuse the stand-ins
tests put in its place)."""
