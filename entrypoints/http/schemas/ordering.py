"""HTTP schemas of the ordering context: orders, their lines and pages of them."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from application.pagination import Page
from domain.orders import MAX_LINES, MAX_QUANTITY, Order, OrderRequestLine, check_order_request
from entrypoints.http.schemas.common import (
    FieldRules,
    Money,
    PositiveId,
    Timestamp,
    money,
    page_fields,
    utc,
)

Quantity = Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]


def _distinct_products(items: list[OrderItemRequest]) -> None:
    check_order_request(
        tuple(OrderRequestLine(product_id=i.product_id, quantity=i.quantity) for i in items)
    )


class OrderItemRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    product_id: PositiveId
    quantity: Quantity


class OrderRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """1 to 100 lines, each product at most once."""

    field_rules: ClassVar[FieldRules] = {"items": _distinct_products}

    items: Annotated[list[OrderItemRequest], Meta(min_length=1, max_length=MAX_LINES)]


class OrderLineResponse(msgspec.Struct, frozen=True, kw_only=True):
    product_id: int
    product_name: str
    unit_price: Money
    quantity: int
    line_total: Money


class OrderResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    user_id: int
    status: Literal["placed", "cancelled"]
    items: list[OrderLineResponse]
    total: Money
    created_at: Timestamp
    updated_at: Timestamp


class OrderPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[OrderResponse]
    total: int
    page: int
    size: int
    pages: int
    next_cursor: str | None


def order_response(order: Order) -> OrderResponse:
    return OrderResponse(
        id=order.id,
        user_id=order.user_id,
        status=order.status.value,
        items=[
            OrderLineResponse(
                product_id=line.product_id,
                product_name=line.product_name,
                unit_price=money(line.unit_price),
                quantity=line.quantity,
                line_total=money(line.line_total),
            )
            for line in order.lines
        ],
        total=money(order.total),
        created_at=utc(order.created_at),
        updated_at=utc(order.updated_at),
    )


def order_page(page: Page[Order]) -> OrderPage:
    return OrderPage(
        items=[order_response(order) for order in page.items],
        **page_fields(page),
    )
