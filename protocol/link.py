"""Link messages: what neighbours say to each other besides ledger frames (DESIGN.md §5, §9).

A datagram whose first byte is at least 0x80 is one link message: the type byte, then fixed
big-endian fields and counted lists, nothing after.  Never logged, never forwarded as such (a
mesh ping is re-sent with its TTL lowered).  This module owns the byte format only: the router
(``node/core``) decides what each means.  :func:`decode_link` is strict — any fault is a
:class:`~protocol.errors.LinkError`, never another exception — and every message fits one
UDP datagram (:data:`~protocol.constants.MAX_FRAME` bytes).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from protocol.constants import (
    HASH_LEN,
    MAX_FRAME,
    MAX_NONCE,
    PREFIX_LEN,
    PUBLIC_KEY_LEN,
    SIGNATURE_LEN,
)
from protocol.errors import LinkError

__all__ = [
    "AE_DOMAIN",
    "BISECT_MAX_PROBES",
    "CHALLENGE_LEN",
    "FINGERPRINT_LEN",
    "LINK_DOMAIN",
    "LISTING_MAX",
    "MAX_SPANS",
    "MAX_WANTS",
    "PING_DOMAIN",
    "PONG_DOMAIN",
    "AeEntry",
    "Announce",
    "Bisect",
    "Digest",
    "Fingerprint",
    "Graft",
    "Hello",
    "LinkMessage",
    "LinkType",
    "Listing",
    "Ping",
    "Pong",
    "Probe",
    "Proof",
    "Prune",
    "RangeItem",
    "Ranges",
    "Skip",
    "Span",
    "Want",
    "WantItem",
    "decode_link",
    "encode_link",
    "fingerprint",
    "hello_signed",
    "ping_signed",
    "pong_signed",
    "separator",
]

CHALLENGE_LEN: Final = 16
"""Bytes of a hello challenge (fresh random per handshake)."""
FINGERPRINT_LEN: Final = 16
"""Bytes of an anti-entropy fingerprint and of the hashes in an entry (SHA-256, truncated)."""
MAX_SPANS: Final = 29
"""Spans in one graft or announce (1 + 1 + 29 × 40 = 1,162 bytes)."""
MAX_WANTS: Final = 24
"""Items in one want (1 + 1 + 24 × 49 = 1,178 bytes, every item naming a hash)."""
LISTING_MAX: Final = 16
"""Entries in one listed range of a ranges message (16 × 68 = 1,088 bytes)."""
BISECT_MAX_PROBES: Final = 16
"""Probes in one bisect message (1 + 32 + 4 + 4 + 1 + 16 × 20 = 362 bytes)."""
MAX_BOUND: Final = PUBLIC_KEY_LEN
"""Longest range bound: a bound is a prefix of a sender key."""

LINK_DOMAIN: Final = b"BCM/link/v1"
"""Prefix of what a hello proof signs."""
PING_DOMAIN: Final = b"BCM/ping/v1"
PONG_DOMAIN: Final = b"BCM/pong/v1"
AE_DOMAIN: Final = b"BCM/ae/v1"
"""Prefix of what an anti-entropy fingerprint hashes."""

_INFINITY: Final = 0xFF
"""Bound length byte meaning "the end of the key space"."""
_ZERO16: Final = bytes(FINGERPRINT_LEN)


class LinkType(IntEnum):
    """The first byte of a link message."""

    HELLO = 0x80
    PROOF = 0x81
    PING = 0x82
    PONG = 0x83
    PRUNE = 0x84
    GRAFT = 0x85
    ANNOUNCE = 0x86
    WANT = 0x87
    DIGEST = 0x88
    RANGES = 0x89
    BISECT = 0x8A


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Hello:
    """Open a link: who I am on which network, and a challenge for you to sign."""

    prefix: bytes
    key: bytes
    challenge: bytes


@dataclass(frozen=True, slots=True)
class Proof:
    """Answer a challenge: ``signature`` by ``key`` over :func:`hello_signed`, binding both keys,
    both challenges and the network; ``challenge`` is mine, for you to answer in turn."""

    prefix: bytes
    key: bytes
    challenge: bytes
    answer: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Ping:
    """A mesh ping signed by ``origin``; ``ttl`` (unsigned) is lowered at each hop."""

    origin: bytes
    ping_id: int
    ttl: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    """``responder``'s signed answer to ``origin``'s ping, routed back hop by hop."""

    origin: bytes
    ping_id: int
    responder: bytes
    hops: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class Prune:
    """Stop pushing relayed packets to me: announce them instead (Plumtree)."""


@dataclass(frozen=True, slots=True)
class Span:
    """``sender``'s nonces ``lo..hi``."""

    sender: bytes
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Graft:
    """Send me these and push to me again (Plumtree)."""

    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Announce:
    """I hold (judged) these; pull what you miss."""

    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class WantItem:
    """``sender``'s judged packets ``lo..hi``, or (``h`` given, ``lo == hi``) every version of
    nonce ``lo`` whose 8-byte h is ``h``."""

    sender: bytes
    lo: int
    hi: int
    h: bytes | None = None


@dataclass(frozen=True, slots=True)
class Want:
    """Pull: send me these packets."""

    items: tuple[WantItem, ...]


@dataclass(frozen=True, slots=True)
class AeEntry:
    """One anti-entropy entry: ``(sender, HWM, C[:16], b"")``, or for a forked sender ``(sender,
    fork nonce, min, max)`` of the two kept versions' 16-byte hash prefixes (``b == b""``: no
    fork; on the wire, 16 zero bytes)."""

    sender: bytes
    n: int
    a: bytes
    b: bytes = b""


@dataclass(frozen=True, slots=True)
class Digest:
    """Start (or answer) an anti-entropy round: ``count`` entries whose :func:`fingerprint` is
    ``fingerprint``, and the sender's entry for the recipient's own key (``yours``: n = 0 when it
    knows none of its packets).  ``reply`` marks an answer; ``match`` an answer whose digest
    equals the one it answers."""

    session: int
    reply: bool
    match: bool
    count: int
    fingerprint: bytes
    yours: tuple[int, bytes, bytes]


@dataclass(frozen=True, slots=True)
class Skip:
    """Range up to ``bound``: nothing to do."""

    bound: bytes | None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Range up to ``bound``: I hold ``count`` entries there with this fingerprint."""

    bound: bytes | None
    count: int
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class Listing:
    """Range up to ``bound``: these are all my entries there."""

    bound: bytes | None
    entries: tuple[AeEntry, ...]


RangeItem = Skip | Fingerprint | Listing
"""One range of a :class:`Ranges` message; ``bound`` None is the end of the key space."""


@dataclass(frozen=True, slots=True)
class Ranges:
    """Range-based reconciliation over the sorted sender keys: consecutive ranges, the first
    from ``start`` (``b""``: the beginning of the key space), each up to (not including) its
    bound, where the next begins; only the last may reach the end of the key space.  One
    message covers a slice of the key space; an answer too long for one datagram is several."""

    session: int
    start: bytes
    items: tuple[RangeItem, ...]


@dataclass(frozen=True, slots=True)
class Probe:
    nonce: int
    c16: bytes


@dataclass(frozen=True, slots=True)
class Bisect:
    """``sender``'s chains are equal below ``lo`` and differ at ``hi``: my ``C[:16]`` at each
    probe nonce (increasing, in ``lo..hi``, the last at ``hi``)."""

    sender: bytes
    lo: int
    hi: int
    probes: tuple[Probe, ...]


LinkMessage = (
    Hello | Proof | Ping | Pong | Prune | Graft | Announce | Want | Digest | Ranges | Bisect
)


# --------------------------------------------------------------------------- signing domains


def hello_signed(
    network_id: bytes, answer: bytes, challenge: bytes, key: bytes, peer: bytes
) -> bytes:
    """What a proof signs: the network, the challenge answered, the signer's own challenge, the
    signer's key and the key of the neighbour it answers."""
    return LINK_DOMAIN + network_id + answer + challenge + key + peer


def ping_signed(network_id: bytes, origin: bytes, ping_id: int) -> bytes:
    return PING_DOMAIN + network_id + origin + ping_id.to_bytes(4, "big")


def pong_signed(network_id: bytes, origin: bytes, ping_id: int, responder: bytes) -> bytes:
    return PONG_DOMAIN + network_id + origin + ping_id.to_bytes(4, "big") + responder


def fingerprint(entries: list[AeEntry] | tuple[AeEntry, ...]) -> bytes:
    """SHA-256 over the sorted entries' encodings, truncated to 16 bytes (never an XOR, which an
    attacker could make collide)."""
    h = hashlib.sha256(AE_DOMAIN)
    pack = _ENTRY.pack
    for e in entries:
        h.update(pack(e.sender, e.n, e.a, e.b or _ZERO16))
    return h.digest()[:FINGERPRINT_LEN]


def separator(below: bytes, above: bytes) -> bytes:
    """The shortest prefix ``p`` of ``above`` with ``below < p <= above`` (keys sorted bytewise)."""
    for i in range(min(len(below), len(above))):
        if below[i] != above[i]:
            return above[: i + 1]
    return above[: len(below) + 1]


# --------------------------------------------------------------------------- encoding

_SPAN: Final = struct.Struct(">32sII")
_WANT_HEAD: Final = struct.Struct(">B32sII")
_ENTRY: Final = struct.Struct(">32sI16s16s")
_PROBE: Final = struct.Struct(">I16s")


def _entry_bytes(e: AeEntry) -> bytes:
    return _ENTRY.pack(e.sender, e.n, e.a, e.b or _ZERO16)


def _bound(bound: bytes | None) -> bytes:
    if bound is None:
        return bytes((_INFINITY,))
    return bytes((len(bound),)) + bound


def encode_link(msg: LinkMessage) -> bytes:
    """The bytes of ``msg``; ValueError for a message :func:`decode_link` would not accept."""
    data = _encode(msg)
    try:
        decoded: LinkMessage | None = decode_link(data)
    except LinkError:
        decoded = None
    if decoded != msg:
        raise ValueError(f"{type(msg).__name__} does not encode to a valid link message")
    return data


def _encode(msg: LinkMessage) -> bytes:
    if isinstance(msg, Hello):
        return bytes((LinkType.HELLO,)) + msg.prefix + msg.key + msg.challenge
    if isinstance(msg, Proof):
        return (
            bytes((LinkType.PROOF,))
            + msg.prefix
            + msg.key
            + msg.challenge
            + msg.answer
            + msg.signature
        )
    if isinstance(msg, Ping):
        return (
            bytes((LinkType.PING,)) + msg.origin + _u32(msg.ping_id) + _u8(msg.ttl) + msg.signature
        )
    if isinstance(msg, Pong):
        return (
            bytes((LinkType.PONG,))
            + msg.origin
            + _u32(msg.ping_id)
            + msg.responder
            + _u8(msg.hops)
            + msg.signature
        )
    if isinstance(msg, Prune):
        return bytes((LinkType.PRUNE,))
    if isinstance(msg, Graft | Announce):
        kind = LinkType.GRAFT if isinstance(msg, Graft) else LinkType.ANNOUNCE
        return bytes((kind, len(msg.spans))) + b"".join(
            _SPAN.pack(s.sender, s.lo, s.hi) for s in msg.spans
        )
    if isinstance(msg, Want):
        parts = [bytes((LinkType.WANT, len(msg.items)))]
        for want in msg.items:
            parts.append(_WANT_HEAD.pack(want.h is not None, want.sender, want.lo, want.hi))
            if want.h is not None:
                parts.append(want.h)
        return b"".join(parts)
    if isinstance(msg, Digest):
        hwm, a, b = msg.yours
        return (
            bytes((LinkType.DIGEST,))
            + _u32(msg.session)
            + _u8(msg.reply | msg.match << 1)
            + _u32(msg.count)
            + msg.fingerprint
            + _u32(hwm)
            + (a or _ZERO16)
            + (b or _ZERO16)
        )
    if isinstance(msg, Ranges):
        parts = [
            bytes((LinkType.RANGES,)),
            _u32(msg.session),
            _u8(len(msg.start)) + msg.start,
            _u8(len(msg.items)),
        ]
        for item in msg.items:
            parts.append(_bound(item.bound))
            if isinstance(item, Skip):
                parts.append(b"\x00")
            elif isinstance(item, Fingerprint):
                parts.append(b"\x01" + _u32(item.count) + item.fingerprint)
            else:
                parts.append(bytes((2, len(item.entries))))
                parts.extend(_entry_bytes(e) for e in item.entries)
        return b"".join(parts)
    return (
        bytes((LinkType.BISECT,))
        + msg.sender
        + _u32(msg.lo)
        + _u32(msg.hi)
        + _u8(len(msg.probes))
        + b"".join(_PROBE.pack(p.nonce, p.c16) for p in msg.probes)
    )


def _u8(value: int) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{value} is not a u8")
    return bytes((value,))


def _u32(value: int) -> bytes:
    if not 0 <= value <= MAX_NONCE:
        raise ValueError(f"{value} is not a u32")
    return value.to_bytes(4, "big")


# --------------------------------------------------------------------------- decoding


class _Reader:
    """Reads fixed fields from a message; every shortfall is a LinkError."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 1
        self.what = what

    def take(self, n: int, field: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise LinkError(f"{self.what} of {len(self.data)} bytes ends inside its {field}")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "big")

    def end(self) -> None:
        extra = len(self.data) - self.pos
        if extra:
            raise LinkError(f"{self.what} has {extra} trailing bytes")


def decode_link(data: bytes) -> LinkMessage:
    """Decode one link message; raise :class:`LinkError` for any fault (and nothing else)."""
    if not data:
        raise LinkError("empty link message")
    if len(data) > MAX_FRAME:
        raise LinkError(f"link message of {len(data)} bytes exceeds {MAX_FRAME}")
    try:
        kind = LinkType(data[0])
    except ValueError:
        raise LinkError(f"link message type 0x{data[0]:02x} is not defined") from None
    r = _Reader(bytes(data), kind.name.lower())
    msg = _DECODERS[kind](r)
    r.end()
    return msg


def _hello(r: _Reader) -> Hello:
    return Hello(
        r.take(PREFIX_LEN, "prefix"),
        r.take(PUBLIC_KEY_LEN, "key"),
        r.take(CHALLENGE_LEN, "challenge"),
    )


def _proof(r: _Reader) -> Proof:
    return Proof(
        r.take(PREFIX_LEN, "prefix"),
        r.take(PUBLIC_KEY_LEN, "key"),
        r.take(CHALLENGE_LEN, "challenge"),
        r.take(CHALLENGE_LEN, "answer"),
        r.take(SIGNATURE_LEN, "signature"),
    )


def _ping(r: _Reader) -> Ping:
    origin = r.take(PUBLIC_KEY_LEN, "origin")
    ping_id = r.u32("id")
    ttl = r.u8("ttl")
    if ttl == 0:
        raise LinkError("ping with ttl 0")
    return Ping(origin, ping_id, ttl, r.take(SIGNATURE_LEN, "signature"))


def _pong(r: _Reader) -> Pong:
    return Pong(
        r.take(PUBLIC_KEY_LEN, "origin"),
        r.u32("id"),
        r.take(PUBLIC_KEY_LEN, "responder"),
        r.u8("hops"),
        r.take(SIGNATURE_LEN, "signature"),
    )


def _prune(r: _Reader) -> Prune:
    return Prune()


def _range(r: _Reader, sender: bytes, lo: int, hi: int, what: str) -> None:
    if not 1 <= lo <= hi:
        raise LinkError(f"{r.what}: {what} {sender.hex()[:8]} {lo}..{hi} is not a range of nonces")


def _spans(r: _Reader) -> tuple[Span, ...]:
    count = r.u8("count")
    if not 1 <= count <= MAX_SPANS:
        raise LinkError(f"{r.what} lists {count} spans, not 1..{MAX_SPANS}")
    out = []
    for _ in range(count):
        sender, lo, hi = _SPAN.unpack(r.take(_SPAN.size, "span"))
        _range(r, sender, lo, hi, "span")
        out.append(Span(sender, lo, hi))
    return tuple(out)


def _graft(r: _Reader) -> Graft:
    return Graft(_spans(r))


def _announce(r: _Reader) -> Announce:
    return Announce(_spans(r))


def _want(r: _Reader) -> Want:
    count = r.u8("count")
    if not 1 <= count <= MAX_WANTS:
        raise LinkError(f"want lists {count} items, not 1..{MAX_WANTS}")
    items = []
    for _ in range(count):
        flags, sender, lo, hi = _WANT_HEAD.unpack(r.take(_WANT_HEAD.size, "item"))
        if flags > 1:
            raise LinkError(f"want item flags 0x{flags:02x}: only bit 0 (by hash) is defined")
        _range(r, sender, lo, hi, "item")
        h = None
        if flags:
            h = r.take(HASH_LEN, "h")
            if lo != hi:
                raise LinkError(f"want by hash names nonces {lo}..{hi}, not one nonce")
        items.append(WantItem(sender, lo, hi, h))
    return Want(tuple(items))


def _digest(r: _Reader) -> Digest:
    session = r.u32("session")
    flags = r.u8("flags")
    if flags > 3 or flags == 2:
        raise LinkError(f"digest flags 0x{flags:02x}: bit 0 reply, bit 1 match (in a reply)")
    count = r.u32("count")
    fp = r.take(FINGERPRINT_LEN, "fingerprint")
    hwm = r.u32("your hwm")
    a = r.take(FINGERPRINT_LEN, "your hash")
    b = r.take(FINGERPRINT_LEN, "your second hash")
    if hwm == 0 and (a != _ZERO16 or b != _ZERO16):
        raise LinkError("digest: hashes given for an empty entry")
    if hwm and a == _ZERO16:
        raise LinkError("digest: an entry with no hash")
    if b != _ZERO16 and b <= a:
        raise LinkError("digest: a forked entry's hashes not in increasing order")
    yours = (hwm, a if hwm else b"", b if b != _ZERO16 else b"")
    return Digest(session, bool(flags & 1), bool(flags & 2), count, fp, yours)


def _bound_of(r: _Reader) -> bytes | None:
    n = r.u8("bound length")
    if n == _INFINITY:
        return None
    if n > MAX_BOUND:
        raise LinkError(f"range bound of {n} bytes, at most {MAX_BOUND}")
    if n == 0:
        raise LinkError("empty range bound (the start of the key space bounds nothing)")
    return r.take(n, "bound")


def _entries(r: _Reader, lo: bytes, hi: bytes | None) -> tuple[AeEntry, ...]:
    count = r.u8("entry count")
    if count > LISTING_MAX:
        raise LinkError(f"listing of {count} entries, at most {LISTING_MAX}")
    out: list[AeEntry] = []
    for _ in range(count):
        sender, n, a, b = _ENTRY.unpack(r.take(_ENTRY.size, "entry"))
        if out and sender <= out[-1].sender:
            raise LinkError("listing entries not in increasing key order")
        if sender < lo or (hi is not None and sender >= hi):
            raise LinkError(f"listed key {sender.hex()[:8]} lies outside its range")
        if n == 0 or a == _ZERO16:
            raise LinkError(f"listed entry {sender.hex()[:8]} has no packet")
        if b != _ZERO16 and b <= a:
            raise LinkError(f"forked entry {sender.hex()[:8]}: hashes not in increasing order")
        out.append(AeEntry(sender, n, a, b if b != _ZERO16 else b""))
    return tuple(out)


def _ranges(r: _Reader) -> Ranges:
    session = r.u32("session")
    n = r.u8("start length")
    if n > MAX_BOUND:
        raise LinkError(f"range start of {n} bytes, at most {MAX_BOUND}")
    start = r.take(n, "start")
    count = r.u8("count")
    if count == 0:
        raise LinkError("ranges message with no range")
    items: list[RangeItem] = []
    lo = start
    for i in range(count):
        bound = _bound_of(r)
        if bound is None and i != count - 1:
            raise LinkError("only the last range may reach the end of the key space")
        if bound is not None and bound <= lo:
            raise LinkError("range bounds not in increasing order")
        mode = r.u8("mode")
        item: RangeItem
        if mode == 0:
            item = Skip(bound)
        elif mode == 1:
            item = Fingerprint(bound, r.u32("count"), r.take(FINGERPRINT_LEN, "fingerprint"))
        elif mode == 2:
            item = Listing(bound, _entries(r, lo, bound))
        else:
            raise LinkError(f"range mode {mode}: 0 skip, 1 fingerprint, 2 listing")
        items.append(item)
        lo = bound if bound is not None else lo
    return Ranges(session, start, tuple(items))


def _bisect(r: _Reader) -> Bisect:
    sender = r.take(PUBLIC_KEY_LEN, "sender")
    lo, hi = r.u32("lo"), r.u32("hi")
    _range(r, sender, lo, hi, "range")
    count = r.u8("probe count")
    if not 1 <= count <= BISECT_MAX_PROBES:
        raise LinkError(f"bisect with {count} probes, not 1..{BISECT_MAX_PROBES}")
    probes = []
    prev = lo - 1
    for _ in range(count):
        nonce, c16 = _PROBE.unpack(r.take(_PROBE.size, "probe"))
        if not prev < nonce <= hi:
            raise LinkError(f"bisect probe {nonce} out of order or outside {lo}..{hi}")
        probes.append(Probe(nonce, c16))
        prev = nonce
    if prev != hi:
        raise LinkError(f"bisect's last probe is {prev}, not its top {hi}")
    return Bisect(sender, lo, hi, tuple(probes))


_DECODERS: Final[dict[LinkType, Callable[[_Reader], LinkMessage]]] = {
    LinkType.HELLO: _hello,
    LinkType.PROOF: _proof,
    LinkType.PING: _ping,
    LinkType.PONG: _pong,
    LinkType.PRUNE: _prune,
    LinkType.GRAFT: _graft,
    LinkType.ANNOUNCE: _announce,
    LinkType.WANT: _want,
    LinkType.DIGEST: _digest,
    LinkType.RANGES: _ranges,
    LinkType.BISECT: _bisect,
}
