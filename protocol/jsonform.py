"""Packets as JSON for people and for test vectors, and back.

Bytes become lower-case hex, enums ``{"code": n, "name": "..."}``, nested dataclasses objects with
their field names, tuples lists.  ``body_from_json`` inverts ``body_to_json`` exactly, so vectors
can be checked both ways.  No I/O.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import IntEnum
from typing import Any

from protocol.frame import Envelope, Packet
from protocol.kinds import BODY_TYPES, Body, Kind

__all__ = ["body_from_json", "body_to_json", "envelope_to_json", "packet_to_json", "to_json"]


def to_json(value: Any) -> Any:
    """The JSON form of a body, a nested reference, or a plain value."""
    if isinstance(value, IntEnum):
        return {"code": int(value), "name": value.name}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [to_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def body_to_json(body: Body) -> dict[str, Any]:
    """``body``'s fields as a JSON object."""
    out: dict[str, Any] = to_json(body)
    return out


def body_from_json(kind: str | int, fields: dict[str, Any]) -> Body:
    """Rebuild a body of ``kind`` (name or number) from :func:`body_to_json`'s output."""
    number = Kind[kind.upper()] if isinstance(kind, str) else Kind(kind)
    built: Body = _from_json(BODY_TYPES[number], fields)
    return built


def _from_json(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is tuple:
        (item_type, _) = typing.get_args(tp)
        return tuple(_from_json(item_type, item) for item in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [t for t in typing.get_args(tp) if t is not type(None)]
        return _from_json(inner, value)
    if isinstance(tp, type) and issubclass(tp, IntEnum):
        return tp(value["code"] if isinstance(value, dict) else value)
    if tp is bytes:
        return bytes.fromhex(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _from_json(hints[f.name], value[f.name]) for f in _fields(tp)})
    return value


def _fields(tp: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(tp)


def envelope_to_json(envelope: Envelope) -> dict[str, Any]:
    """The envelope identity of a frame: kind, sender, nonce, prev, h and full hash, TTL."""
    try:
        kind_name: str | None = Kind(envelope.kind).name.lower()
    except ValueError:
        kind_name = None
    return {
        "kind": kind_name if kind_name is not None else envelope.kind,
        "sender": envelope.sender.hex(),
        "nonce": envelope.nonce,
        "prev": envelope.prev.hex(),
        "h": envelope.h.hex(),
        "full_hash": envelope.full_hash.hex(),
        "ttl": envelope.ttl,
    }


def packet_to_json(envelope: Envelope, packet: Packet) -> dict[str, Any]:
    """A decoded packet with its envelope identity, for ``bitcraps packet decode``."""
    out = envelope_to_json(envelope)
    out["fields"] = body_to_json(packet.body)
    return out
