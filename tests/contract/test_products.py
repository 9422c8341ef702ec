"""ProductRepository contract: the catalogue, its slugs, pages, sorts, filters and archive."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from application.catalogue import product_position
from application.pagination import KeysetPosition, PageRequest
from application.ports.catalogue import ProductChanges, ProductQuery, ProductSort
from application.ports.common import UnitOfWorkFactory
from domain.errors import Conflict, PreconditionFailed
from domain.products import Product
from tests.contract.builders import a_product, at


async def add_products(uow_factory: UnitOfWorkFactory, *products: Product) -> list[Product]:
    async with uow_factory() as uow:
        added = [await uow.products.add(product) for product in products]
        await uow.commit()
    return added


async def archive(uow_factory: UnitOfWorkFactory, product_id: int) -> None:
    async with uow_factory() as uow:
        assert await uow.products.archive(product_id, at(hours=1))
        await uow.commit()


async def list_page(uow_factory: UnitOfWorkFactory, query: ProductQuery) -> Any:
    async with uow_factory() as uow:
        return await uow.products.list_page(query)


def ids(products: Any) -> list[int]:
    return [product.id for product in products]


# --- storing ------------------------------------------------------------------------------


async def test_added_products_get_increasing_ids(uow_factory: UnitOfWorkFactory) -> None:
    first, second = await add_products(uow_factory, a_product("One"), a_product("Two"))

    assert 0 < first.id < second.id


async def test_a_stored_product_reads_back_field_for_field(uow_factory: UnitOfWorkFactory) -> None:
    (added,) = await add_products(
        uow_factory,
        a_product(
            "Red Shirt",
            price="1234567.89",
            stock=3,
            description="Soft and red",
            image_url="https://img.example.com/red.png",
        ),
    )

    async with uow_factory() as uow:
        by_id = await uow.products.get(added.id)
        by_slug = await uow.products.get_by_slug("red-shirt")

    assert by_id == added == by_slug
    assert by_id is not None
    assert by_id.price == Decimal("1234567.89")
    assert str(by_id.price) == "1234567.89"
    assert by_id.created_at.utcoffset() is not None


async def test_a_taken_slug_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    await add_products(uow_factory, a_product("Red Shirt"))

    async with uow_factory() as uow:
        with pytest.raises(Conflict, match="red-shirt"):
            await uow.products.add(a_product("Red shirt!"))


async def test_unknown_products_are_none(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.products.get(999) is None
        assert await uow.products.get_by_slug("nothing") is None


async def test_get_many_returns_the_catalogue_products_among_the_ids(
    uow_factory: UnitOfWorkFactory,
) -> None:
    one, two, gone = await add_products(
        uow_factory, a_product("One"), a_product("Two"), a_product("Gone")
    )
    await archive(uow_factory, gone.id)

    async with uow_factory() as uow:
        found = await uow.products.get_many([two.id, one.id, gone.id, 999])
        none = await uow.products.get_many([])

    assert found == {one.id: one, two.id: two}
    assert none == {}


async def test_slugs_like_lists_the_base_and_its_numbered_variants(
    uow_factory: UnitOfWorkFactory,
) -> None:
    products = [
        a_product(slug=slug)
        for slug in ("red", "red-2", "red-10", "red-shirt", "redder", "red-2-3", "re-2", "red-x")
    ]
    added = await add_products(uow_factory, *products)
    await archive(uow_factory, added[1].id)

    async with uow_factory() as uow:
        assert await uow.products.slugs_like("red") == {"red", "red-2", "red-10"}
        assert await uow.products.slugs_like("blue") == set()


async def test_slugs_like_takes_like_wildcards_literally(uow_factory: UnitOfWorkFactory) -> None:
    await add_products(uow_factory, a_product(slug="a_b-2"), a_product(slug="axb-2"))

    async with uow_factory() as uow:
        assert await uow.products.slugs_like("a_b") == {"a_b-2"}
        assert await uow.products.slugs_like("a%") == set()


async def test_change_writes_only_the_given_fields_and_bumps_the_version(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, a_product("Red Shirt", stock=5))
    async with uow_factory() as uow:
        await uow.products.reserve_stock(product.id, 2, at(hours=1))
        await uow.commit()

    async with uow_factory() as uow:
        changed = await uow.products.change(
            product.id, ProductChanges(price=Decimal("5.50"), image_url=None), at(hours=2)
        )
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.products.get(product.id)

    expected = dataclasses.replace(
        product, price=Decimal("5.50"), image_url=None, stock=3, updated_at=at(hours=2), version=3
    )
    assert changed == found == expected


async def test_an_explicit_stock_is_written(uow_factory: UnitOfWorkFactory) -> None:
    (product,) = await add_products(uow_factory, a_product(stock=5))

    async with uow_factory() as uow:
        changed = await uow.products.change(product.id, ProductChanges(stock=0), at(hours=1))

    assert changed is not None
    assert changed.stock == 0


async def test_a_product_change_based_on_an_old_version_is_refused(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, a_product(stock=5))
    async with uow_factory() as uow:
        await uow.products.reserve_stock(product.id, 1, at(hours=1))
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(PreconditionFailed):
            await uow.products.change(product.id, ProductChanges(name="x"), at(hours=2), 1)
        with pytest.raises(PreconditionFailed):
            await uow.products.archive(product.id, at(hours=2), 1)
        assert await uow.products.change(999, ProductChanges(name="x"), at(hours=2), 1) is None
        assert await uow.products.archive(999, at(hours=2), 1) is False
        assert await uow.products.archive(product.id, at(hours=2), 2)


async def test_a_returned_product_is_a_copy(uow_factory: UnitOfWorkFactory) -> None:
    (product,) = await add_products(uow_factory, a_product(stock=5))

    async with uow_factory() as uow:
        found = await uow.products.get(product.id)
        assert found is not None
        found.take(5)
        again = await uow.products.get(product.id)

    assert again is not None
    assert again.stock == 5


# --- archive ------------------------------------------------------------------------------


async def test_an_archived_product_leaves_the_catalogue(uow_factory: UnitOfWorkFactory) -> None:
    kept, gone = await add_products(uow_factory, a_product("Kept"), a_product("Gone"))
    await archive(uow_factory, gone.id)

    async with uow_factory() as uow:
        assert await uow.products.get(gone.id) is None
        assert await uow.products.get_by_slug(gone.slug) is None
        page = await uow.products.list_page(ProductQuery(PageRequest()))

    assert ids(page.items) == [kept.id]
    assert page.total == 1


async def test_an_archived_product_keeps_its_slug(uow_factory: UnitOfWorkFactory) -> None:
    (gone,) = await add_products(uow_factory, a_product("Red Shirt"))
    await archive(uow_factory, gone.id)

    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.products.add(a_product("Red Shirt"))


async def test_archiving_twice_or_an_unknown_product_reports_false(
    uow_factory: UnitOfWorkFactory,
) -> None:
    (product,) = await add_products(uow_factory, a_product())
    await archive(uow_factory, product.id)

    async with uow_factory() as uow:
        assert await uow.products.archive(product.id, at(hours=2)) is False
        assert await uow.products.archive(999, at(hours=2)) is False


async def test_an_archived_product_cannot_be_changed(uow_factory: UnitOfWorkFactory) -> None:
    (product,) = await add_products(uow_factory, a_product("Red"))
    await archive(uow_factory, product.id)

    async with uow_factory() as uow:
        assert await uow.products.change(product.id, ProductChanges(name="x"), at()) is None
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.products.get(product.id) is None


# --- pages, filters and sorts ---------------------------------------------------------------


async def test_the_catalogue_is_listed_by_id_with_total_and_has_more(
    uow_factory: UnitOfWorkFactory,
) -> None:
    added = await add_products(uow_factory, *(a_product(f"P{n}") for n in range(5)))

    first = await list_page(uow_factory, ProductQuery(PageRequest(skip=0, limit=2)))
    middle = await list_page(uow_factory, ProductQuery(PageRequest(skip=2, limit=2)))
    last = await list_page(uow_factory, ProductQuery(PageRequest(skip=4, limit=2)))
    exact = await list_page(uow_factory, ProductQuery(PageRequest(skip=3, limit=2)))
    beyond = await list_page(uow_factory, ProductQuery(PageRequest(skip=9, limit=2)))

    assert (ids(first.items), first.total, first.has_more) == (ids(added[:2]), 5, True)
    assert (ids(middle.items), middle.total, middle.has_more) == (ids(added[2:4]), 5, True)
    assert (ids(last.items), last.total, last.has_more) == (ids(added[4:]), 5, False)
    assert (ids(exact.items), exact.has_more) == (ids(added[3:]), False)
    assert (ids(beyond.items), beyond.total, beyond.has_more) == ([], 5, False)


async def test_an_empty_catalogue_has_no_page(uow_factory: UnitOfWorkFactory) -> None:
    page = await list_page(uow_factory, ProductQuery(PageRequest()))

    assert (list(page.items), page.total, page.has_more) == ([], 0, False)


async def test_category_filter_matches_exactly(uow_factory: UnitOfWorkFactory) -> None:
    shirt, _, _ = await add_products(
        uow_factory,
        a_product("A", category="shirts"),
        a_product("B", category="Shirts"),
        a_product("C", category="shirts-sale"),
    )

    page = await list_page(uow_factory, ProductQuery(PageRequest(), category="shirts"))

    assert (ids(page.items), page.total) == ([shirt.id], 1)


async def test_search_is_a_case_insensitive_substring_of_the_name(
    uow_factory: UnitOfWorkFactory,
) -> None:
    red, dark_red, _ = await add_products(
        uow_factory, a_product("Red Shirt"), a_product("Dark RED hat"), a_product("Blue Shirt")
    )

    page = await list_page(uow_factory, ProductQuery(PageRequest(), search="rEd"))

    assert (ids(page.items), page.total) == ([red.id, dark_red.id], 2)


async def test_search_takes_like_wildcards_literally(uow_factory: UnitOfWorkFactory) -> None:
    percent, underscore, _ = await add_products(
        uow_factory, a_product("100% cotton"), a_product("snake_case tee"), a_product("Plain tee")
    )

    by_percent = await list_page(uow_factory, ProductQuery(PageRequest(), search="0%"))
    by_underscore = await list_page(uow_factory, ProductQuery(PageRequest(), search="e_c"))
    by_backslash = await list_page(uow_factory, ProductQuery(PageRequest(), search="\\"))

    assert ids(by_percent.items) == [percent.id]
    assert ids(by_underscore.items) == [underscore.id]
    assert ids(by_backslash.items) == []


async def test_filters_combine_and_count_only_what_they_match(
    uow_factory: UnitOfWorkFactory,
) -> None:
    added = await add_products(
        uow_factory,
        *(a_product(f"Red {n}", category="shirts") for n in range(3)),
        a_product("Red hat", category="hats"),
        a_product("Blue shirt", category="shirts"),
    )

    page = await list_page(
        uow_factory, ProductQuery(PageRequest(limit=2), category="shirts", search="red")
    )

    assert (ids(page.items), page.total, page.has_more) == (ids(added[:2]), 3, True)


def _catalogue_with_ties() -> list[Product]:
    # Ties on every sort key, and ids that disagree with the key order, so that both the
    # key and the tie-break are exercised.
    spec = [
        ("banana", "5.00", 3),
        ("Apple", "5.00", 1),
        ("apple", "12.50", 3),
        ("banana", "0.99", 2),
        ("cherry", "12.50", 1),
        ("Apple", "7.25", 2),
        ("date", "5.00", 3),
    ]
    return [
        a_product(name, slug=f"p{index}", price=price, when=at(minutes=minutes))
        for index, (name, price, minutes) in enumerate(spec)
    ]


def _expected_order(products: list[Product], sort: ProductSort) -> list[int]:
    key: Callable[[Product], Any] = (
        (lambda p: p.id) if sort is ProductSort.ID else (lambda p: (getattr(p, sort.field), p.id))
    )
    return [p.id for p in sorted(products, key=key, reverse=sort.descending)]


def _position(product: Product, sort: ProductSort) -> KeysetPosition:
    # The position the catalogue use case puts in its cursors.
    return product_position(sort)(product)


@pytest.mark.parametrize("sort", list(ProductSort))
async def test_each_sort_orders_by_its_key_then_id_in_the_same_direction(
    uow_factory: UnitOfWorkFactory, sort: ProductSort
) -> None:
    added = await add_products(uow_factory, *_catalogue_with_ties())

    page = await list_page(uow_factory, ProductQuery(PageRequest(limit=100), sort=sort))

    assert ids(page.items) == _expected_order(added, sort)


@pytest.mark.parametrize("sort", list(ProductSort))
async def test_walking_keyset_pages_visits_every_product_once_in_order(
    uow_factory: UnitOfWorkFactory, sort: ProductSort
) -> None:
    added = await add_products(uow_factory, *_catalogue_with_ties())
    seen: list[int] = []
    after: KeysetPosition | None = None
    pages = 0
    while True:
        page = await list_page(
            uow_factory, ProductQuery(PageRequest(limit=2, after=after), sort=sort)
        )
        pages += 1
        assert page.total == len(added)
        seen.extend(ids(page.items))
        if not page.has_more:
            break
        after = _position(page.items[-1], sort)

    assert seen == _expected_order(added, sort)
    assert pages == 4


@pytest.mark.parametrize("sort", [ProductSort.NAME, ProductSort.PRICE_DESC])
async def test_keyset_pages_respect_the_filters(
    uow_factory: UnitOfWorkFactory, sort: ProductSort
) -> None:
    added = await add_products(
        uow_factory,
        *(
            a_product(f"Tee {n % 3}", slug=f"t{n}", price=f"{n % 2 + 1}.00", category=c)
            for n, c in enumerate(["a", "b", "a", "a", "b", "a", "a"])
        ),
    )
    in_a = [p for p in added if p.category == "a"]
    first = await list_page(
        uow_factory, ProductQuery(PageRequest(limit=3), category="a", sort=sort)
    )
    second = await list_page(
        uow_factory,
        ProductQuery(
            PageRequest(limit=3, after=_position(first.items[-1], sort)), category="a", sort=sort
        ),
    )

    assert ids(first.items) + ids(second.items) == _expected_order(in_a, sort)
    assert (first.total, second.total, second.has_more) == (5, 5, False)


async def test_a_keyset_position_past_the_end_gives_an_empty_page_with_the_total(
    uow_factory: UnitOfWorkFactory,
) -> None:
    added = await add_products(uow_factory, a_product("A"), a_product("B"))

    page = await list_page(
        uow_factory,
        ProductQuery(PageRequest(after=_position(added[-1], ProductSort.ID), limit=5)),
    )

    assert (list(page.items), page.total, page.has_more) == ([], 2, False)
