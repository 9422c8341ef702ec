"""Deterministic demo catalogue for ``storefront seed-demo``.

The same N always gives the same products (names, prices, stock, categories), so
demos and benchmarks are reproducible; products already present (by slug) are left
alone, so running the command twice adds nothing the second time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.products import Product, ProductDetails, slugify

SEED = 20261126

CATEGORIES: dict[str, tuple[str, ...]] = {
    "shirts": ("Shirt", "Polo", "Blouse", "Tee"),
    "trousers": ("Chinos", "Jeans", "Joggers", "Cargo Trousers"),
    "shoes": ("Sneakers", "Boots", "Loafers", "Sandals"),
    "bags": ("Backpack", "Tote", "Messenger Bag", "Duffel"),
    "kitchen": ("Skillet", "Chef Knife", "Cutting Board", "Kettle"),
    "books": ("Novel", "Cookbook", "Atlas", "Field Guide"),
    "toys": ("Puzzle", "Kite", "Building Set", "Yo-yo"),
    "garden": ("Trowel", "Watering Can", "Planter", "Pruning Shears"),
    "electronics": ("Headphones", "Charger", "Speaker", "Keyboard"),
    "sports": ("Yoga Mat", "Water Bottle", "Jump Rope", "Tennis Racket"),
    "beauty": ("Soap", "Shampoo", "Face Cream", "Lip Balm"),
    "stationery": ("Notebook", "Fountain Pen", "Planner", "Sketchbook"),
}
ADJECTIVES = (
    "Red", "Blue", "Green", "Black", "White", "Classic", "Modern", "Vintage", "Compact",
    "Deluxe", "Everyday", "Organic", "Recycled", "Handmade", "Travel", "Premium",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoProduct:
    details: ProductDetails
    slug: str


def demo_categories(count: int) -> dict[str, tuple[str, ...]]:
    """The dozen named aisles, cut down to ``count`` or padded with generic ones."""
    named = {name: CATEGORIES[name] for name in sorted(CATEGORIES)[:count]}
    for number in range(len(named) + 1, count + 1):
        named[f"category-{number:02d}"] = ("Item", "Gadget", "Gift", "Accessory")
    return named


def demo_products(
    count: int, *, categories: int = len(CATEGORIES), stock: int | None = None
) -> Iterator[DemoProduct]:
    """``count`` products, the same ones every time, with distinct names.

    ``stock`` gives every product the same stock (benchmarks must not run out of it);
    by default each gets a random one.
    """
    chooser = random.Random(SEED)  # noqa: S311 - demo data, not security
    aisles = demo_categories(categories)
    names = sorted(aisles)
    for number in range(1, count + 1):
        category = names[(number - 1) % len(names)]
        noun = chooser.choice(aisles[category])
        adjective = chooser.choice(ADJECTIVES)
        name = f"{adjective} {noun} No. {number}"
        cents = chooser.randint(199, 29_999)
        details = ProductDetails.checked(
            name=name,
            description=f"A {adjective.lower()} {noun.lower()} from the {category} aisle.",
            price=Decimal(cents) / 100,
            stock=chooser.randint(0, 500) if stock is None else stock,
            category=category,
            image_url=f"https://images.example.com/demo/{number}.png",
        )
        yield DemoProduct(details=details, slug=slugify(name))


def demo_catalogue(
    count: int,
    now: Callable[[], datetime],
    *,
    categories: int = len(CATEGORIES),
    stock: int | None = None,
) -> Iterator[Product]:
    """The demo products as new catalogue entries, for a bulk loader."""
    for item in demo_products(count, categories=categories, stock=stock):
        yield Product.new(item.details, slug=item.slug, at=now())
