"""Rows in, domain objects out: the only place that knows both shapes.

Each ``*_COLUMNS`` tuple is what the repositories select; the matching function reads
exactly those columns by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from adapters.sql.tables import order_lines, orders, products, refresh_tokens, users
from domain.orders import Order, OrderLine, OrderStatus
from domain.products import Product
from domain.sessions import RefreshToken
from domain.users import User

USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.hashed_password,
    users.c.full_name,
    users.c.is_active,
    users.c.is_superuser,
    users.c.created_at,
    users.c.updated_at,
    users.c.token_version,
)

PRODUCT_COLUMNS = (
    products.c.id,
    products.c.name,
    products.c.slug,
    products.c.description,
    products.c.price,
    products.c.stock,
    products.c.category,
    products.c.image_url,
    products.c.created_at,
    products.c.updated_at,
)

REFRESH_TOKEN_COLUMNS = tuple(refresh_tokens.c)

ORDER_COLUMNS = (
    orders.c.id,
    orders.c.user_id,
    orders.c.status,
    orders.c.created_at,
    orders.c.updated_at,
)

ORDER_LINE_COLUMNS = (
    order_lines.c.product_id,
    order_lines.c.product_name,
    order_lines.c.unit_price,
    order_lines.c.quantity,
)


def user_from_row(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        hashed_password=row.hashed_password,
        full_name=row.full_name,
        is_active=row.is_active,
        is_superuser=row.is_superuser,
        created_at=row.created_at,
        updated_at=row.updated_at,
        token_version=row.token_version,
    )


def user_values(user: User) -> dict[str, Any]:
    """Every stored field but the id, which the database assigns."""
    return {
        "email": user.email,
        "hashed_password": user.hashed_password,
        "full_name": user.full_name,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "token_version": user.token_version,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def product_from_row(row: Row[Any]) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        price=row.price,
        stock=row.stock,
        category=row.category,
        image_url=row.image_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def product_values(product: Product) -> dict[str, Any]:
    return {
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "price": product.price,
        "stock": product.stock,
        "category": product.category,
        "image_url": product.image_url,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def refresh_token_from_row(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        token_hash=row.token_hash,
        family_id=row.family_id,
        user_id=row.user_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


def orders_from_rows(rows: Iterable[Row[Any]]) -> list[Order]:
    """Group rows of an orders-join-lines query (ordered by order, then line) into orders."""
    found: list[Order] = []
    current: Row[Any] | None = None
    lines: list[OrderLine] = []
    for row in rows:
        if current is None or row.id != current.id:
            if current is not None:
                found.append(_order(current, lines))
            current, lines = row, []
        lines.append(
            OrderLine(
                product_id=row.product_id,
                product_name=row.product_name,
                unit_price=row.unit_price,
                quantity=row.quantity,
            )
        )
    if current is not None:
        found.append(_order(current, lines))
    return found


def _order(row: Row[Any], lines: list[OrderLine]) -> Order:
    return Order(
        id=row.id,
        user_id=row.user_id,
        status=OrderStatus(row.status),
        lines=tuple(lines),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
