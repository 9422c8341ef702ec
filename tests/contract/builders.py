"""Domain objects as the use cases would hand them to a repository (not yet stored)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.ids import NEW_ID
from domain.orders import Order, OrderLine, OrderStatus
from domain.products import Product, slugify
from domain.sessions import RefreshToken
from domain.users import User

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    """``T0`` moved by ``delta`` (``at(minutes=5)``)."""
    return T0 + timedelta(**delta)


def a_user(email: str = "ann@example.com", *, when: datetime = T0, **changes: object) -> User:
    user = User(
        id=NEW_ID,
        email=email,
        hashed_password="hashed:secret",
        full_name=None,
        is_active=True,
        is_superuser=False,
        created_at=when,
        updated_at=when,
    )
    for name, value in changes.items():
        setattr(user, name, value)
    return user


def a_product(
    name: str = "Red Shirt",
    *,
    slug: str | None = None,
    price: str = "19.99",
    stock: int = 10,
    category: str = "shirts",
    when: datetime = T0,
    description: str | None = None,
    image_url: str | None = None,
) -> Product:
    return Product(
        id=NEW_ID,
        name=name,
        slug=slug if slug is not None else slugify(name),
        description=description,
        price=Decimal(price),
        stock=stock,
        category=category,
        image_url=image_url,
        created_at=when,
        updated_at=when,
    )


def an_order(
    user_id: int,
    lines: Sequence[tuple[Product, int]],
    *,
    when: datetime = T0,
    status: OrderStatus = OrderStatus.PLACED,
) -> Order:
    return Order(
        id=NEW_ID,
        user_id=user_id,
        status=status,
        lines=tuple(
            OrderLine(
                product_id=product.id,
                product_name=product.name,
                unit_price=product.price,
                quantity=quantity,
            )
            for product, quantity in lines
        ),
        created_at=when,
        updated_at=when,
    )


def a_refresh_token(
    token_hash: str,
    user_id: int,
    *,
    family_id: str = "family-1",
    issued_at: datetime = T0,
    lifetime: timedelta = timedelta(days=14),
) -> RefreshToken:
    return RefreshToken(
        token_hash=token_hash,
        family_id=family_id,
        user_id=user_id,
        issued_at=issued_at,
        expires_at=issued_at + lifetime,
    )
