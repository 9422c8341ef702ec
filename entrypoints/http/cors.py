"""Which CORS preflights are refused, decided before Litestar's CORS middleware sees them.

Litestar's middleware answers a refused preflight with a text/plain 400; the contract
wants a 403 problem document without any ``Access-Control-Allow-*`` header. The
outer middleware asks :class:`PreflightPolicy` first and answers refusals itself, so
only preflights that will be allowed reach Litestar. The checks mirror Litestar's
(origin, requested method, requested headers) on the same :class:`CORSConfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.constants import DEFAULT_ALLOWED_CORS_HEADERS

if TYPE_CHECKING:
    from litestar.config.cors import CORSConfig


class PreflightPolicy:
    """Refusals of preflights (``OPTIONS`` with an ``Origin``) under a CORS config, or none."""

    __slots__ = ("_allowed_headers", "_config")

    def __init__(self, config: CORSConfig | None) -> None:
        self._config = config
        self._allowed_headers = frozenset(
            header.lower()
            for header in (*(config.allow_headers if config else ()), *DEFAULT_ALLOWED_CORS_HEADERS)
        )

    def refusal(self, origin: bytes, method: bytes | None, headers: bytes | None) -> str | None:
        """Why this preflight is refused, or ``None`` when CORS allows it."""
        config = self._config
        if config is None or not config.is_origin_allowed(origin.decode("latin-1")):
            return "Cross-origin requests from this origin are not allowed"
        if (
            method
            and not config.is_allow_all_methods
            and method.decode("latin-1") not in config.allow_methods
        ):
            return "This method is not allowed in cross-origin requests"
        if headers and not config.is_allow_all_headers:
            requested = (part.strip().lower() for part in headers.decode("latin-1").split(","))
            if any(name and name not in self._allowed_headers for name in requested):
                return "A requested header is not allowed in cross-origin requests"
        return None
