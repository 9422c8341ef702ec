"""SQL repositories of the ordering context: orders (an order and its lines come back in
one query, a page of them too) and the idempotency keys that make placing one safe to retry.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.columns import UtcDateTime
from adapters.sql.database import HotStatement, Transaction
from adapters.sql.repositories.order_lists import list_orders
from adapters.sql.rows import ORDER_COLUMNS, ORDER_LINE_COLUMNS, orders_from_rows
from adapters.sql.tables import idempotency_keys, order_lines, orders
from application.pagination import Slice
from application.ports.ordering import IdempotencyRecord, OrderQuery
from domain.errors import Conflict
from domain.orders import Order, OrderStatus, UserStats

_ZERO = Decimal("0.00")
_INSERT_ORDER = sa.insert(orders).returning(orders.c.id)
_INSERT_ORDER_LINES = sa.insert(order_lines)


def _insert_order_with_lines() -> sa.Insert:
    """PostgreSQL: the order and all its lines in one statement (one round trip).

    The order's INSERT is a data-modifying CTE; the lines arrive as parallel arrays,
    unnested together, and each takes the new order's id.
    """
    new_order = (
        sa.insert(orders)
        .values(
            user_id=sa.bindparam("user_id"),
            status=sa.bindparam("status"),
            total=sa.bindparam("total"),
            created_at=sa.bindparam("created_at"),
            updated_at=sa.bindparam("updated_at"),
        )
        .returning(orders.c.id)
        .cte("new_order")
    )
    lines = (
        sa.func.unnest(
            sa.bindparam("product_ids", type_=postgresql.ARRAY(sa.BigInteger)),
            sa.bindparam("positions", type_=postgresql.ARRAY(sa.SmallInteger)),
            sa.bindparam("product_names", type_=postgresql.ARRAY(sa.String)),
            sa.bindparam("unit_prices", type_=postgresql.ARRAY(sa.Numeric(10, 2))),
            sa.bindparam("quantities", type_=postgresql.ARRAY(sa.Integer)),
        )
        .table_valued("product_id", "position", "product_name", "unit_price", "quantity")
        .render_derived(name="line")
    )
    rows = sa.select(
        new_order.c.id,
        lines.c.product_id,
        lines.c.position,
        lines.c.product_name,
        lines.c.unit_price,
        lines.c.quantity,
    ).select_from(new_order.join(lines, sa.true()))
    return (
        sa.insert(order_lines)
        .from_select(
            ["order_id", "product_id", "position", "product_name", "unit_price", "quantity"],
            rows,
        )
        .returning(order_lines.c.order_id)
    )


_INSERT_ORDER_WITH_LINES = HotStatement(_insert_order_with_lines())
_SELECT_ORDER = (
    sa.select(*ORDER_COLUMNS, *ORDER_LINE_COLUMNS)
    .join_from(orders, order_lines, order_lines.c.order_id == orders.c.id)
    .where(orders.c.id == sa.bindparam("id"))
    .order_by(order_lines.c.position)
)
_CANCEL_ORDER = (
    sa.update(orders)
    .where(
        orders.c.id == sa.bindparam("order_id"),
        orders.c.status == OrderStatus.PLACED.value,
    )
    .values(status=OrderStatus.CANCELLED.value, updated_at=sa.bindparam("at", type_=UtcDateTime))
)
_STATS_FOR_USER = sa.select(sa.func.count(), sa.func.sum(orders.c.total)).where(
    orders.c.user_id == sa.bindparam("user_id"), orders.c.status == OrderStatus.PLACED.value
)


class SqlOrderRepository:
    """Orders and their lines in SQL; lines keep the position the customer gave them."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, order: Order) -> Order:
        values = {
            "user_id": order.user_id,
            "status": order.status.value,
            "total": order.total,
            "created_at": order.created_at,
            "updated_at": order.updated_at,
        }
        if self._tx.is_postgresql and order.lines:
            order_id = await self._add_in_one_statement(order, values)
        else:
            order_id = (await self._tx.execute(_INSERT_ORDER, values)).scalar_one()
            await self._add_lines(order_id, order)
        return Order(
            id=order_id,
            user_id=order.user_id,
            status=order.status,
            lines=order.lines,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )

    async def _add_in_one_statement(self, order: Order, values: dict[str, Any]) -> int:
        lines = order.lines
        rows = await self._tx.rows(
            _INSERT_ORDER_WITH_LINES,
            {
                **values,
                "product_ids": [line.product_id for line in lines],
                "positions": list(range(len(lines))),
                "product_names": [line.product_name for line in lines],
                "unit_prices": [line.unit_price for line in lines],
                "quantities": [line.quantity for line in lines],
            },
        )
        # One row per line, each carrying the new order's id (there is at least one line).
        return int(rows[0][0])

    async def _add_lines(self, order_id: int, order: Order) -> None:
        await self._tx.execute(
            _INSERT_ORDER_LINES,
            [
                {
                    "order_id": order_id,
                    "product_id": line.product_id,
                    "position": position,
                    "product_name": line.product_name,
                    "unit_price": line.unit_price,
                    "quantity": line.quantity,
                }
                for position, line in enumerate(order.lines)
            ],
        )

    async def get(self, order_id: int) -> Order | None:
        found = orders_from_rows(await self._tx.execute(_SELECT_ORDER, {"id": order_id}))
        return found[0] if found else None

    async def cancel(self, order_id: int, at: datetime) -> bool:
        result = await self._tx.execute(_CANCEL_ORDER, {"order_id": order_id, "at": at})
        return result.rowcount == 1

    async def list_page(self, query: OrderQuery) -> Slice[Order]:
        return await list_orders(self._tx, query)

    async def stats_for_user(self, user_id: int) -> UserStats:
        row = (await self._tx.execute(_STATS_FOR_USER, {"user_id": user_id})).one()
        return UserStats(order_count=row[0], total_spent=row[1] or _ZERO)


IDEMPOTENCY_KEY_USED = "Idempotency key already used"


_SELECT_IDEMPOTENCY_RECORD = sa.select(
    idempotency_keys.c.user_id,
    idempotency_keys.c.key,
    idempotency_keys.c.request_hash,
    idempotency_keys.c.order_id,
    idempotency_keys.c.created_at,
).where(
    idempotency_keys.c.user_id == sa.bindparam("user_id"),
    idempotency_keys.c.key == sa.bindparam("key"),
    idempotency_keys.c.created_at >= sa.bindparam("not_before", type_=UtcDateTime),
)


def _claim_statement(dialect: Any) -> Any:
    # An expired record is replaced in the same statement; a live one is left alone and
    # no row comes back, which is how a reused key shows (without aborting the transaction).
    statement = dialect.insert(idempotency_keys)
    return statement.on_conflict_do_update(
        index_elements=[idempotency_keys.c.user_id, idempotency_keys.c.key],
        set_={
            "request_hash": statement.excluded.request_hash,
            "order_id": statement.excluded.order_id,
            "created_at": statement.excluded.created_at,
        },
        where=idempotency_keys.c.created_at < sa.bindparam("not_before", type_=UtcDateTime),
    ).returning(idempotency_keys.c.user_id)


_CLAIM_IDEMPOTENCY_KEY = {True: _claim_statement(postgresql), False: _claim_statement(sqlite)}


class SqlIdempotencyKeyRepository:
    """Idempotency records in SQL, one per user and key."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, user_id: int, key: str, not_before: datetime) -> IdempotencyRecord | None:
        result = await self._tx.execute(
            _SELECT_IDEMPOTENCY_RECORD, {"user_id": user_id, "key": key, "not_before": not_before}
        )
        row = result.first()
        if row is None:
            return None
        return IdempotencyRecord(
            user_id=row.user_id,
            key=row.key,
            request_hash=row.request_hash,
            order_id=row.order_id,
            created_at=row.created_at,
        )

    async def claim(self, record: IdempotencyRecord, not_before: datetime) -> None:
        """Store ``record``; an existing one created before ``not_before`` is replaced."""
        result = await self._tx.execute(
            _CLAIM_IDEMPOTENCY_KEY[self._tx.is_postgresql],
            {
                "user_id": record.user_id,
                "key": record.key,
                "request_hash": record.request_hash,
                "order_id": record.order_id,
                "created_at": record.created_at,
                "not_before": not_before,
            },
        )
        if result.first() is None:
            raise Conflict(IDEMPOTENCY_KEY_USED)
