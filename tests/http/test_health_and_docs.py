"""Probes, the API documentation pages, and the OpenAPI document."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from application.ports.common import DependencyUnavailable
from entrypoints.version import VERSION
from tests.http.conftest import Api, assert_problem, http_client, make_settings

LOCAL_ASSETS = [
    "/static/docs/swagger-ui-bundle.js",
    "/static/docs/swagger-ui-standalone-preset.js",
    "/static/docs/swagger-ui.css",
    "/static/docs/redoc.standalone.js",
    "/static/docs/favicon-32x32.png",
    "/static/docs/redoc-logo.svg",
]
# What a browser would fetch from elsewhere: a CDN, or web fonts.
UNCOMPRESSED = {"Accept-Encoding": "identity"}
REMOTE_LOAD = re.compile(rb"https?://[\w.-]*(?:cdn|fonts\.googleapis|fonts\.gstatic)[\w.-]*/")


async def test_liveness_reports_the_version(memory_api: Api) -> None:
    response = await memory_api.http.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": VERSION}


async def test_readiness_checks_the_database(api: Api) -> None:
    response = await api.http.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readiness_fails_with_the_failing_check(app_for: Callable[..., Any]) -> None:
    async def database_down() -> None:
        raise DependencyUnavailable("Database unavailable", retry_after_seconds=5)

    app = app_for(
        tweak=lambda container: dataclasses.replace(
            container, readiness={"database": database_down}
        )
    )

    async with http_client(app) as http:
        response = await http.get("/health/ready")

    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert body["checks"] == {"database": "unavailable"}


@pytest.mark.redis
async def test_readiness_checks_redis_when_it_is_configured(
    app_for: Callable[..., Any], redis_url: str
) -> None:
    async with http_client(app_for(settings=make_settings(REDIS_URL=redis_url))) as http:
        response = await http.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_readiness_fails_while_redis_is_unreachable(app_for: Callable[..., Any]) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    app = app_for(settings=make_settings(REDIS_URL="redis://127.0.0.1:1/0"))

    async with http_client(app) as http:
        response = await http.get("/health/ready")

    body = assert_problem(response, 503)
    assert body["checks"] == {"database": "ok", "redis": "unavailable"}
    assert "redis" in body["detail"]
    assert int(response.headers["retry-after"]) >= 1


async def test_probes_need_no_token(memory_api: Api) -> None:
    for path in ("/health", "/health/ready", "/docs", "/redoc", "/api/v1/openapi.json"):
        assert (await memory_api.http.get(path)).status_code == 200


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_pages_use_only_local_assets(memory_api: Api, page: str) -> None:
    response = await memory_api.http.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assert references
    assert all(reference.startswith("/static/docs/") for reference in references), references
    assert "cdn" not in response.text.lower()
    assert "googleapis" not in response.text


@pytest.mark.parametrize("asset", LOCAL_ASSETS)
async def test_documentation_assets_are_served_by_storefront(memory_api: Api, asset: str) -> None:
    response = await memory_api.http.get(asset)

    assert response.status_code == 200
    assert len(response.content) > 100


async def test_an_unknown_asset_is_not_found(memory_api: Api) -> None:
    assert_problem(await memory_api.http.get("/static/docs/nothing.js"), 404)


@pytest.mark.parametrize("asset", LOCAL_ASSETS)
async def test_no_documentation_asset_fetches_anything_from_a_cdn(
    memory_api: Api, asset: str
) -> None:
    response = await memory_api.http.get(asset)

    assert REMOTE_LOAD.search(response.content) is None


async def test_redoc_shows_its_logo_from_storefront(memory_api: Api) -> None:
    script = await memory_api.http.get("/static/docs/redoc.standalone.js", headers=UNCOMPRESSED)
    logo = await memory_api.http.get("/static/docs/redoc-logo.svg")

    assert b'"/static/docs/redoc-logo.svg"' in script.content
    assert int(script.headers["content-length"]) == len(script.content)
    assert logo.status_code == 200
    assert logo.headers["content-type"].startswith("image/svg")


async def test_documentation_assets_answer_head(memory_api: Api) -> None:
    full = await memory_api.http.get("/static/docs/redoc.standalone.js", headers=UNCOMPRESSED)
    head = await memory_api.http.head("/static/docs/redoc.standalone.js", headers=UNCOMPRESSED)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == full.headers["content-length"]


async def test_files_of_the_bundles_the_pages_do_not_use_are_not_served(memory_api: Api) -> None:
    # The bundles' demo pages load a remote example document.
    assert_problem(await memory_api.http.get("/static/docs/index.html"), 404)
    assert_problem(await memory_api.http.get("/static/docs/vendor/index.html"), 404)


async def test_the_openapi_document_is_openapi_3_1(memory_api: Api) -> None:
    response = await memory_api.http.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == VERSION


async def test_the_openapi_document_passes_a_strict_openapi_3_1_validator(
    memory_api: Api,
) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()

    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]

    assert errors == []


async def test_the_openapi_bearer_scheme_logs_in_with_the_password_flow(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"] == {"tokenUrl": "/api/v1/auth/login", "scopes": {}}
    login_body = document["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/json"} <= set(login_body)


async def test_every_operation_has_an_id_and_documents_its_errors(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }

    assert len(operations) == 32
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(set(ids)) == len(ids)
    documented = {status for operation in operations.values() for status in operation["responses"]}
    assert {"401", "403", "404", "409", "422"} <= documented
    problem = operations[("POST", "/api/v1/orders")]["responses"]["409"]["content"]
    assert problem["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


async def test_public_operations_need_no_credentials_and_others_do(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    paths = document["paths"]

    assert paths["/api/v1/products"]["get"]["security"] == [{}]
    assert paths["/api/v1/auth/login"]["post"]["security"] == [{}]
    assert "security" not in paths["/api/v1/orders"]["post"]
    assert document["security"] == [
        {name: []} for name in document["components"]["securitySchemes"]
    ]


async def test_the_openapi_document_shows_request_constraints(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]

    product = schemas["ProductRequest"]["properties"]
    assert product["name"]["maxLength"] == 200
    assert product["stock"]["minimum"] == 0
    order_items = schemas["OrderRequest"]["properties"]["items"]
    assert order_items["minItems"] == 1
    assert order_items["maxItems"] == 100


async def test_request_bodies_that_refuse_unknown_fields_say_so(memory_api: Api) -> None:
    document = (await memory_api.http.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]

    for name in ("RegisterRequest", "ProductRequest", "ProductPatchRequest", "OrderItemRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["ProductResponse"]
