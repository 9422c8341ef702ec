"""The catalogue over HTTP: public reads, superuser writes, pages and cursors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Api, assert_problem, fields_of

PRODUCTS = "/api/v1/products"
PRODUCT_FIELDS = {
    "id", "name", "slug", "description", "price", "stock", "category", "image_url",
    "created_at", "updated_at",
}  # fmt: skip
PAGE_FIELDS = {"items", "total", "page", "size", "pages", "next_cursor"}


async def test_the_catalogue_is_public(api: Api) -> None:
    response = await api.http.get(PRODUCTS)

    assert response.status_code == 200
    assert response.json() == {
        "items": [], "total": 0, "page": 1, "size": 20, "pages": 0, "next_cursor": None,
    }  # fmt: skip


async def test_creating_a_product_returns_it_with_a_slug(api: Api) -> None:
    admin = await api.superuser()

    response = await api.http.post(
        PRODUCTS,
        json={
            "name": "Red Shirt",
            "description": "Soft",
            "price": "19.9",
            "stock": 5,
            "category": "shirts",
            "image_url": "https://img.example.com/red.png",
        },
        headers=admin,
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == PRODUCT_FIELDS
    assert body["slug"] == "red-shirt"
    assert body["price"] == "19.90"
    assert body["stock"] == 5
    assert body["created_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")


async def test_a_price_sent_as_a_json_number_is_refused(api: Api) -> None:
    # Money is a decimal string: a JSON number may already have lost cents as a float.
    admin = await api.superuser()

    response = await api.http.post(
        PRODUCTS, json={"name": "X", "price": 12.5, "category": "c"}, headers=admin
    )

    assert fields_of(assert_problem(response, 422)) == {"body.price"}


async def test_products_with_the_same_name_get_numbered_slugs(api: Api) -> None:
    admin = await api.superuser()

    slugs = [(await api.product(admin, name="Red Shirt"))["slug"] for _ in range(3)]

    assert slugs == ["red-shirt", "red-shirt-2", "red-shirt-3"]


async def test_creating_products_needs_authentication(api: Api) -> None:
    response = await api.http.post(PRODUCTS, json={"name": "X", "price": "1.00", "category": "c"})

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_customers_cannot_change_the_catalogue(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)
    headers = await api.user()
    url = f"{PRODUCTS}/{product['id']}"
    body = {"name": "X", "price": "1.00", "category": "c"}

    responses = [
        await api.http.post(PRODUCTS, json=body, headers=headers),
        await api.http.put(url, json=body, headers=headers),
        await api.http.patch(url, json={"stock": 0}, headers=headers),
        await api.http.delete(url, headers=headers),
    ]

    for response in responses:
        assert_problem(response, 403)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": "0"}, "body.price"),
        ({"price": "-1.00"}, "body.price"),
        ({"price": "1.999"}, "body.price"),
        ({"price": "abc"}, "body.price"),
        ({"stock": -1}, "body.stock"),
        ({"stock": "5"}, "body.stock"),
        ({"stock": 2.5}, "body.stock"),
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"category": ""}, "body.category"),
        ({"image_url": "ftp://example.com/x.png"}, "body.image_url"),
        ({"slug": "mine"}, "body.slug"),
        ({"id": 7}, "body.id"),
    ],
)
async def test_invalid_products_are_refused_naming_the_field(
    memory_api: Api, changes: dict[str, Any], field: str
) -> None:
    admin = await memory_api.superuser()
    body = {"name": "Red Shirt", "price": "19.99", "stock": 1, "category": "shirts", **changes}

    response = await memory_api.http.post(PRODUCTS, json=body, headers=admin)

    assert field in fields_of(assert_problem(response, 422))


async def test_every_invalid_field_is_reported_at_once(api: Api) -> None:
    admin = await api.superuser()

    response = await api.http.post(
        PRODUCTS, json={"name": "", "price": "1.00", "stock": -5, "colour": "red"}, headers=admin
    )

    body = assert_problem(response, 422)
    assert fields_of(body) == {"body.name", "body.stock", "body.category", "body.colour"}


async def test_reading_a_product_by_id_and_by_slug(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)

    by_id = await api.http.get(f"{PRODUCTS}/{product['id']}")
    by_slug = await api.http.get(f"{PRODUCTS}/slug/red-shirt")

    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json() == product


async def test_unknown_products_are_not_found(api: Api) -> None:
    for url in (
        f"{PRODUCTS}/424242",
        f"{PRODUCTS}/0",
        f"{PRODUCTS}/99999999999",
        f"{PRODUCTS}/slug/nothing",
    ):
        body = assert_problem(await api.http.get(url), 404)
        assert body["instance"] == url


async def test_replacing_a_product_keeps_its_slug(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, description="old", image_url="https://img.example.com/a.png")

    response = await api.http.put(
        f"{PRODUCTS}/{product['id']}",
        json={"name": "Blue Shirt", "price": "9.99", "stock": 3, "category": "shirts"},
        headers=admin,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Blue Shirt"
    assert body["slug"] == "red-shirt"
    assert body["description"] is None
    assert body["image_url"] is None


async def test_patching_a_product_changes_only_the_given_fields(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin, description="kept")

    response = await api.http.patch(
        f"{PRODUCTS}/{product['id']}", json={"price": "5.00", "image_url": None}, headers=admin
    )

    assert response.status_code == 200
    body = response.json()
    assert body["price"] == "5.00"
    assert body["description"] == "kept"
    assert body["name"] == product["name"]


async def test_patching_with_an_invalid_value_is_refused(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)

    response = await api.http.patch(
        f"{PRODUCTS}/{product['id']}", json={"price": "0"}, headers=admin
    )

    assert fields_of(assert_problem(response, 422)) == {"body.price"}


async def test_changing_an_unknown_product_is_not_found(api: Api) -> None:
    admin = await api.superuser()
    body = {"name": "X", "price": "1.00", "category": "c"}

    assert_problem(await api.http.put(f"{PRODUCTS}/777", json=body, headers=admin), 404)
    assert_problem(await api.http.patch(f"{PRODUCTS}/777", json={"stock": 1}, headers=admin), 404)
    assert_problem(await api.http.delete(f"{PRODUCTS}/777", headers=admin), 404)


async def test_deleting_a_product_takes_it_out_of_the_catalogue(api: Api) -> None:
    admin = await api.superuser()
    product = await api.product(admin)

    response = await api.http.delete(f"{PRODUCTS}/{product['id']}", headers=admin)

    assert response.status_code == 204
    assert_problem(await api.http.get(f"{PRODUCTS}/{product['id']}"), 404)
    assert (await api.http.get(PRODUCTS)).json()["total"] == 0


async def _catalogue(api: Api, count: int) -> list[dict[str, Any]]:
    admin = await api.superuser()
    return [
        await api.product(
            admin,
            name=f"Item {number:02d}",
            price=f"{(number * 7) % 10 + 1}.00",
            category="even" if number % 2 == 0 else "odd",
        )
        for number in range(count)
    ]


async def test_offset_pages_report_their_position(api: Api) -> None:
    await _catalogue(api, 5)

    response = await api.http.get(PRODUCTS, params={"skip": 2, "limit": 2})

    body = response.json()
    assert set(body) == PAGE_FIELDS
    assert [item["name"] for item in body["items"]] == ["Item 02", "Item 03"]
    assert (body["total"], body["page"], body["size"], body["pages"]) == (5, 2, 2, 3)


async def test_filtering_searching_and_sorting(api: Api) -> None:
    await _catalogue(api, 6)

    by_category = (await api.http.get(PRODUCTS, params={"category": "even"})).json()
    by_search = (await api.http.get(PRODUCTS, params={"q": "iTeM 0"})).json()
    by_price = (await api.http.get(PRODUCTS, params={"sort": "-price"})).json()

    assert [item["name"] for item in by_category["items"]] == ["Item 00", "Item 02", "Item 04"]
    assert by_search["total"] == 6
    prices = [float(item["price"]) for item in by_price["items"]]
    assert prices == sorted(prices, reverse=True)


async def test_walking_the_catalogue_by_cursor_visits_every_product_once(api: Api) -> None:
    created = await _catalogue(api, 7)
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3, "sort": "price"}

    while True:
        body = (await api.http.get(PRODUCTS, params=params)).json()
        seen.extend(item["id"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        params["after"] = body["next_cursor"]

    assert sorted(seen) == sorted(product["id"] for product in created)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"skip": -1}, "query.skip"),
        ({"limit": "ten"}, "query.limit"),
        ({"sort": "popularity"}, "query.sort"),
        ({"after": "not-a-cursor"}, "query.after"),
    ],
)
async def test_bad_list_parameters_are_refused(
    memory_api: Api, params: dict[str, Any], field: str
) -> None:
    response = await memory_api.http.get(PRODUCTS, params=params)

    assert field in fields_of(assert_problem(response, 422))


async def test_a_cursor_of_another_sort_is_refused(api: Api) -> None:
    await _catalogue(api, 3)
    cursor = (await api.http.get(PRODUCTS, params={"limit": 1, "sort": "name"})).json()[
        "next_cursor"
    ]

    response = await api.http.get(PRODUCTS, params={"limit": 1, "sort": "price", "after": cursor})

    assert fields_of(assert_problem(response, 422)) == {"query.after"}
