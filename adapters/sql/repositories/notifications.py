"""The outbox in SQL: events appended by the unit of work, claimed and settled by dispatchers.

A claim is one ``UPDATE ... RETURNING`` that leases the oldest due messages. On
PostgreSQL its subquery locks them ``FOR UPDATE SKIP LOCKED``, so concurrent
dispatchers take disjoint batches without waiting for each other; a row another
dispatcher leased and committed no longer matches ``locked_until <= now`` when it is
re-checked. SQLite serialises writers (``BEGIN IMMEDIATE``), which gives the same result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.event_codec import UnknownEvent, decode_event, encode_event, traceparent_of
from adapters.sql.columns import UtcDateTime
from adapters.sql.database import HotStatement, Transaction
from adapters.sql.tables import outbox
from adapters.trace_context import current_traceparent
from application.ports.notifications import OutboxMessage
from domain.events import DomainEvent, account_of

logger = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

_NOW = sa.bindparam("now", type_=UtcDateTime)
_AT = sa.bindparam("at", type_=UtcDateTime)
_ID = outbox.c.id == sa.bindparam("message_id")
_IS_PENDING = outbox.c.status == PENDING

# The columns outbox_row fills, in its order: the single-row insert binds exactly these.
_ROW_COLUMNS = ("kind", "payload", "status", "attempts", "next_attempt_at", "created_at", "user_id")
# One event per order placed: on the driver like the order itself (ADR 0013).
_INSERT_ONE = HotStatement(
    sa.insert(outbox)
    .values({name: sa.bindparam(name, type_=outbox.c[name].type) for name in _ROW_COLUMNS})
    # Both paths then return rows (the driver's always does: an implicit RETURNING id).
    .returning(outbox.c.id)
)
_FORGET_USER = sa.delete(outbox).where(outbox.c.user_id == sa.bindparam("owner"))
# Far below the bound-parameter limits of both databases (6 parameters a row).
_ROWS_PER_INSERT = 1000


def _claim_statement(*, skip_locked: bool) -> sa.Update:
    # An alias keeps the subquery from being correlated with the table being updated.
    due = outbox.alias("due")
    chosen = (
        sa.select(due.c.id)
        .where(
            due.c.status == PENDING,
            due.c.next_attempt_at <= _NOW,
            sa.or_(due.c.locked_until.is_(None), due.c.locked_until <= _NOW),
        )
        .order_by(due.c.id)
        .limit(sa.bindparam("limit"))
    )
    if skip_locked:
        chosen = chosen.with_for_update(skip_locked=True)
    return (
        sa.update(outbox)
        .where(outbox.c.id.in_(chosen.scalar_subquery()))
        .values(locked_until=sa.bindparam("lease_until", type_=UtcDateTime))
        .returning(
            outbox.c.id,
            outbox.c.kind,
            outbox.c.payload,
            outbox.c.attempts,
            outbox.c.created_at,
        )
    )


_CLAIM = {True: _claim_statement(skip_locked=True), False: _claim_statement(skip_locked=False)}
_MARK_DELIVERED = (
    sa.update(outbox).where(_ID).values(status=DELIVERED, delivered_at=_AT, locked_until=None)
)
# A message settled by another dispatcher (its lease ran out meanwhile) stays settled:
# only a pending message can be deferred or parked.
_RETRY_LATER = (
    sa.update(outbox)
    .where(_ID, _IS_PENDING)
    .values(
        attempts=outbox.c.attempts + 1,
        last_error=sa.bindparam("error"),
        next_attempt_at=sa.bindparam("not_before", type_=UtcDateTime),
        locked_until=None,
    )
)
_MARK_FAILED = (
    sa.update(outbox)
    .where(_ID, _IS_PENDING)
    .values(
        status=FAILED,
        attempts=outbox.c.attempts + 1,
        last_error=sa.bindparam("error"),
        failed_at=_AT,
        locked_until=None,
    )
)
_RELEASE = (
    sa.update(outbox)
    .where(outbox.c.id.in_(sa.bindparam("message_ids", expanding=True)), _IS_PENDING)
    .values(locked_until=None)
)
_PURGE_DELIVERED = sa.delete(outbox).where(
    outbox.c.status == DELIVERED, outbox.c.delivered_at < sa.bindparam("before", type_=UtcDateTime)
)
_COUNT_BY_STATUS = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)


def outbox_row(event: DomainEvent, now: datetime, traceparent: str | None = None) -> dict[str, Any]:
    """The row of a newly recorded event: pending and due at once."""
    kind, payload = encode_event(event, traceparent)
    values = (kind, payload, PENDING, 0, now, now, account_of(event))
    return dict(zip(_ROW_COLUMNS, values, strict=True))


class SqlOutboxRepository:
    """The ``outbox`` table: appended to on commit, leased and settled by dispatchers."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def append(self, events: Sequence[DomainEvent], now: datetime) -> None:
        """Write recorded events in one statement, oldest first (ids follow that order)."""
        traceparent = current_traceparent()
        if len(events) == 1:
            await self._tx.rows(_INSERT_ONE, outbox_row(events[0], now, traceparent))
            return
        for start in range(0, len(events), _ROWS_PER_INSERT):
            chunk = events[start : start + _ROWS_PER_INSERT]
            await self._tx.execute(
                sa.insert(outbox).values([outbox_row(event, now, traceparent) for event in chunk])
            )

    async def forget_user(self, user_id: int) -> int:
        result = await self._tx.execute(_FORGET_USER, {"owner": user_id})
        return result.rowcount

    async def claim(self, limit: int, now: datetime, lease_until: datetime) -> list[OutboxMessage]:
        result = await self._tx.execute(
            _CLAIM[self._tx.is_postgresql],
            {"limit": limit, "now": now, "lease_until": lease_until},
        )
        messages: list[OutboxMessage] = []
        for row in sorted(result.all(), key=lambda row: row.id):
            try:
                event = decode_event(row.kind, row.payload)
            except UnknownEvent:
                # Perhaps written by a newer release: leave it leased, so that it is
                # offered again once the lease runs out, maybe to a dispatcher that
                # can read it. Nothing is lost, and the log says why it waits.
                logger.exception("Outbox message %s cannot be read; it stays pending", row.id)
                continue
            messages.append(
                OutboxMessage(
                    id=row.id,
                    event=event,
                    attempts=row.attempts,
                    created_at=row.created_at,
                    traceparent=traceparent_of(row.payload),
                )
            )
        return messages

    async def mark_delivered(self, message_id: int, at: datetime) -> None:
        await self._tx.execute(_MARK_DELIVERED, {"message_id": message_id, "at": at})

    async def retry_later(self, message_id: int, error: str, not_before: datetime) -> None:
        await self._tx.execute(
            _RETRY_LATER, {"message_id": message_id, "error": error, "not_before": not_before}
        )

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        await self._tx.execute(_MARK_FAILED, {"message_id": message_id, "error": error, "at": at})

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give leased messages back without counting an attempt (a dispatcher stopping)."""
        if message_ids:
            await self._tx.execute(_RELEASE, {"message_ids": list(message_ids)})

    async def purge_delivered(self, before: datetime) -> int:
        result = await self._tx.execute(_PURGE_DELIVERED, {"before": before})
        return result.rowcount

    async def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in (await self._tx.execute(_COUNT_BY_STATUS)).all():
            counts[status] = count
        return counts


__all__ = ["DELIVERED", "FAILED", "PENDING", "STATUSES", "SqlOutboxRepository", "outbox_row"]
