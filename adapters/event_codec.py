"""Domain events as stored text: a kind (the class name) and a JSON payload.

Money travels as a decimal string (``"19.99"``), never a float, and tuples come back
as tuples, so a decoded event equals the one that was recorded. Decoding is strict:
a payload that does not fit its kind raises :class:`UnknownEvent` rather than
producing half an event.
"""

from __future__ import annotations

import dataclasses
import typing

import msgspec

from domain.events import DomainEvent

_EVENT_TYPES: dict[str, type[DomainEvent]] = {
    event_type.__name__: event_type for event_type in typing.get_args(DomainEvent)
}
_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODERS: dict[str, msgspec.json.Decoder[DomainEvent]] = {
    kind: msgspec.json.Decoder(event_type) for kind, event_type in _EVENT_TYPES.items()
}

# Event decoders ignore fields they do not know, such as this one.
_TRACEPARENT = "_traceparent"


class _Trace(msgspec.Struct):
    traceparent: str | None = msgspec.field(default=None, name=_TRACEPARENT)


_TRACE_DECODER = msgspec.json.Decoder(_Trace)

KINDS = frozenset(_EVENT_TYPES)
"""Every kind this code can decode."""


class UnknownEvent(ValueError):
    """A stored event this code cannot read: an unknown kind or a payload that does not fit."""


def encode_event(event: DomainEvent, traceparent: str | None = None) -> tuple[str, str]:
    """``(kind, payload)`` for storage; a ``traceparent`` rides along in the payload."""
    kind = type(event).__name__
    if kind not in _EVENT_TYPES:
        raise TypeError(f"{kind} is not a domain event")
    if traceparent is None:
        return kind, _ENCODER.encode(event).decode()
    fields: dict[str, object] = {
        field.name: getattr(event, field.name) for field in dataclasses.fields(event)
    }
    fields[_TRACEPARENT] = traceparent
    return kind, _ENCODER.encode(fields).decode()


def traceparent_of(payload: str | bytes) -> str | None:
    """The ``traceparent`` stored with an event by :func:`encode_event`, if any."""
    try:
        return _TRACE_DECODER.decode(payload).traceparent
    except msgspec.DecodeError:
        return None


def decode_event(kind: str, payload: str | bytes) -> DomainEvent:
    """The event stored as ``kind`` and ``payload`` by :func:`encode_event`."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnknownEvent(f"Unknown event kind {kind!r}")
    try:
        return decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise UnknownEvent(f"Malformed {kind} payload: {error}") from error


__all__ = ["KINDS", "UnknownEvent", "decode_event", "encode_event", "traceparent_of"]
