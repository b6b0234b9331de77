"""Packets as JSON, for people and test vectors, and back: the one home of the JSON form.

Bytes become hex, enums ``{"code", "name"}``, nested records objects, tuples lists.  Reading
follows each body's ``SCHEMA`` strictly (a missing or extra field, a mismatched enum, a wrong JSON
type raise ``ValueError``) to the wire values, which the wire's own checks then turn into the
body, so ``body_from_json`` inverts ``body_to_json`` exactly.  No I/O.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from protocol.errors import Malformed
from protocol.frame import Envelope, Packet, body_from_wire
from protocol.kinds import BODY_TYPES, Body, Kind, Record
from protocol.schema import Bin, Choice, ListOf, Spec, Struct, UInt, field_names

__all__ = [
    "body_from_json",
    "body_to_json",
    "body_wire_from_json",
    "envelope_to_json",
    "packet_to_json",
    "to_json",
]


# --------------------------------------------------------------------------- writing


def to_json(value: Any) -> Any:
    """The JSON form of a body, a nested reference, or a plain value (an int or None).

    Raises ``TypeError`` for anything a body cannot hold (a float, a string, a bool, ...).
    """
    if isinstance(value, IntEnum):
        return {"code": int(value), "name": value.name}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Record):
        return {name: to_json(getattr(value, name)) for name in field_names(type(value))}
    if value is None or (type(value) is int):
        return value
    raise TypeError(f"no JSON form for {type(value).__name__} {value!r}")


def body_to_json(body: Body) -> dict[str, Any]:
    """``body``'s fields as JSON: bytes as hex, enums ``{"code", "name"}``, structs as objects."""
    out: dict[str, Any] = to_json(body)
    return out


# --------------------------------------------------------------------------- reading


def body_from_json(kind: str | int, fields: dict[str, Any]) -> Body:
    """Rebuild a body of ``kind`` (name, any case, or number) from :func:`body_to_json`'s output.

    Strict: an unknown kind, a missing or extra field name, an enum whose name and code disagree,
    a value of the wrong JSON type, or a body the wire would refuse raises ``ValueError`` — so a
    schema change shows up as a failing vector.
    """
    cls = _body_type(kind)
    wire = body_wire_from_json(cls.KIND, fields)
    try:
        return body_from_wire(cls.KIND, wire)
    except Malformed as exc:
        raise ValueError(str(exc)) from None


def body_wire_from_json(kind: str | int, fields: dict[str, Any]) -> list[Any]:
    """The msgpack values of a body's fields (positions 4 onward) from its JSON form.

    Checks the JSON form (field names, JSON types, enum names against their codes) and raises
    ``ValueError``; the values themselves are the wire's to check (:func:`body_from_json`).
    """
    cls = _body_type(kind)
    return _struct_from_json(cls.__name__, field_names(cls), cls.SCHEMA, fields, optional=0)


def _body_type(kind: str | int) -> type[Body]:
    try:
        number = Kind[kind.upper()] if isinstance(kind, str) else Kind(kind)
    except (KeyError, ValueError):
        raise ValueError(f"{kind!r} is not a packet kind") from None
    return BODY_TYPES[number]


def _struct_from_json(
    label: str, names: tuple[str, ...], specs: tuple[Spec, ...], value: Any, optional: int
) -> list[Any]:
    if not isinstance(value, dict) or set(value) != set(names):
        raise ValueError(f"{label}: expected an object with fields {sorted(names)}, got {value!r}")
    out: list[Any] = []
    for position, (name, spec) in enumerate(zip(names, specs, strict=True)):
        item = value[name]
        if item is None and position >= len(names) - optional:
            break  # an absent optional field ends the array on the wire
        out.append(_from_json(f"{label}.{name}", spec, item))
    return out


def _from_json(label: str, spec: Spec, value: Any) -> Any:
    """The msgpack value of a JSON field of ``spec``."""
    if isinstance(spec, Choice):
        if not isinstance(value, dict) or set(value) != {"code", "name"}:
            raise ValueError(f"{label}: expected {{code, name}}, got {value!r}")
        code = value["code"]
        member = spec.table.get(code) if type(code) is int else None
        if member is None or member.name != value["name"]:
            raise ValueError(f"{label}: {value!r} is not a {spec.name}")
        return int(member)
    if isinstance(spec, UInt):
        if type(value) is not int:
            raise ValueError(f"{label}: expected an integer, got {value!r}")
        return value
    if isinstance(spec, Bin):
        if not isinstance(value, str):
            raise ValueError(f"{label}: expected a hex string, got {value!r}")
        return bytes.fromhex(value)
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise ValueError(f"{label}: expected a list, got {value!r}")
        return [_from_json(f"{label}[{i}]", spec.item, v) for i, v in enumerate(value)]
    if isinstance(spec, Struct):
        return _struct_from_json(label, spec.names, spec.specs, value, spec.optional)
    raise TypeError(f"{label}: no JSON reader for spec {type(spec).__name__}")


# --------------------------------------------------------------------------- envelopes


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
