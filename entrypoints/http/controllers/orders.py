"""The caller's orders: placing (idempotently), reading and cancelling."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from application.order_listing import ListOrders, ListOrdersCommand
from application.orders import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    CancelOrder,
    GetOrder,
    OrderAccess,
    PlaceOrder,
    PlaceOrderCommand,
)
from application.pagination import MAX_PAGE_SIZE
from domain.ids import MAX_ID
from domain.orders import OrderRequestLine
from domain.users import User
from entrypoints.http.content_types import strict_json_body
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.common import MAX_SKIP
from entrypoints.http.schemas.ordering import (
    OrderPage,
    OrderRequest,
    OrderResponse,
    order_page,
    order_response,
)
from entrypoints.http.security import AuthenticatedRequest
from entrypoints.metrics import metrics


class OrderController(Controller):
    """Orders of the authenticated user; someone else's order is a 404."""

    path = "/api/v1/orders"
    tags = ["orders"]

    @post(
        "/",
        operation_id="place_order",
        summary="Place an order",
        description="Stock is taken for every line or for none. With an `Idempotency-Key`, a "
        "retry with the same body returns the first order; another body is a 409. When the "
        "shop requires a verified e-mail address (`ORDERS_REQUIRE_VERIFIED_EMAIL`), an "
        "unverified account gets a 403.",
        guards=[strict_json_body],
        responses=problem_responses(400, 401, 403, 409, 422),
    )
    async def place_order(
        self,
        request: AuthenticatedRequest,
        data: JSONBody[OrderRequest],
        place_order: Provided[PlaceOrder],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                min_length=1,
                max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
                description="Makes retries safe: same key and body, same order",
            ),
        ] = None,
    ) -> OrderResponse:
        placed = await place_order.execute(
            PlaceOrderCommand(
                user_id=request.user.id,
                lines=tuple(
                    OrderRequestLine(product_id=item.product_id, quantity=item.quantity)
                    for item in data.items
                ),
                idempotency_key=idempotency_key,
            )
        )
        if not placed.replayed:
            metrics().orders_placed.inc()
        return order_response(placed.order)

    @get(
        "/",
        operation_id="list_orders",
        summary="My orders, newest first (a superuser may list anyone's)",
        description="Offset pages (`skip`, `limit`) or keyset pages (`after` = the previous "
        "page's `next_cursor`, with the same filters). `status` keeps orders in that state. "
        "Superusers only (403 for anyone else): `user_id` lists that customer's orders, "
        "`all=true` every customer's.",
        responses=problem_responses(401, 403, 422),
    )
    async def list_orders(
        self,
        request: AuthenticatedRequest,
        list_orders: Provided[ListOrders],
        skip: Annotated[int, QueryParameter(ge=0, le=MAX_SKIP)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
        after: Annotated[
            str | None,
            QueryParameter(max_length=1024, description="next_cursor of the previous page"),
        ] = None,
        status: FromQuery[Literal["placed", "cancelled"] | None] = None,
        user_id: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_ID, description="Superusers: that customer's orders"),
        ] = None,
        # Named after the query parameter, so a bad value is reported as query.all.
        all: Annotated[
            bool, QueryParameter(description="Superusers: every customer's orders")
        ] = False,
    ) -> OrderPage:
        page = await list_orders.execute(
            ListOrdersCommand(
                user_id=request.user.id,
                is_superuser=request.user.is_superuser,
                skip=skip,
                limit=limit,
                after=after,
                status=status,
                of_user=user_id,
                every_user=all,
            )
        )
        return order_page(page)

    @get(
        "/{order_id:int}",
        operation_id="get_order",
        summary="One of my orders (a superuser sees any)",
        responses=problem_responses(401, 404),
    )
    async def get_order(
        self,
        request: AuthenticatedRequest,
        order_id: FromPath[int],
        get_order: Provided[GetOrder],
    ) -> OrderResponse:
        order = await get_order.execute(_access(request.user, order_id))
        return order_response(order)

    @post(
        "/{order_id:int}/cancel",
        operation_id="cancel_order",
        summary="Cancel an order and give its stock back",
        status_code=200,
        responses=problem_responses(401, 404, 409),
    )
    async def cancel_order(
        self,
        request: AuthenticatedRequest,
        order_id: FromPath[int],
        cancel_order: Provided[CancelOrder],
    ) -> OrderResponse:
        order = await cancel_order.execute(_access(request.user, order_id))
        return order_response(order)


def _access(user: User, order_id: int) -> OrderAccess:
    return OrderAccess(
        order_id=order_id,
        user_id=user.id,
        is_superuser=user.is_superuser,
    )
