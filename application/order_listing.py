"""Lists of orders: a customer's own, and an operator's view of any customer's or all.

The list is always newest first. A keyset cursor belongs to the list it came from:
its sort key names the customer (or "all") and the status filter, so a cursor
presented with other filters is refused (422) instead of silently paging another list.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.pagination import KeysetPosition, Page, page_from_slice, page_request
from application.ports.common import UnitOfWorkFactory
from application.ports.ordering import OrderQuery
from domain.errors import InvalidInput, PermissionDenied
from domain.ids import MAX_ID
from domain.orders import Order, OrderStatus


@dataclass(frozen=True, slots=True)
class ListOrdersCommand:
    user_id: int
    """The caller."""
    is_superuser: bool = False
    skip: int = 0
    limit: int = 20
    after: str | None = None
    status: str | None = None
    """``placed`` or ``cancelled``; None: both."""
    of_user: int | None = None
    """Superusers only: that customer's orders instead of the caller's."""
    every_user: bool = False
    """Superusers only: every customer's orders."""


def order_position(order: Order) -> KeysetPosition:
    return KeysetPosition(value=None, id=order.id)


def _status(text: str | None) -> OrderStatus | None:
    if text is None:
        return None
    try:
        return OrderStatus(text)
    except ValueError:
        allowed = " or ".join(status.value for status in OrderStatus)
        raise InvalidInput(f"status must be {allowed}", field="query.status") from None


def _list_key(user_id: int | None, status: OrderStatus | None) -> str:
    """The cursor's sort key: the order (newest first) and the filters it holds for."""
    whose = "all" if user_id is None else f"user:{user_id}"
    return f"-id;{whose};status:{status.value if status else '*'}"


class ListOrders:
    """The caller's orders, newest first; a superuser may list one customer's or everyone's.

    Only superusers may name another customer (``of_user``) or ask for every order
    (``every_user``); anyone else asking is refused (403), even for their own id.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: ListOrdersCommand) -> Page[Order]:
        if (command.of_user is not None or command.every_user) and not command.is_superuser:
            raise PermissionDenied("Only superusers may list other customers' orders")
        if command.of_user is not None and command.every_user:
            raise InvalidInput("user_id and all=true exclude each other", field="query.user_id")
        if command.of_user is not None and not 1 <= command.of_user <= MAX_ID:
            raise InvalidInput(f"user_id must be 1 to {MAX_ID}", field="query.user_id")
        status = _status(command.status)
        user_id: int | None = command.user_id if command.of_user is None else command.of_user
        if command.every_user:
            user_id = None
        key = _list_key(user_id, status)
        page = page_request(command.skip, command.limit, command.after, key)
        async with self._uow() as uow:
            found = await uow.orders.list_page(
                OrderQuery(page=page, user_id=user_id, status=status)
            )
        return page_from_slice(found, page, key, order_position)
