"""The wall clock, for production; tests pass a clock they move by hand."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The current time from the operating system, always timezone-aware UTC."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)
