"""Ledger frames: the envelope, signing and verification, and the full decode.

``frame = version u8 ‖ ttl u8 ‖ network prefix (4 B) ‖ body ‖ signature (64 B)``; the body is a
msgpack array ``[kind, sender, nonce, prev, …fields]``.  Decoding is split exactly where the
protocol splits its verdicts: :meth:`FrameCodec.open` checks the envelope and raises
:class:`~protocol.errors.Rejected`; :meth:`FrameCodec.verify` checks the signature; then
:func:`decode_body` checks the fields and raises :class:`~protocol.errors.Malformed`.  The
signature always covers the body bytes exactly as received; nothing is re-encoded before verifying.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

import nacl.bindings
import nacl.exceptions
import nacl.signing

from protocol.checkers import CHECKERS
from protocol.constants import (
    FULL_HASH_LEN,
    HASH_LEN,
    HEADER_LEN,
    LEDGER_MARKER,
    LEDGER_TTL,
    LINK_MARKER_MIN,
    MAX_FRAME,
    MAX_NONCE,
    PREFIX_LEN,
    PUBLIC_KEY_LEN,
    SIGN_DOMAIN,
    SIGNATURE_LEN,
    SINK_KEY,
    TREASURY_KEY,
    VERSION,
    ZERO_PREV,
)
from protocol.errors import (
    BadSignature,
    EnvelopeNotCanonical,
    EnvelopeRange,
    EnvelopeType,
    ForbiddenSender,
    Malformed,
    Oversize,
    PacketError,
    Truncated,
    UnknownDatagram,
    UnknownKind,
    UnknownVersion,
    WrongNetwork,
)
from protocol.hashing import sha256
from protocol.kinds import Body, Kind, body_to_wire
from protocol.wire import NotShortest, Value, pack, parse_body

try:  # libsodium through PyNaCl's own cffi module, without its per-call wrapper (signatures_valid)
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib

    _sign_open = _lib.crypto_sign_open
except (ImportError, AttributeError):  # pragma: no cover - a PyNaCl without that layout
    _ffi = None
    _sign_open = None

__all__ = [
    "MIN_FRAME",
    "Envelope",
    "FrameCodec",
    "Packet",
    "bad_signature",
    "body_from_wire",
    "classify_datagram",
    "decode_body",
    "encode_body",
    "full_hash_of",
    "is_acceptable_sender",
    "signatures_valid",
]

MIN_BODY: Final = 1 + 1 + (2 + PUBLIC_KEY_LEN) + 1 + (2 + HASH_LEN)
"""Smallest body with a valid envelope: fixarray, kind, sender, nonce, prev."""
MIN_FRAME: Final = HEADER_LEN + MIN_BODY + SIGNATURE_LEN


class Packet:
    """A decoded ledger packet: the envelope identity and a typed body.  Immutable (``Final``
    attributes, checked by mypy); equal and hashed by value.

    Packet and Envelope are plain slotted classes rather than dataclasses: compiled by mypyc
    (docs/BUILD.md), a dataclass still runs its interpreted generated ``__init__``, which
    costs a microsecond per packet here.
    """

    __slots__ = ("body", "nonce", "prev", "sender")

    def __init__(self, sender: bytes, nonce: int, prev: bytes, body: Body) -> None:
        self.sender: Final = sender
        self.nonce: Final = nonce
        self.prev: Final = prev
        self.body: Final = body

    @property
    def kind(self) -> Kind:
        return self.body.KIND

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Packet) and (
            (self.sender, self.nonce, self.prev, self.body)
            == (other.sender, other.nonce, other.prev, other.body)
        )

    def __hash__(self) -> int:
        return hash((self.sender, self.nonce, self.prev, self.body))

    def __repr__(self) -> str:
        return (
            f"Packet(sender={self.sender!r}, nonce={self.nonce}, prev={self.prev!r}, "
            f"body={self.body!r})"
        )


class Envelope:
    """A frame whose envelope is valid; its signature is not yet verified.

    Read-only by convention (built once per received frame, on the hot path).

    ``full_hash`` is SHA-256 of the signed message, the local identity of the packet (with
    sender and nonce); ``h`` is its first 8 bytes, the wire reference.  ``values`` is the whole
    body array as :func:`~protocol.wire.parse_body` reads it (kind, sender, nonce, prev, then
    the fields, foreign and non-shortest values marked); :func:`decode_body` checks the fields.
    """

    __slots__ = (
        "body",
        "full_hash",
        "kind",
        "nonce",
        "prev",
        "raw",
        "sender",
        "signature",
        "signed",
        "ttl",
        "values",
    )

    def __init__(
        self,
        ttl: int,
        kind: int,
        sender: bytes,
        nonce: int,
        prev: bytes,
        body: bytes,
        signature: bytes,
        values: list[Value],
        signed: bytes,
        full_hash: bytes,
        raw: bytes | None = None,
    ) -> None:
        self.ttl = ttl
        self.kind = kind
        self.sender = sender
        self.nonce = nonce
        self.prev = prev
        self.body = body
        self.signature = signature
        self.values = values
        self.signed = signed
        self.full_hash = full_hash
        self.raw = raw
        """The frame as received, when the codec kept it (else :meth:`frame` rebuilds it)."""

    def __repr__(self) -> str:
        return f"Envelope(kind={self.kind}, sender={self.sender.hex()[:8]}, nonce={self.nonce})"

    def _fields(self) -> tuple[object, ...]:
        return (
            self.ttl,
            self.kind,
            self.sender,
            self.nonce,
            self.prev,
            self.body,
            self.signature,
            self.values,
            self.signed,
            self.full_hash,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Envelope) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable by type, read-only by convention

    @property
    def h(self) -> bytes:
        return self.full_hash[:HASH_LEN]

    def frame(self, ttl: int | None = None) -> bytes:
        """The frame bytes (with the received TTL unless another is given)."""
        if ttl is None:
            ttl = self.ttl
        elif not 0 <= ttl <= 0xFF:
            raise ValueError(f"ttl {ttl} is not a u8")
        raw = self.raw
        if raw is not None:
            return raw if ttl == self.ttl else _HEADS[ttl] + raw[2:]
        prefix = self.signed[len(SIGN_DOMAIN) : len(SIGN_DOMAIN) + PREFIX_LEN]
        return _HEADS[ttl] + prefix + self.body + self.signature


def bad_signature(envelope: Envelope) -> BadSignature:
    """The error for an envelope whose signature does not verify."""
    return BadSignature(
        f"signature of ({envelope.sender.hex()[:8]}, {envelope.nonce}) does not verify"
    )


def signatures_valid(envelopes: Sequence[Envelope]) -> list[bool]:
    """For each envelope, whether its signature verifies: libsodium's ``crypto_sign_open`` (the
    call PyNaCl's ``VerifyKey.verify`` makes, so exactly its rules), made through PyNaCl's cffi
    module directly with one output buffer for the whole batch.  PyNaCl's wrapper allocates and
    copies out the message on every call, a few percent of a verification
    (``ledger_lean_vs_raw_verify``); without that module the wrapper is used.  ``nacl._sodium``
    is private to PyNaCl: tests/test_signatures.py fails the day it moves.
    """
    out: list[bool] = []
    if not envelopes:
        return out
    if _sign_open is None or _ffi is None:  # pragma: no cover - see the import
        for env in envelopes:
            try:
                nacl.bindings.crypto_sign_open(env.signature + env.signed, env.sender)
            except nacl.exceptions.BadSignatureError:
                out.append(False)
            else:
                out.append(True)
        return out
    size = 0
    for env in envelopes:
        size = max(size, len(env.signed))
    message = _ffi.new("unsigned char[]", size)
    message_len = _ffi.new("unsigned long long *")
    sign_open = _sign_open
    for env in envelopes:
        signed = env.signature + env.signed
        sender = env.sender
        if len(sender) != PUBLIC_KEY_LEN:  # libsodium reads exactly 32 bytes
            out.append(False)
            continue
        out.append(sign_open(message, message_len, signed, len(signed), sender) == 0)
    return out


_HEADS: Final = tuple(bytes((VERSION, ttl)) for ttl in range(256))
"""The first two frame bytes for each TTL."""


def full_hash_of(network_id: bytes, body: bytes) -> bytes:
    """SHA-256 of the signed message of ``body`` on network ``network_id``."""
    return hashlib.sha256(SIGN_DOMAIN + network_id + body).digest()


def is_acceptable_sender(key: bytes) -> bool:
    """A sender must be a canonical Ed25519 point in the prime-order subgroup, neither the
    treasury nor the sink.

    libsodium's ``crypto_core_ed25519_is_valid_point`` refuses non-canonical encodings, small-order
    points and points outside the main subgroup; an honest key always passes.
    """
    if len(key) != PUBLIC_KEY_LEN or key in (TREASURY_KEY, SINK_KEY):
        return False
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(key))


def _envelope_fault(value: object, what: str) -> PacketError:
    if type(value) is NotShortest:
        return EnvelopeNotCanonical(f"{what} is not in shortest msgpack encoding")
    return EnvelopeType(f"{what} has the wrong type")


class FrameCodec:
    """Frames of one network: open, verify, seal.

    It keeps a bounded memo of senders already found acceptable (a pure function of the key), so
    the point check runs once per sender, not once per packet.  The memo maps each key to one
    bytes object for it, which the parse hands out for every equal 32-byte string
    (:func:`~protocol.wire.parse_body`): senders, and keys named in bodies, are then the same
    object wherever a node keys a map by them.
    """

    SENDER_MEMO: Final = 65_536

    def __init__(self, network_id: bytes) -> None:
        if len(network_id) != FULL_HASH_LEN:
            raise ValueError(f"network_id must be {FULL_HASH_LEN} bytes, got {len(network_id)}")
        self.network_id = network_id
        self.prefix = network_id[:PREFIX_LEN]
        self._sign_prefix = SIGN_DOMAIN + network_id
        self._good_senders: dict[bytes, bytes] = {}

    # -- receiving ------------------------------------------------------------------------

    def open(self, frame: bytes) -> Envelope:
        """Check the envelope of ``frame``; raise a :class:`Rejected` subclass on any fault.

        The signature is not checked here (see :meth:`verify`), so duplicates can be dropped
        by ``(sender, nonce, full_hash)`` before paying for verification.
        """
        size = len(frame)
        if size > MAX_FRAME:
            raise Oversize(f"frame of {size} bytes exceeds {MAX_FRAME}")
        if size < MIN_FRAME:
            raise Truncated(f"frame of {size} bytes is shorter than the minimum {MIN_FRAME}")
        if frame[0] != VERSION:
            raise UnknownVersion(f"frame version {frame[0]} is not {VERSION}")
        if frame[2 : 2 + PREFIX_LEN] != self.prefix:
            raise WrongNetwork(
                f"network prefix {frame[2:6].hex()} is not this network's {self.prefix.hex()}"
            )
        body = bytes(frame[HEADER_LEN:-SIGNATURE_LEN])
        value = parse_body(body, self._good_senders)
        if type(value) is not list:
            raise _envelope_fault(value, "body array header")
        if len(value) < 4:
            raise EnvelopeType(f"body array has {len(value)} values, at least 4 needed")
        kind, sender, nonce, prev = value[0], value[1], value[2], value[3]
        if type(kind) is not int:
            raise _envelope_fault(kind, "kind")
        if not 0 <= kind <= 0xFF:
            raise EnvelopeRange(f"kind {kind} is not a u8")
        if type(sender) is not bytes or len(sender) != PUBLIC_KEY_LEN:
            raise _envelope_fault(sender, "sender (bin 32)")
        if type(nonce) is not int:
            raise _envelope_fault(nonce, "nonce")
        if not 1 <= nonce <= MAX_NONCE:
            raise EnvelopeRange(f"nonce {nonce} is outside 1..{MAX_NONCE}")
        if type(prev) is not bytes or len(prev) != HASH_LEN:
            raise _envelope_fault(prev, "prev (bin 8)")
        if (prev == ZERO_PREV) != (nonce == 1):
            raise EnvelopeRange(
                f"prev must be all zeros exactly when nonce is 1 (nonce {nonce}, prev {prev.hex()})"
            )
        if sender not in self._good_senders and not self.acceptable(sender):
            raise ForbiddenSender(f"sender {sender.hex()} may not sign packets")
        signed = self._sign_prefix + body
        return Envelope(
            frame[1],
            kind,
            sender,
            nonce,
            prev,
            body,
            frame[-SIGNATURE_LEN:],
            value,
            signed,
            sha256(signed),
            frame if type(frame) is bytes else None,
        )

    def acceptable(self, key: bytes) -> bool:
        """:func:`is_acceptable_sender`, memoized (the point check costs tens of µs)."""
        if key in self._good_senders:
            return True
        if not is_acceptable_sender(key):
            return False
        if len(self._good_senders) >= self.SENDER_MEMO:
            self._good_senders.clear()
        self._good_senders[key] = key
        return True

    @staticmethod
    def verify(envelope: Envelope) -> None:
        """Raise :class:`BadSignature` unless the signature verifies (libsodium's rules)."""
        if not signatures_valid((envelope,))[0]:
            raise bad_signature(envelope)

    def decode(self, frame: bytes) -> Packet:
        """Open, verify and decode ``frame``: raises Rejected, or Malformed under a good signature.

        A :class:`Malformed` error carries the verified envelope as ``error.envelope``.
        """
        envelope = self.open(frame)
        self.verify(envelope)
        return decode_body(envelope)

    # -- sending --------------------------------------------------------------------------

    def seal(
        self,
        key: nacl.signing.SigningKey,
        nonce: int,
        prev: bytes,
        body: Body,
        ttl: int = LEDGER_TTL,
    ) -> bytes:
        """Encode and sign a packet; raise ValueError if it would not decode as valid."""
        sender = bytes(key.verify_key)
        encoded = encode_body(sender, nonce, prev, body)
        signature: bytes = key.sign(self._sign_prefix + encoded).signature
        if not 0 <= ttl <= 0xFF:
            raise ValueError(f"ttl {ttl} is not a u8")
        frame = bytes((VERSION, ttl)) + self.prefix + encoded + signature
        if len(frame) > MAX_FRAME:
            raise ValueError(f"packet encodes to {len(frame)} bytes, over {MAX_FRAME}")
        return frame


def encode_body(sender: bytes, nonce: int, prev: bytes, body: Body) -> bytes:
    """Canonical body bytes; raise ValueError for anything a receiver would not accept."""
    if len(sender) != PUBLIC_KEY_LEN:
        raise ValueError(f"sender must be {PUBLIC_KEY_LEN} bytes")
    if not 1 <= nonce <= MAX_NONCE:
        raise ValueError(f"nonce {nonce} is outside 1..{MAX_NONCE}")
    if len(prev) != HASH_LEN or (prev == ZERO_PREV) != (nonce == 1):
        raise ValueError("prev must be 8 bytes, all zeros exactly when nonce is 1")
    fields = body_to_wire(body)
    try:
        body_from_wire(body.KIND, fields)
    except Malformed as exc:
        raise ValueError(f"invalid {body.KIND.name.lower()} body: {exc}") from None
    return pack([int(body.KIND), bytes(sender), nonce, bytes(prev), *fields])


def decode_body(envelope: Envelope) -> Packet:
    """Check the fields after position 3; raise the :class:`Malformed` subclass naming the
    first fault, carrying the envelope as ``error.envelope``."""
    try:
        body = _body(envelope.kind, envelope.values, 4)
    except Malformed as exc:
        exc.envelope = envelope  # type: ignore[attr-defined]
        raise
    return Packet(envelope.sender, envelope.nonce, envelope.prev, body)


def body_from_wire(kind: int, fields: Sequence[object]) -> Body:
    """The body of ``kind`` whose wire fields (positions 4 onward) are ``fields``; raise the
    :class:`Malformed` subclass naming the first fault."""
    return _body(kind, list(fields), 0)


def _body(kind: int, values: list[Any], base: int) -> Body:
    """The body of ``kind`` from ``values[base:]`` (the generated check of its kind)."""
    check = CHECKERS.get(kind)
    if check is None:
        raise UnknownKind(f"kind {kind} is not a packet kind of protocol version 1")
    return check(values, base)


def classify_datagram(data: bytes) -> str:
    """What a datagram carries: ``"ledger"`` (first byte 0x01) or ``"link"`` (first byte >= 0x80).

    Raises :class:`UnknownDatagram` for an empty datagram or any other first byte.
    """
    if not data:
        raise UnknownDatagram("empty datagram")
    first = data[0]
    if first == LEDGER_MARKER:
        return "ledger"
    if first >= LINK_MARKER_MIN:
        return "link"
    raise UnknownDatagram(
        f"datagram first byte 0x{first:02x} marks neither a ledger frame nor a link message"
    )
