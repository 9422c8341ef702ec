"""Lists of orders in SQL, newest first: one customer's or everyone's, by status or not."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from adapters.sql.database import Transaction
from adapters.sql.rows import ORDER_COLUMNS, ORDER_LINE_COLUMNS, orders_from_rows
from adapters.sql.tables import order_lines, orders
from application.pagination import Slice
from application.ports.ordering import OrderQuery
from domain.orders import Order


def _list_filters(by_user: bool, by_status: bool) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = []
    if by_user:
        filters.append(orders.c.user_id == sa.bindparam("user_id"))
    if by_status:
        filters.append(orders.c.status == sa.bindparam("status"))
    return filters


@functools.cache
def _count_statement(by_user: bool, by_status: bool) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(orders).where(*_list_filters(by_user, by_status))


@functools.cache
def _page_statement(by_user: bool, by_status: bool, keyset: bool) -> sa.Select[Any]:
    """One shape of order list, built and compiled once.

    The page of orders is cut first (limit + 1 of them), then joined to its lines, and
    the list's total rides along as a scalar subquery: one round trip. Each shape has
    an index that gives the rows newest first: ``(user_id, id)``, ``(user_id, status,
    id)``, ``(status, id)``, or the primary key for every order.
    """
    filters = _list_filters(by_user, by_status)
    if keyset:
        filters.append(orders.c.id < sa.bindparam("after_id", type_=sa.BigInteger))
    chosen = (
        sa.select(*ORDER_COLUMNS)
        .where(*filters)
        .order_by(orders.c.id.desc())
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
        .subquery("page")
    )
    total = _count_statement(by_user, by_status).scalar_subquery().label("total_count")
    return (
        sa.select(chosen, *ORDER_LINE_COLUMNS, total)
        .join_from(chosen, order_lines, order_lines.c.order_id == chosen.c.id)
        .order_by(chosen.c.id.desc(), order_lines.c.position)
    )


async def list_orders(tx: Transaction, query: OrderQuery) -> Slice[Order]:
    """The page of orders ``query`` selects, newest first, with its total."""
    page = query.page
    by_user, by_status = query.user_id is not None, query.status is not None
    params: dict[str, Any] = {"limit": page.limit + 1}
    if by_user:
        params["user_id"] = query.user_id
    if query.status is not None:
        params["status"] = query.status.value
    if page.after is not None:
        params["after_id"] = page.after.id
        params["offset"] = 0
    else:
        params["offset"] = page.skip
    statement = _page_statement(by_user, by_status, page.after is not None)
    rows = (await tx.execute(statement, params)).all()
    if rows:
        total = rows[0].total_count
    elif page.after is None and page.skip == 0:
        total = 0
    else:
        count = _count_statement(by_user, by_status)
        total = (await tx.execute(count, params)).scalar_one()
    found = orders_from_rows(rows)
    return Slice(items=found[: page.limit], total=total, has_more=len(found) > page.limit)
