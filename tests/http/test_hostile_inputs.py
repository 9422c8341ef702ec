"""A corpus of hostile input against every operation of the OpenAPI document, on every store.

Each operation gets hostile path values, hostile query values, and request bodies that
are valid but for one hostile leaf (NUL, a lone surrogate, 10,000 characters, 1,000
levels of nesting, huge and tiny numbers, non-ASCII digits, money that is not a plain
decimal, duplicate keys). No answer may be a 5xx; every hostile write is refused (4xx),
and the stored state is the same afterwards. One app per store serves the whole corpus.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from tests.http.conftest import PASSWORD, Api

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PLACEHOLDER = "\x01hostile\x01"
DEEP = "[" * 1000 + "]" * 1000


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


# Each value is JSON text, spliced in as it is (numbers JSON cannot round-trip included).
TEXT = ['"a\\u0000b"', '"\\ud800"', json.dumps("x" * 10_000), DEEP, "1e309", str(2**64)]
NUMBERS = [
    '"1"',
    '"\\u0661"',
    "1e309",
    "-1e309",
    "1e-999",
    str(2**64),
    str(-(2**63) - 1),
    "0.5",
    "true",
    DEEP,
    '"\\u0000"',
]
MONEY = [
    '"1_000"',
    '"\\u0661\\u0662.\\u0665\\u0660"',
    '"+5"',
    '"1e2"',
    '" 5.00 "',
    '"5.00\\n"',
    "12.5",
    '"0.001"',
    '"NaN"',
    '"100000000.00"',
    json.dumps("9" * 10_000),
    '"1\\u0000"',
    DEEP,
]
FLAGS = ['"true"', "1", '"\\u0000"', DEEP]
PATH_VALUES = [
    "+1",
    "01",
    "%201",
    "1%20",
    "%EF%BC%91",  # fullwidth 1
    "0",
    "-1",
    "1.0",
    "1e2",
    str(2**63 - 1),
    str(2**63),
    "9" * 30,
    "%00",
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "x" * 10_000,
]
QUERY_VALUES = [
    "%00",
    "%ED%A0%80",
    "x" * 10_000,
    "1e999",
    "-1",
    "9" * 30,
    quote("\u0661"),
    _cursor("id", None, 2**63),
    _cursor("-id", None, 2**63),
    _cursor("price", "1e20", 1),
    _cursor("price", "1e-999999", 1),
    _cursor("created_at", "0001-01-01T00:00:00+14:00", 1),
]

NEW_PASSWORD = "another-long-password"
PRODUCT = {
    "name": "Blue Shirt",
    "description": "Cotton",
    "price": "1.00",
    "stock": 1,
    "category": "shirts",
    "image_url": "https://images.example.com/blue.png",
}
BASE_BODIES: dict[str, dict[str, Any]] = {
    "register": {"email": "new@example.com", "password": NEW_PASSWORD, "full_name": "New"},
    "login": {"email": "nobody@example.com", "password": NEW_PASSWORD},
    "refresh": {"refresh_token": "not-a-token"},
    "logout": {"refresh_token": "not-a-token"},
    "verify_email": {"token": "a" * 43},
    "forgot_password": {"email": "nobody@example.com"},
    "reset_password": {"token": "a" * 43, "password": NEW_PASSWORD},
    "update_my_profile": {
        "full_name": "Root",
        "email": "root2@example.com",
        "password": NEW_PASSWORD,
        "current_password": PASSWORD,
    },
    "update_user": {"full_name": "Root", "is_active": True, "is_superuser": True},
    "create_product": PRODUCT,
    "replace_product": PRODUCT,
    "update_product": PRODUCT,
    "place_order": {"items": [{"product_id": 1, "quantity": 1}]},
    # The caller is the only superuser: even a valid body would be refused (409).
    "erase_my_account": {"current_password": PASSWORD},
}
"""For each operation with a JSON body, a body it would accept (nothing hostile in it)."""


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _replaced(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return PLACEHOLDER
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:])
    return copy


def _hostile_values(path: tuple[Any, ...], value: Any) -> list[str]:
    if path and path[-1] == "price":
        return MONEY
    if isinstance(value, bool):
        return FLAGS
    if isinstance(value, int):
        return NUMBERS
    return TEXT


def hostile_bodies(base: dict[str, Any]) -> Iterator[bytes]:
    """``base`` with one hostile leaf at a time, then hostile shapes of the whole body."""
    for path, value in _leaves(base):
        template = json.dumps(_replaced(base, path))
        for hostile in _hostile_values(path, value):
            yield template.replace(json.dumps(PLACEHOLDER), hostile).encode()
    valid = json.dumps(base)
    first_key = next(iter(base))
    # Duplicate keys: the hostile one last, so that it is the one a decoder keeps.
    yield f'{valid[:-1]}, "{first_key}": "\\u0000"}}'.encode()
    yield f'{valid[:-1]}, "{first_key}": {DEEP}}}'.encode()
    yield DEEP.encode()
    yield b'{"\\u0000": 1}'
    yield json.dumps({f"k{index}": index for index in range(1000)}).encode()
    yield b"[]"


def _operations(api: Api) -> Iterator[tuple[str, str, dict[str, Any]]]:
    document = api.app.openapi_schema.to_schema()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                yield method.upper(), path, operation


def _requests(api: Api) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, URL, httpx options) for every hostile request of the corpus."""
    for method, template, operation in _operations(api):
        parameters = operation.get("parameters", [])
        path_names = [p["name"] for p in parameters if p["in"] == "path"]
        valid_path = template
        for name in path_names:
            valid_path = valid_path.replace(f"{{{name}}}", "1")
        for name in path_names:
            for value in PATH_VALUES:
                yield method, template.replace(f"{{{name}}}", value), {}
        for parameter in parameters:
            if parameter["in"] == "query":
                for value in QUERY_VALUES:
                    yield method, f"{valid_path}?{parameter['name']}={value}", {}
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            operation_id = operation["operationId"]
            assert operation_id in BASE_BODIES, f"add a base body for {operation_id} above"
            headers = {"Content-Type": "application/json"}
            for body in hostile_bodies(BASE_BODIES[operation_id]):
                yield method, valid_path, {"content": body, "headers": headers}
        if "application/x-www-form-urlencoded" in content:
            for username in ["a%00b", "%ED%A0%80", "x" * 10_000]:
                form = f"username={username}&password=p".encode()
                form_type = {"Content-Type": "application/x-www-form-urlencoded"}
                yield method, valid_path, {"content": form, "headers": form_type}


async def _state(api: Api, admin: dict[str, str]) -> list[Any]:
    """What the store holds, as the API shows it to a superuser."""
    reads = [
        "/api/v1/products?limit=100",
        "/api/v1/users?size=100",
        "/api/v1/orders?limit=100",
        "/api/v1/users/me",
        "/api/v1/products/1",
    ]
    return [(await api.http.get(url, headers=admin)).json() for url in reads]


async def test_no_hostile_input_gets_a_5xx_or_changes_anything(store_api: Api) -> None:
    api = store_api
    admin = await api.superuser()
    product = await api.product(admin)
    order = await api.http.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
        headers=admin,
    )
    assert (product["id"], order.json()["id"]) == (1, 1)
    before = await _state(api, admin)
    failures: list[str] = []
    count = 0

    for method, url, options in _requests(api):
        headers = {**admin, **options.pop("headers", {})}
        response = await api.http.request(method, url, headers=headers, **options)
        count += 1
        refused = 400 <= response.status_code < 500
        if response.status_code >= 500 or (method in WRITES and not refused):
            sent = options.get("content", b"")[:120]
            failures.append(f"{method} {url[:120]} {sent!r} -> {response.status_code}")

    assert not failures, "\n".join(failures[:20])
    assert await _state(api, admin) == before
    assert count > 500
