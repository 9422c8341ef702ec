"""Domain events as stored text: a kind (the class name) and a JSON payload.

Money travels as a decimal string (``"19.99"``), never a float, and tuples come back
as tuples, so a decoded event equals the one that was recorded. Decoding is strict:
a payload that does not fit its kind raises :class:`UnknownEvent` rather than
producing half an event.
"""

from __future__ import annotations

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

KINDS = frozenset(_EVENT_TYPES)
"""Every kind this code can decode."""


class UnknownEvent(ValueError):
    """A stored event this code cannot read: an unknown kind or a payload that does not fit."""


def encode_event(event: DomainEvent) -> tuple[str, str]:
    """``(kind, payload)`` for storage."""
    kind = type(event).__name__
    if kind not in _EVENT_TYPES:
        raise TypeError(f"{kind} is not a domain event")
    return kind, _ENCODER.encode(event).decode()


def decode_event(kind: str, payload: str | bytes) -> DomainEvent:
    """The event stored as ``kind`` and ``payload`` by :func:`encode_event`."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnknownEvent(f"Unknown event kind {kind!r}")
    try:
        return decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise UnknownEvent(f"Malformed {kind} payload: {error}") from error


__all__ = ["KINDS", "UnknownEvent", "decode_event", "encode_event"]
