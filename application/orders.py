"""Orders: placing them without ever overselling, cancelling, and reading them back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from application.ports.catalogue import ReservedStock
from application.ports.common import Clock, UnitOfWork, UnitOfWorkFactory
from application.ports.ordering import IdempotencyRecord
from domain.errors import Conflict, InsufficientStock, InvalidInput, NotFound, PermissionDenied
from domain.events import OrderCancelled, OrderPlaced
from domain.ids import NEW_ID
from domain.orders import (
    Order,
    OrderLine,
    OrderRequestLine,
    OrderStatus,
    check_order_request,
)

IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PlaceOrderCommand:
    user_id: int
    lines: tuple[OrderRequestLine, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    replayed: bool
    """True when an earlier request with the same idempotency key placed it."""


def request_fingerprint(lines: tuple[OrderRequestLine, ...]) -> str:
    canonical = json.dumps([[line.product_id, line.quantity] for line in lines])
    return hashlib.sha256(canonical.encode()).hexdigest()


class PlaceOrder:
    """Place an order in one transaction, taking stock line by line with conditional updates.

    Stock is taken in ascending product id, so concurrent multi-line orders lock rows
    in the same order and cannot deadlock. If any line cannot be served, the whole
    transaction rolls back and nothing changes. An idempotency key makes retries
    safe: the same key and body return the first order; another body is a conflict.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, *, require_verified_email: bool = False
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._require_verified_email = require_verified_email

    async def execute(self, command: PlaceOrderCommand) -> PlacedOrder:
        check_order_request(command.lines)
        key = command.idempotency_key
        if key is None:
            async with self._uow() as uow:
                order = await self._place(uow, command)
                await uow.commit()
            return PlacedOrder(order=order, replayed=False)
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
                field="header.Idempotency-Key",
            )
        return await self._execute_once(command, key)

    async def _execute_once(self, command: PlaceOrderCommand, key: str) -> PlacedOrder:
        """The first request with ``key`` places the order; its retries get that order back."""
        fingerprint = request_fingerprint(command.lines)
        try:
            async with self._uow() as uow:
                replay = await self._replay(uow, command.user_id, key, fingerprint)
                if replay is not None:
                    return replay
                order = await self._place(uow, command)
                await uow.idempotency_keys.claim(
                    IdempotencyRecord(
                        user_id=command.user_id,
                        key=key,
                        request_hash=fingerprint,
                        order_id=order.id,
                        created_at=order.created_at,
                    ),
                    not_before=order.created_at - IDEMPOTENCY_KEY_TTL,
                )
                await uow.commit()
                return PlacedOrder(order=order, replayed=False)
        except Conflict:
            # A concurrent request with the same key may have won the race (and perhaps
            # the stock): its order is the answer to this retry too.
            async with self._uow() as uow:
                replay = await self._replay(uow, command.user_id, key, fingerprint)
            if replay is None:
                raise
            return replay

    async def _replay(
        self, uow: UnitOfWork, user_id: int, key: str, fingerprint: str
    ) -> PlacedOrder | None:
        record = await uow.idempotency_keys.get(
            user_id, key, not_before=self._clock.now() - IDEMPOTENCY_KEY_TTL
        )
        if record is None:
            return None
        if record.request_hash != fingerprint:
            raise Conflict("This Idempotency-Key was already used with another request body")
        order = await uow.orders.get(record.order_id)
        if order is None:  # pragma: no cover - the key and the order commit together
            raise NotFound(f"Order {record.order_id} not found")
        return PlacedOrder(order=order, replayed=True)

    async def _place(self, uow: UnitOfWork, command: PlaceOrderCommand) -> Order:
        if self._require_verified_email:
            # Read in the order's transaction, before any stock is taken.
            user = await uow.users.get(command.user_id)
            if user is None or not user.is_verified:
                raise PermissionDenied("Verify your e-mail address before placing an order")
        now = self._clock.now()
        reserved: dict[int, ReservedStock] = {}
        for line in sorted(command.lines, key=lambda line: line.product_id):
            taken = await uow.products.reserve_stock(line.product_id, line.quantity, now)
            if taken is None:
                await self._refuse(uow, command, line)
            else:
                reserved[line.product_id] = taken
        order = await uow.orders.add(
            Order(
                id=NEW_ID,
                user_id=command.user_id,
                status=OrderStatus.PLACED,
                lines=tuple(
                    OrderLine(
                        product_id=line.product_id,
                        product_name=reserved[line.product_id].name,
                        unit_price=reserved[line.product_id].price,
                        quantity=line.quantity,
                    )
                    for line in command.lines
                ),
                created_at=now,
                updated_at=now,
            )
        )
        uow.record(
            OrderPlaced(
                order_id=order.id,
                user_id=order.user_id,
                lines=tuple((ln.product_name, ln.quantity, ln.line_total) for ln in order.lines),
                total=order.total,
            )
        )
        return order

    @staticmethod
    async def _refuse(
        uow: UnitOfWork, command: PlaceOrderCommand, failed: OrderRequestLine
    ) -> NoReturn:
        """Say why a line could not be served: an unknown product anywhere in the request
        is invalid input (checked first, as a client error), otherwise the stock ran out.

        Only this failure path reads the products; a served order never does."""
        wanted = [line.product_id for line in command.lines]
        products = await uow.products.get_many(wanted)
        for index, product_id in enumerate(wanted):
            if product_id not in products:
                raise InvalidInput(
                    f"Product {product_id} does not exist",
                    field=f"items[{index}].product_id",
                )
        raise InsufficientStock(failed.product_id, failed.quantity)


@dataclass(frozen=True, slots=True)
class OrderAccess:
    """Who asks for an order: customers see their own, superusers see every order."""

    order_id: int
    user_id: int
    is_superuser: bool = False


async def load_visible_order(uow: UnitOfWork, access: OrderAccess) -> Order:
    order = await uow.orders.get(access.order_id)
    # Someone else's order is "not found", not "forbidden": its existence is private.
    if order is None or (order.user_id != access.user_id and not access.is_superuser):
        raise NotFound(f"Order {access.order_id} not found")
    return order


class CancelOrder:
    """Cancel a placed order and give its stock back, atomically."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, access: OrderAccess) -> Order:
        now = self._clock.now()
        async with self._uow() as uow:
            order = await load_visible_order(uow, access)
            order.cancel(now)
            if not await uow.orders.cancel(order.id, now):
                raise Conflict(f"Order {order.id} is already cancelled")
            for line in sorted(order.lines, key=lambda line: line.product_id):
                await uow.products.release_stock(line.product_id, line.quantity, now)
            uow.record(OrderCancelled(order_id=order.id, user_id=order.user_id, total=order.total))
            await uow.commit()
        return order


class GetOrder:
    """One order, if the caller may see it."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, access: OrderAccess) -> Order:
        async with self._uow() as uow:
            return await load_visible_order(uow, access)
