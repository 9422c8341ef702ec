"""In-memory twin of the transactional outbox."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.memory.store import InMemoryStore, Journal, OutboxRecord, by_id
from application.ports.notifications import OutboxMessage
from domain.events import account_of


class InMemoryOutboxRepository:
    """The outbox of an :class:`InMemoryStore`; events are kept as objects, not encoded."""

    def __init__(self, store: InMemoryStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    async def forget_user(self, user_id: int) -> int:
        doomed = [r.id for r in self._store.outbox.values() if account_of(r.event) == user_id]
        for message_id in doomed:
            self._journal.delete(self._store.outbox, message_id)
        return len(doomed)

    def _change(self, record: OutboxRecord, **changes: Any) -> None:
        changed = copy.copy(record)
        for name, value in changes.items():
            setattr(changed, name, value)
        self._journal.put(self._store.outbox, record.id, changed)

    def _pending(self, message_id: int) -> OutboxRecord | None:
        record = self._store.outbox.get(message_id)
        return record if record is not None and record.status == "pending" else None

    async def claim(self, limit: int, now: datetime, lease_until: datetime) -> list[OutboxMessage]:
        due = [
            record
            for record in sorted(self._store.outbox.values(), key=by_id)
            if record.status == "pending"
            and record.next_attempt_at <= now
            and (record.locked_until is None or record.locked_until <= now)
        ][:limit]
        for record in due:
            self._change(record, locked_until=lease_until)
        return [
            OutboxMessage(
                id=record.id,
                event=record.event,
                attempts=record.attempts,
                created_at=record.created_at,
                traceparent=record.traceparent,
            )
            for record in due
        ]

    async def mark_delivered(self, message_id: int, at: datetime) -> None:
        record = self._store.outbox.get(message_id)
        if record is not None:
            self._change(record, status="delivered", delivered_at=at, locked_until=None)

    async def retry_later(self, message_id: int, error: str, not_before: datetime) -> None:
        record = self._pending(message_id)
        if record is not None:
            self._change(
                record,
                attempts=record.attempts + 1,
                last_error=error,
                next_attempt_at=not_before,
                locked_until=None,
            )

    async def mark_failed(self, message_id: int, error: str, at: datetime) -> None:
        record = self._pending(message_id)
        if record is not None:
            self._change(
                record,
                status="failed",
                attempts=record.attempts + 1,
                last_error=error,
                failed_at=at,
                locked_until=None,
            )

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give leased messages back without counting an attempt (a dispatcher stopping)."""
        for message_id in message_ids:
            record = self._pending(message_id)
            if record is not None:
                self._change(record, locked_until=None)

    async def purge_delivered(self, before: datetime) -> int:
        doomed = [
            record.id
            for record in self._store.outbox.values()
            if record.status == "delivered"
            and record.delivered_at is not None
            and record.delivered_at < before
        ]
        for message_id in doomed:
            self._journal.delete(self._store.outbox, message_id)
        return len(doomed)

    async def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "delivered", "failed"), 0)
        for record in self._store.outbox.values():
            counts[record.status] += 1
        return counts
