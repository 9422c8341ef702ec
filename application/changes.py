"""Partial updates: telling "leave as it is" apart from "set to null"."""

from __future__ import annotations

import enum
from typing import Final, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET


def changed(new: T | Unset, current: T) -> T:
    """The new value when one was given, else the current one."""
    return current if new is UNSET else new
