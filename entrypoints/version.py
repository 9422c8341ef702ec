"""The running version of Storefront, from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

FALLBACK_VERSION = "0.1.0"
"""Used when running from a source tree that was never installed."""


def storefront_version() -> str:
    try:
        return version("storefront")
    except PackageNotFoundError:
        return FALLBACK_VERSION


VERSION = storefront_version()
