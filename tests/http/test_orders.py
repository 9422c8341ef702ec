"""Orders over HTTP: placing without overselling, idempotent retries, reading, cancelling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Api, assert_problem, fields_of, items, stock_of

ORDERS = "/api/v1/orders"
ORDER_FIELDS = {"id", "user_id", "status", "items", "total", "created_at", "updated_at"}
LINE_FIELDS = {"product_id", "product_name", "unit_price", "quantity", "line_total"}


async def test_placing_an_order_takes_stock_and_prices_the_lines(api: Api) -> None:
    admin = await api.superuser()
    shirt = await api.product(admin, name="Shirt", price="19.99", stock=10)
    socks = await api.product(admin, name="Socks", price="2.50", stock=10)
    headers = await api.user()

    response = await api.http.post(
        ORDERS, json=items((shirt["id"], 2), (socks["id"], 3)), headers=headers
    )

    assert response.status_code == 201
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert order["status"] == "placed"
    assert order["total"] == "47.48"
    assert [set(line) for line in order["items"]] == [LINE_FIELDS, LINE_FIELDS]
    assert order["items"][0] == {
        "product_id": shirt["id"], "product_name": "Shirt", "unit_price": "19.99",
        "quantity": 2, "line_total": "39.98",
    }  # fmt: skip
    assert await stock_of(api, shirt["id"]) == 8
    assert await stock_of(api, socks["id"]) == 7


async def test_orders_need_authentication(api: Api) -> None:
    response = await api.http.post(ORDERS, json=items((1, 1)))

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_not_enough_stock_is_a_conflict_and_changes_nothing(api: Api) -> None:
    admin = await api.superuser()
    plenty = await api.product(admin, name="Plenty", stock=10)
    scarce = await api.product(admin, name="Scarce", stock=1)
    headers = await api.user()

    response = await api.http.post(
        ORDERS, json=items((plenty["id"], 5), (scarce["id"], 2)), headers=headers
    )

    body = assert_problem(response, 409)
    assert str(scarce["id"]) in body["detail"]
    assert await stock_of(api, plenty["id"]) == 10
    assert await stock_of(api, scarce["id"]) == 1
    assert (await api.http.get(ORDERS, headers=headers)).json()["total"] == 0


async def test_an_unknown_product_is_invalid_input(api: Api) -> None:
    headers = await api.user()

    response = await api.http.post(ORDERS, json=items((4242, 1)), headers=headers)

    assert fields_of(assert_problem(response, 422)) == {"body.items[0].product_id"}


async def test_a_deleted_product_cannot_be_ordered_but_old_orders_keep_it(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, name="Vintage")
    headers = await api.user()
    order = (await api.http.post(ORDERS, json=items((product["id"], 1)), headers=headers)).json()
    await api.http.delete(f"/api/v1/products/{product['id']}", headers=admin)

    refused = await api.http.post(ORDERS, json=items((product["id"], 1)), headers=headers)
    kept = await api.http.get(f"{ORDERS}/{order['id']}", headers=headers)

    assert_problem(refused, 422)
    assert kept.json()["items"][0]["product_name"] == "Vintage"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "body.items"),
        (items(*((number, 1) for number in range(1, 102))), "body.items"),
        (items((1, 0)), "body.items[0].quantity"),
        (items((1, 1001)), "body.items[0].quantity"),
        (items((1, 1), (1, 2)), "body.items[1].product_id"),
        ({"items": [{"product_id": 1, "quantity": 1, "price": "0.01"}]}, "body.items[0].price"),
        ({"items": [{"product_id": 1}]}, "body.items[0].quantity"),
        ({"items": [{"product_id": 1, "quantity": "2"}]}, "body.items[0].quantity"),
        ({"items": [{"product_id": True, "quantity": 1}]}, "body.items[0].product_id"),
        ({}, "body.items"),
        ({"items": [], "user_id": 2}, "body.user_id"),
    ],
)
async def test_malformed_orders_are_refused_naming_the_field(
    memory_api: Api, body: dict[str, Any], field: str
) -> None:
    admin = await memory_api.superuser()
    await memory_api.product(admin)
    headers = await memory_api.user()

    response = await memory_api.http.post(ORDERS, json=body, headers=headers)

    assert field in fields_of(assert_problem(response, 422))


async def test_an_empty_body_is_invalid(memory_api: Api) -> None:
    headers = await memory_api.user()

    response = await memory_api.http.post(ORDERS, headers=headers)

    assert fields_of(assert_problem(response, 422)) == {"body"}


async def test_retrying_with_the_same_idempotency_key_returns_the_first_order(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = {**await api.user(), "Idempotency-Key": "order-attempt-1"}

    first = await api.http.post(ORDERS, json=items((product["id"], 2)), headers=headers)
    retry = await api.http.post(ORDERS, json=items((product["id"], 2)), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert await stock_of(api, product["id"]) == 8


async def test_reusing_an_idempotency_key_with_another_body_is_a_conflict(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = {**await api.user(), "Idempotency-Key": "order-attempt-1"}
    await api.http.post(ORDERS, json=items((product["id"], 2)), headers=headers)

    response = await api.http.post(ORDERS, json=items((product["id"], 3)), headers=headers)

    assert_problem(response, 409)
    assert await stock_of(api, product["id"]) == 8


async def test_idempotency_keys_belong_to_their_user(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    alice = {**await api.user("alice@example.com"), "Idempotency-Key": "same-key"}
    bob = {**await api.user("bob@example.com"), "Idempotency-Key": "same-key"}

    first = await api.http.post(ORDERS, json=items((product["id"], 1)), headers=alice)
    second = await api.http.post(ORDERS, json=items((product["id"], 1)), headers=bob)

    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


async def test_an_overlong_idempotency_key_is_refused(memory_api: Api) -> None:
    admin = await memory_api.superuser()
    product = await memory_api.product(admin)
    headers = {**await memory_api.user(), "Idempotency-Key": "k" * 256}

    response = await memory_api.http.post(ORDERS, json=items((product["id"], 1)), headers=headers)

    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"
    assert await stock_of(memory_api, product["id"]) == 10


async def test_my_orders_come_newest_first_a_page_at_a_time(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=100)
    headers = await api.user()
    placed = [
        (
            await api.http.post(ORDERS, json=items((product["id"], quantity)), headers=headers)
        ).json()["id"]
        for quantity in (1, 2, 3)
    ]
    other = await api.user("bob@example.com")
    await api.http.post(ORDERS, json=items((product["id"], 1)), headers=other)

    first = (await api.http.get(ORDERS, params={"limit": 2}, headers=headers)).json()
    rest = (
        await api.http.get(
            ORDERS, params={"limit": 2, "after": first["next_cursor"]}, headers=headers
        )
    ).json()

    assert [order["id"] for order in first["items"]] == placed[:0:-1]
    assert (first["total"], first["page"], first["size"], first["pages"]) == (3, 1, 2, 2)
    assert [order["id"] for order in rest["items"]] == [placed[0]]
    assert rest["next_cursor"] is None


async def test_order_list_parameters_are_checked(memory_api: Api) -> None:
    headers = await memory_api.user()

    response = await memory_api.http.get(
        ORDERS, params={"limit": 1000, "skip": -3}, headers=headers
    )

    assert fields_of(assert_problem(response, 422)) == {"query.limit", "query.skip"}


async def test_someone_elses_order_is_not_found(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)
    alice = await api.user("alice@example.com")
    bob = await api.user("bob@example.com")
    order = (await api.http.post(ORDERS, json=items((product["id"], 1)), headers=alice)).json()

    read = await api.http.get(f"{ORDERS}/{order['id']}", headers=bob)
    cancel = await api.http.post(f"{ORDERS}/{order['id']}/cancel", headers=bob)

    assert_problem(read, 404)
    assert_problem(cancel, 404)
    assert (await api.http.get(f"{ORDERS}/{order['id']}", headers=alice)).status_code == 200
    assert (await api.http.get(f"{ORDERS}/{order['id']}", headers=admin)).status_code == 200


async def test_an_unknown_order_is_not_found(api: Api) -> None:
    headers = await api.user()

    for order_id in (5555, 0, 10**11):
        assert_problem(await api.http.get(f"{ORDERS}/{order_id}", headers=headers), 404)


async def test_cancelling_an_order_gives_the_stock_back(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = await api.user()
    order = (await api.http.post(ORDERS, json=items((product["id"], 4)), headers=headers)).json()

    response = await api.http.post(f"{ORDERS}/{order['id']}/cancel", headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["id"] == order["id"]
    assert await stock_of(api, product["id"]) == 10


async def test_cancelling_twice_is_a_conflict(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, stock=10)
    headers = await api.user()
    order = (await api.http.post(ORDERS, json=items((product["id"], 4)), headers=headers)).json()
    await api.http.post(f"{ORDERS}/{order['id']}/cancel", headers=headers)

    response = await api.http.post(f"{ORDERS}/{order['id']}/cancel", headers=headers)

    assert_problem(response, 409)
    assert await stock_of(api, product["id"]) == 10
