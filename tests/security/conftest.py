"""The OWASP API Security Top 10 (2023), one module per item, on the real app.

The fixtures are those of ``tests/http``: ``api`` runs a test on the in-memory
adapters and on PostgreSQL, ``memory_api`` on the in-memory adapters only (with a
clock the test can move), ``app_for`` builds an app with particular settings.
"""

from __future__ import annotations

from tests.http.conftest import api, app_for, memory_api, settings

__all__ = ["api", "app_for", "memory_api", "settings"]
