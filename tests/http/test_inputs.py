"""Edge validation: NULs, money strings, canonical path ids, JSON depth, all field errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from adapters.tokens import key_fingerprint
from domain.orders import MAX_LINES, MAX_QUANTITY
from domain.products import PRICE_MAX, ProductDetails
from tests.http.conftest import TEST_SECRET_KEY, Api, assert_problem, bearer, fields_of, items

PRODUCTS = "/api/v1/products"
LOGIN = "/api/v1/auth/login"


async def test_a_nul_anywhere_is_refused_naming_the_field(api: Api) -> None:
    admin = await api.superuser()
    product = {"name": "Red Shirt", "price": "1.00", "category": "shirts"}
    requests: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", LOGIN, {"json": {"email": "a\x00@example.com", "password": "p"}}, "body.email"),
        (
            "POST",
            LOGIN,
            {"data": {"username": "a@example.com", "password": "p\x00"}},
            "body.password",
        ),
        (
            "POST",
            "/api/v1/auth/register",
            {"json": {"email": "a\x00@example.com", "password": "long-enough"}},
            "body.email",
        ),
        ("GET", f"{PRODUCTS}?q=%00", {}, "query.q"),
        ("GET", f"{PRODUCTS}?category=a%00b", {}, "query.category"),
        ("GET", f"{PRODUCTS}/slug/%00", {}, "path"),
        ("GET", "/static/docs/%00", {}, "path"),
        (
            "POST",
            PRODUCTS,
            {"json": {**product, "description": "x\x00"}, "headers": admin},
            "body.description",
        ),
        (
            "PATCH",
            "/api/v1/users/me",
            {"json": {"full_name": "\x00"}, "headers": admin},
            "body.full_name",
        ),
    ]

    for method, url, options, field in requests:
        response = await api.http.request(method, url, **options)

        body = assert_problem(response, 422)
        assert fields_of(body) == {field}, (url, body)
    assert (await api.http.get(PRODUCTS)).json()["total"] == 0


@pytest.mark.parametrize(
    "price", ["1_000", "\u0661\u0662.\u0665\u0660", "+5", "1e2", " 5.00 ", "5.00\n", "5.", "0.001"]
)
async def test_a_price_that_is_not_a_plain_decimal_string_is_refused(
    memory_api: Api, price: str
) -> None:
    admin = await memory_api.superuser()

    response = await memory_api.http.post(
        PRODUCTS, json={"name": "X", "price": price, "category": "c"}, headers=admin
    )

    assert fields_of(assert_problem(response, 422)) == {"body.price"}


async def test_path_ids_are_canonical_decimals(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin)
    assert product["id"] == 1

    for written in ["+1", "01", "%201", "1%20", "\uff11", "0", "-1", "9223372036854775808"]:
        response = await memory_api.http.get(f"{PRODUCTS}/{written}")

        assert_problem(response, 404)
    assert (await memory_api.http.get(f"{PRODUCTS}/1")).status_code == 200


async def test_json_nested_deeper_than_32_levels_is_a_bad_request(memory_api: Api) -> None:
    def nested(depth: int) -> bytes:
        # The body object is the first level.
        inner = b"[" * (depth - 1) + b"]" * (depth - 1)
        return b'{"email":' + inner + b',"password":"x"}'

    async def login(body: bytes) -> Any:
        return await memory_api.http.post(
            LOGIN, content=body, headers={"Content-Type": "application/json"}
        )

    assert_problem(await login(nested(1000)), 400)
    assert_problem(await login(nested(33)), 400)
    assert fields_of(assert_problem(await login(nested(32)), 422)) == {"body.email"}
    # Brackets inside strings are not nesting.
    brackets = '"\\"[' * 40
    assert_problem(
        await memory_api.http.post(LOGIN, json={"email": brackets, "password": "x"}), 401
    )


@pytest.mark.parametrize("subject", [str(2**63), str(2**31), "0"])
async def test_a_token_whose_subject_is_out_of_range_is_refused(api: Api, subject: str) -> None:
    await api.user()
    claims = jwt.decode((await api.login())["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "sub": subject},
        TEST_SECRET_KEY,
        algorithm="HS256",
        headers={"kid": key_fingerprint(TEST_SECRET_KEY)},
    )

    response = await api.http.get("/api/v1/users/me", headers=bearer(forged))

    assert_problem(response, 401)


async def test_one_answer_names_every_offending_field(memory_api: Api) -> None:
    admin = await memory_api.superuser()

    typed = await memory_api.http.post(
        PRODUCTS, json={"name": "X", "price": "-1.00", "stock": -1, "category": ""}, headers=admin
    )
    rules = await memory_api.http.post(
        PRODUCTS,
        json={"name": "   ", "price": "0.00", "category": "c", "image_url": "http://"},
        headers=admin,
    )
    mixed = await memory_api.http.patch(
        f"{PRODUCTS}/1", json={"price": "0", "stock": "1", "colour": "red"}, headers=admin
    )

    assert fields_of(assert_problem(typed, 422)) == {"body.price", "body.stock", "body.category"}
    assert fields_of(assert_problem(rules, 422)) == {"body.name", "body.price", "body.image_url"}
    assert fields_of(assert_problem(mixed, 422)) == {"body.price", "body.stock", "body.colour"}


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


async def test_cursors_holding_out_of_range_values_are_refused(store_api: Api) -> None:
    admin = await store_api.superuser()
    by_id = [(None, 2**63), (None, 2**31 - 2**32), (None, 0), (None, True), ("1", 1)]
    by_value = [
        ("price", "1e20"),
        ("price", "1e-999999"),
        ("price", "NaN"),
        ("price", "0.001"),
        ("created_at", "0001-01-01T00:00:00+14:00"),
        ("created_at", "2026-01-01T12:00:00"),
        ("name", "x" * 201),
        ("name", None),
    ]
    requests = [
        *(
            (url, sort, _cursor(sort, value, last_id))
            for value, last_id in by_id
            for url, sort in [("/api/v1/orders", "-id"), ("/api/v1/users", "id"), (PRODUCTS, "id")]
        ),
        *((PRODUCTS, sort, _cursor(sort, value, 1)) for sort, value in by_value),
        ("/api/v1/orders", "-id", _cursor("price", "1e20", 1)),
    ]

    for url, sort, cursor in requests:
        params = {"after": cursor, "sort": sort} if url == PRODUCTS else {"after": cursor}
        response = await store_api.http.get(url, params=params, headers=admin)

        assert response.status_code == 422, (url, sort, cursor)
        assert fields_of(assert_problem(response, 422)) == {"query.after"}
    largest = _cursor("id", None, 2**63 - 1)
    assert (await store_api.http.get(PRODUCTS, params={"after": largest})).status_code == 200


async def test_the_largest_order_the_api_accepts_is_stored_on_every_store(
    store_api: Api,
) -> None:
    admin = await store_api.superuser()
    lines = []
    for number in range(MAX_LINES):
        product = await store_api.container.create_product.execute(
            ProductDetails.checked(
                name=f"P{number}",
                description=None,
                price=PRICE_MAX,
                stock=MAX_QUANTITY,
                category="c",
                image_url=None,
            )
        )
        lines.append((product.id, MAX_QUANTITY))

    placed = await store_api.http.post("/api/v1/orders", json=items(*lines), headers=admin)

    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == "9999999999000.00"
    read = await store_api.http.get(f"/api/v1/orders/{placed.json()['id']}", headers=admin)
    assert read.json()["total"] == "9999999999000.00"
