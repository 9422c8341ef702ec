"""Curating and browsing the catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.catalogue import (
    DeleteProduct,
    GetProduct,
    GetProductBySlug,
    ListProducts,
    ListProductsCommand,
    UpdateProduct,
    UpdateProductCommand,
)
from domain.errors import InvalidInput, NotFound
from domain.products import ProductDetails, check_price, slugify
from tests.unit.conftest import World


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Red Shirt", "red-shirt"), ("  Crème Brûlée!! ", "creme-brulee"), ("***", "product")],
)
def test_slugs_are_made_from_names(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize("price", ["0", "-1.00", "1.001", "NaN", "Infinity"])
def test_prices_must_be_positive_with_at_most_two_decimals(price: str) -> None:
    with pytest.raises(InvalidInput):
        check_price(Decimal(price))


def test_a_price_with_trailing_zeros_is_accepted_as_two_decimals() -> None:
    assert check_price(Decimal("19.900")) == Decimal("19.90")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://V]x", "http://[::1"])
def test_image_urls_must_be_http_or_https(url: str) -> None:
    with pytest.raises(InvalidInput):
        ProductDetails.checked(
            name="x",
            description=None,
            price=Decimal(1),
            stock=0,
            category="c",
            image_url=url,
        )


async def test_products_with_the_same_name_get_numbered_slugs(world: World) -> None:
    slugs = [(await world.product(name="Red Shirt")).slug for _ in range(3)]
    assert slugs == ["red-shirt", "red-shirt-2", "red-shirt-3"]


async def test_a_deleted_products_slug_is_not_given_again(world: World) -> None:
    first = await world.product(name="Red Shirt")
    await DeleteProduct(world.uow, world.clock).execute(first.id)
    assert (await world.product(name="Red Shirt")).slug == "red-shirt-2"


async def test_a_deleted_product_leaves_the_catalogue(world: World) -> None:
    product = await world.product()
    await DeleteProduct(world.uow, world.clock).execute(product.id)
    with pytest.raises(NotFound):
        await GetProduct(world.uow).execute(product.id)
    with pytest.raises(NotFound):
        await GetProductBySlug(world.uow).execute(product.slug)
    with pytest.raises(NotFound):
        await DeleteProduct(world.uow, world.clock).execute(product.id)


async def test_a_partial_update_changes_only_the_given_fields(world: World) -> None:
    product = await world.product(price="19.99", stock=10)
    world.clock.advance(minutes=1)
    updated = await UpdateProduct(world.uow, world.clock).execute(
        UpdateProductCommand(product_id=product.id, price=Decimal("9.50"))
    )
    assert (updated.price, updated.stock, updated.name) == (Decimal("9.50"), 10, "Red Shirt")
    assert updated.updated_at > product.updated_at


async def test_a_partial_update_is_validated(world: World) -> None:
    product = await world.product()
    with pytest.raises(InvalidInput):
        await UpdateProduct(world.uow, world.clock).execute(
            UpdateProductCommand(product_id=product.id, stock=-1)
        )


async def test_listing_filters_searches_and_counts(world: World) -> None:
    await world.product(name="Red Shirt", category="shirts")
    await world.product(name="Blue Shirt", category="shirts")
    await world.product(name="Red Hat", category="hats")
    page = await ListProducts(world.uow).execute(ListProductsCommand(q="RED"))
    assert [p.name for p in page.items] == ["Red Shirt", "Red Hat"]
    page = await ListProducts(world.uow).execute(ListProductsCommand(category="shirts", limit=1))
    assert (page.total, page.pages, page.page, len(page.items)) == (2, 2, 1, 1)
    assert page.next_cursor is not None


async def test_following_cursors_walks_the_sorted_catalogue_once(world: World) -> None:
    for price in ["5.00", "1.00", "3.00", "1.00", "2.00"]:
        await world.product(price=price)
    seen, cursor = [], None
    while True:
        page = await ListProducts(world.uow).execute(
            ListProductsCommand(limit=2, sort="-price", after=cursor)
        )
        seen += [(p.price, p.id) for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(seen, key=lambda row: (-row[0], -row[1]))
    assert len(seen) == 5


async def test_a_cursor_of_another_sort_is_refused(world: World) -> None:
    for _ in range(3):
        await world.product()
    page = await ListProducts(world.uow).execute(ListProductsCommand(limit=1, sort="price"))
    with pytest.raises(InvalidInput):
        await ListProducts(world.uow).execute(
            ListProductsCommand(limit=1, sort="name", after=page.next_cursor)
        )


@pytest.mark.parametrize("after", ["garbage", "eyJ4Ijox", "W10"])
async def test_a_malformed_cursor_is_refused(world: World, after: str) -> None:
    with pytest.raises(InvalidInput):
        await ListProducts(world.uow).execute(ListProductsCommand(after=after))


async def test_an_unknown_sort_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        await ListProducts(world.uow).execute(ListProductsCommand(sort="stock"))
    assert refused.value.field == "query.sort"
