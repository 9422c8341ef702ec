"""ETags, If-None-Match and If-Match on products and users (optimistic concurrency)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Api, assert_problem, items

PRODUCTS = "/api/v1/products"
USERS = "/api/v1/users"
ME = f"{USERS}/me"


async def catalogue_product(api: Api) -> tuple[dict[str, str], dict[str, Any], str]:
    """A superuser's headers, a product, and the product's ETag."""
    admin = await api.superuser()
    product = await api.product(admin, stock=5)
    response = await api.http.get(f"{PRODUCTS}/{product['id']}")
    return admin, product, response.headers["etag"]


async def test_a_product_carries_a_strong_etag_by_id_and_by_slug(api: Api) -> None:
    _, product, tag = await catalogue_product(api)

    by_slug = await api.http.get(f"{PRODUCTS}/slug/{product['slug']}")

    assert tag.startswith('"')
    assert tag.endswith('"')
    assert by_slug.headers["etag"] == tag


async def test_a_current_etag_in_if_none_match_answers_304_without_a_body(api: Api) -> None:
    _, product, tag = await catalogue_product(api)

    for path in (f"{PRODUCTS}/{product['id']}", f"{PRODUCTS}/slug/{product['slug']}"):
        response = await api.http.get(path, headers={"If-None-Match": f'"x", W/{tag}'})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == tag


async def test_the_etag_changes_whenever_the_product_does(api: Api) -> None:
    admin, product, tag = await catalogue_product(api)
    path = f"{PRODUCTS}/{product['id']}"
    (customer,) = [await api.user()]

    await api.http.post("/api/v1/orders", json=items((product["id"], 1)), headers=customer)
    after_order = await api.http.get(path, headers={"If-None-Match": tag})
    await api.http.patch(path, json={"name": "Renamed"}, headers=admin)
    after_edit = await api.http.get(path)

    assert after_order.status_code == 200
    assert after_order.headers["etag"] != tag
    assert after_edit.headers["etag"] not in (tag, after_order.headers["etag"])


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_a_product_write_with_a_stale_if_match_is_412_and_writes_nothing(
    api: Api, method: str
) -> None:
    admin, product, stale = await catalogue_product(api)
    path = f"{PRODUCTS}/{product['id']}"
    await api.http.patch(path, json={"price": "9.99"}, headers=admin)
    body = {"name": "Blue", "price": "1.00", "stock": 1, "category": "tops"}

    response = await api.http.request(
        method,
        path,
        json=None if method == "DELETE" else body,
        headers={**admin, "If-Match": stale},
    )

    assert "changed" in assert_problem(response, 412)["detail"]
    after = (await api.http.get(path)).json()
    assert (after["name"], after["price"], after["stock"]) == ("Red Shirt", "9.99", 5)


async def test_a_product_write_with_the_current_if_match_is_applied(api: Api) -> None:
    admin, product, tag = await catalogue_product(api)
    path = f"{PRODUCTS}/{product['id']}"

    edited = await api.http.patch(path, json={"price": "9.99"}, headers={**admin, "If-Match": tag})
    deleted = await api.http.delete(path, headers={**admin, "If-Match": edited.headers["etag"]})

    assert edited.status_code == 200
    assert edited.headers["etag"] != tag
    assert deleted.status_code == 204


@pytest.mark.parametrize("value", ["*", '"nonsense"', 'W/"x"', '"product-1-v99999999999"', ","])
async def test_if_match_values_never_fail_the_server(api: Api, value: str) -> None:
    admin, product, _ = await catalogue_product(api)

    response = await api.http.patch(
        f"{PRODUCTS}/{product['id']}", json={"stock": 3}, headers={**admin, "If-Match": value}
    )

    assert response.status_code == (200 if value == "*" else 412)


async def test_if_match_on_a_missing_product_is_404(api: Api) -> None:
    admin, _, tag = await catalogue_product(api)

    response = await api.http.patch(
        f"{PRODUCTS}/999", json={"stock": 3}, headers={**admin, "If-Match": tag}
    )

    assert_problem(response, 404)


async def test_my_account_carries_an_etag_and_honours_if_none_match(api: Api) -> None:
    headers = await api.user()

    first = await api.http.get(ME, headers=headers)
    again = await api.http.get(ME, headers={**headers, "If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]


async def test_a_stale_if_match_on_my_account_is_412(api: Api) -> None:
    headers = await api.user()
    tag = (await api.http.get(ME, headers=headers)).headers["etag"]
    await api.http.patch(ME, json={"full_name": "First"}, headers=headers)

    response = await api.http.patch(
        ME, json={"full_name": "Second"}, headers={**headers, "If-Match": tag}
    )

    assert_problem(response, 412)
    assert (await api.http.get(ME, headers=headers)).json()["full_name"] == "First"


async def test_an_admin_write_based_on_an_old_view_of_an_account_is_412(api: Api) -> None:
    admin = await api.superuser()
    headers = await api.user()
    user_id = (await api.http.get(ME, headers=headers)).json()["id"]
    path = f"{USERS}/{user_id}"
    seen = await api.http.get(path, headers=admin)
    assert (
        await api.http.get(path, headers={**admin, "If-None-Match": seen.headers["etag"]})
    ).status_code == 304
    await api.http.patch(ME, json={"full_name": "Changed meanwhile"}, headers=headers)

    promote = await api.http.patch(
        path, json={"is_superuser": True}, headers={**admin, "If-Match": seen.headers["etag"]}
    )
    deactivate = await api.http.delete(path, headers={**admin, "If-Match": seen.headers["etag"]})

    assert_problem(promote, 412)
    assert_problem(deactivate, 412)
    after = (await api.http.get(path, headers=admin)).json()
    assert (after["is_superuser"], after["is_active"]) == (False, True)


async def test_logout_all_ends_every_session(api: Api) -> None:
    headers = await api.user()
    one = await api.login()
    other = await api.login()

    response = await api.http.post("/api/v1/auth/logout-all", headers=headers)

    assert response.status_code == 204
    assert_problem(await api.http.get(ME, headers=headers), 401)
    for tokens in (one, other):
        refreshed = await api.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert_problem(refreshed, 401)
    assert (await api.login())["access_token"]


async def test_logout_all_needs_a_token(api: Api) -> None:
    assert_problem(await api.http.post("/api/v1/auth/logout-all"), 401)
