"""Stored events: what goes in comes back, with the trace context that rode along."""

from __future__ import annotations

from decimal import Decimal

from adapters.event_codec import decode_event, encode_event, traceparent_of
from domain.events import OrderPlaced

EVENT = OrderPlaced(
    order_id=7, user_id=3, lines=(("Red Shirt", 2, Decimal("39.98")),), total=Decimal("39.98")
)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_an_event_comes_back_equal_with_its_traceparent() -> None:
    kind, payload = encode_event(EVENT, TRACEPARENT)

    assert decode_event(kind, payload) == EVENT
    assert traceparent_of(payload) == TRACEPARENT
    assert '"total":"39.98"' in payload


def test_an_event_stored_without_a_trace_has_none() -> None:
    kind, payload = encode_event(EVENT)

    assert decode_event(kind, payload) == EVENT
    assert traceparent_of(payload) is None
    assert "traceparent" not in payload
