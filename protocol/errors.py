"""Typed errors for everything that enters a node as bytes.

Every fault a peer's bytes can have is a subclass of :class:`PacketError`, split exactly at the
envelope boundary of the protocol (docs/PROTOCOL.md, "Error classes"):

* :class:`Rejected` — the frame cannot be attributed to its sender (envelope fault, wrong
  network, oversize, bad signature, forbidden sender, a broken fragment).  Nothing is logged,
  the nonce is not consumed, and the neighbour that sent it is penalised.
* :class:`Malformed` — a body fault under a valid signature: the packet is logged and judged
  Refused(malformed), and it consumes its nonce.

Each class has a stable numeric ``code`` (never renumbered; it appears in logs, metrics and the
vectors).  Our own misuse of the API raises ordinary ``ValueError``/``TypeError`` instead.
"""

from __future__ import annotations

from typing import ClassVar


class PacketError(Exception):
    """Base class of every error caused by bytes that came from outside."""

    code: ClassVar[int] = 0
    verdict: ClassVar[str] = "rejected"


# --------------------------------------------------------------------------- rejected


class Rejected(PacketError):
    """The frame cannot be attributed to its sender: drop it, penalise the neighbour."""

    verdict: ClassVar[str] = "rejected"


class Oversize(Rejected):
    """More bytes than the protocol allows (a frame over 1,200 bytes)."""

    code = 1


class Truncated(Rejected):
    """Fewer bytes than the smallest valid frame, or a msgpack value cut short."""

    code = 2


class UnknownVersion(Rejected):
    """The version byte is not one this implementation speaks."""

    code = 3


class WrongNetwork(Rejected):
    """The 4-byte network prefix names another network."""

    code = 4


class NotMsgpack(Rejected):
    """The body is not one valid msgpack value (reserved byte, or no value at all)."""

    code = 5


class TrailingBytes(Rejected):
    """Bytes follow the body's single msgpack value."""

    code = 6


class EnvelopeNotCanonical(Rejected):
    """The body's array header or a field at positions 0-3 is not in shortest encoding."""

    code = 7


class EnvelopeType(Rejected):
    """The body is not an array of at least four values, or positions 0-3 have the wrong type."""

    code = 8


class EnvelopeRange(Rejected):
    """An envelope value is out of range: nonce 0, or ``prev`` zero exactly when it must not be."""

    code = 9


class BadSignature(Rejected):
    """The Ed25519 signature does not verify over the signed message."""

    code = 10


class ForbiddenSender(Rejected):
    """The sender is the treasury key or not a valid (e.g. small-order) Ed25519 point."""

    code = 11


class UnknownDatagram(Rejected):
    """A datagram whose first byte is neither a ledger frame nor a link message."""

    code = 12


class FragmentError(Rejected):
    """A BLE fragment is malformed or breaks the reassembly limits."""

    code = 13


class LinkError(Rejected):
    """A link message (first byte >= 0x80) that does not decode: the neighbour is penalised."""

    code = 14


# --------------------------------------------------------------------------- refused(malformed)


class Malformed(PacketError):
    """A body fault under a valid signature: logged, Refused(malformed), the nonce is consumed."""

    verdict: ClassVar[str] = "refused"


class UnknownKind(Malformed):
    """The kind byte is a u8 but names no packet kind of this protocol version."""

    code = 32


class FieldCount(Malformed):
    """The body array has the wrong number of fields for its kind."""

    code = 33


class FieldType(Malformed):
    """A field has a msgpack type no field takes (ext, float, map, str, nil or bool)."""

    code = 34


class FieldRange(Malformed):
    """A field has the right type but a value outside its range or list limits."""

    code = 35


class FieldNotCanonical(Malformed):
    """A field after position 3 is not in shortest msgpack encoding."""

    code = 36


ALL_ERRORS: tuple[type[PacketError], ...] = (
    Oversize,
    Truncated,
    UnknownVersion,
    WrongNetwork,
    NotMsgpack,
    TrailingBytes,
    EnvelopeNotCanonical,
    EnvelopeType,
    EnvelopeRange,
    BadSignature,
    ForbiddenSender,
    UnknownDatagram,
    FragmentError,
    LinkError,
    UnknownKind,
    FieldCount,
    FieldType,
    FieldRange,
    FieldNotCanonical,
)
"""Every concrete error class; each has a test that produces it from bytes."""
