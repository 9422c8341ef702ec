"""API9:2023 Improper Inventory Management: every operation served is a known one.

``openapi_operations.json`` (next to this file) is the committed inventory: every
(method, path, operationId) of the OpenAPI document. The test fails when a route
appears or disappears without the inventory being updated in the same change, so no
endpoint ships unnoticed and none is retired by accident. Every route the app
serves is either in the document or one of the documentation routes.

After an intended change, regenerate the inventory and review its diff::

    UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/security/test_api09_improper_inventory.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from litestar.handlers import HTTPRouteHandler

from tests.http.conftest import Api

SNAPSHOT = Path(__file__).with_name("openapi_operations.json")
UPDATE_VARIABLE = "UPDATE_OPENAPI_SNAPSHOT"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
UNDOCUMENTED_ROUTES = {"/docs", "/redoc", "/static/docs/{file_path:path}", "/metrics"}
"""Documentation pages and their assets, and the Prometheus scrape: served, deliberately
not API operations."""


def _inventory(document: dict[str, Any]) -> list[dict[str, str]]:
    return sorted(
        (
            {"method": method.upper(), "path": path, "operationId": operation["operationId"]}
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if method in HTTP_METHODS
        ),
        key=lambda entry: (entry["path"], entry["method"]),
    )


async def test_the_operations_match_the_committed_inventory(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    current = _inventory(document)
    if os.environ.get(UPDATE_VARIABLE):
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")

    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))

    added = [entry for entry in current if entry not in committed]
    removed = [entry for entry in committed if entry not in current]
    assert (added, removed) == ([], []), (
        f"The API's operations changed; if intended, run with {UPDATE_VARIABLE}=1 and "
        "commit tests/security/openapi_operations.json"
    )


async def test_every_route_served_is_documented_or_a_documentation_page(memory_api: Api) -> None:
    documented = {
        (entry["method"], entry["path"])
        for entry in json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    }
    served: set[tuple[str, str]] = set()
    for route in memory_api.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or handler.http_methods == {"OPTIONS"}:
                continue
            if route.path in UNDOCUMENTED_ROUTES or route.path.startswith("/api/v1/openapi.json"):
                continue
            # The document writes path parameters without their Litestar type.
            path = route.path.replace(":int}", "}").replace(":str}", "}")
            served.update((method, path) for method in handler.http_methods)

    assert served == documented


async def test_every_operation_is_versioned_tagged_and_unique(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    inventory = _inventory(document)
    ids = [entry["operationId"] for entry in inventory]

    assert len(ids) == len(set(ids))
    assert document["info"]["version"]
    assert all(
        entry["path"].startswith("/api/v1/") or entry["path"].startswith("/health")
        for entry in inventory
    )
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert operation.get("tags"), operation["operationId"]
                assert not operation.get("deprecated"), operation["operationId"]
