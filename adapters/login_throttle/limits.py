"""What both login throttles share: the limits per key kind and the sliding window."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias

DEFAULT_LIMITS: Final[Mapping[str, int]] = {"email": 5, "client": 50}


DEFAULT_WINDOW_SECONDS: Final = 900


LOCAL_TICKET = "local:"
"""Tickets of attempts the fallback counted start with this."""


Limits: TypeAlias = Mapping[str, int] | Callable[[str], int]
"""Either attempts allowed per key kind (``{"email": 5}``), or a function of the whole key."""


def key_kind(key: str) -> str:
    """``"email:alice@example.com"`` -> ``"email"``."""
    return key.partition(":")[0]


class KeyLimits:
    """Resolves the limit of a key once per call site, and rejects unknown kinds loudly."""

    def __init__(self, limits: Limits) -> None:
        if not callable(limits):
            for kind, limit in limits.items():
                if limit < 1:
                    raise ValueError(f"The login failure limit for {kind!r} must be at least 1")
            limits = dict(limits)
        self._limits = limits

    def of(self, key: str) -> int:
        if callable(self._limits):
            limit = self._limits(key)
        else:
            try:
                limit = self._limits[key_kind(key)]
            except KeyError:
                # A typo in a key kind would silently disable throttling: fail instead.
                raise ValueError(f"No login failure limit for keys like {key!r}") from None
        if limit < 1:
            raise ValueError(f"The login failure limit for {key!r} must be at least 1")
        return limit


def seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))


def check_window(window_seconds: int) -> None:
    if window_seconds < 1:
        raise ValueError("window_seconds must be at least 1")
