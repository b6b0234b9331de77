"""Tests of the ledger frame against DESIGN.md sections 3 and 9: envelope, signature, bodies.

Covers the round trip of every kind, what a changed byte does, the Rejected/Refused(malformed)
boundary drawn with hand-made msgpack, one bytes-level case per error class, robustness against
arbitrary input, the protocol constants, the genesis ``local`` and the size budget.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable
from typing import NamedTuple

import msgpack
import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import constants
from protocol.bets import BetType
from protocol.errors import (
    ALL_ERRORS,
    BadSignature,
    EnvelopeNotCanonical,
    EnvelopeRange,
    EnvelopeType,
    FieldCount,
    FieldNotCanonical,
    FieldRange,
    FieldType,
    ForbiddenSender,
    FragmentError,
    LinkError,
    Malformed,
    NotMsgpack,
    Oversize,
    PacketError,
    Rejected,
    TrailingBytes,
    Truncated,
    UnknownDatagram,
    UnknownKind,
    UnknownVersion,
    WrongNetwork,
)
from protocol.fragment import Fragment, Reassembler
from protocol.frame import (
    MIN_FRAME,
    FrameCodec,
    Packet,
    body_from_wire,
    classify_datagram,
    decode_body,
    encode_body,
)
from protocol.genesis import LOCAL
from protocol.kinds import (
    Bet,
    BetEntry,
    Body,
    Decline,
    GameEnd,
    Included,
    JoinCopy,
    Kind,
    Released,
    RevealCopy,
    RollOpen,
    Transfer,
    Void,
    body_to_wire,
)
from protocol.link import decode_link
from tests.strategies import (
    BODY_STRATEGIES,
    GAME_END_MAX_REVEALS,
    ROLL_OPEN_MAX_ENTRIES,
    ROLL_OPEN_MAX_REVEALS,
    VOID_MAX_SEATS,
    Packet4,
    bodies,
    packets,
)

NETWORK = LOCAL.network_id
CODEC = FrameCodec(NETWORK)
OTHER = dataclasses.replace(LOCAL, name="other")
OTHER_CODEC = FrameCodec(OTHER.network_id)
KEY = nacl.signing.SigningKey(bytes(range(32)))
SENDER = bytes(KEY.verify_key)
ZERO = bytes(8)
PREV = bytes.fromhex("0102030405060708")
GAME = bytes.fromhex("a1a2a3a4a5a6a7a8")
MAX_U32 = 2**32 - 1
MAX_U64 = 2**64 - 1
IDENTITY_POINT = b"\x01" + bytes(31)
"""The Ed25519 identity point: a small-order key that must never sign."""

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- raw msgpack


def p(value: object) -> bytes:
    """Canonical msgpack of ``value`` (the independent writer: msgpack.packb)."""
    out: bytes = msgpack.packb(value, use_bin_type=True)
    return out


def fixarray(n: int) -> bytes:
    assert n <= 15
    return bytes([0x90 | n])


def array16(n: int) -> bytes:
    return b"\xdc" + n.to_bytes(2, "big")


def uint8(v: int) -> bytes:
    return b"\xcc" + v.to_bytes(1, "big")


def uint16(v: int) -> bytes:
    return b"\xcd" + v.to_bytes(2, "big")


def uint32(v: int) -> bytes:
    return b"\xce" + v.to_bytes(4, "big")


def uint64(v: int) -> bytes:
    return b"\xcf" + v.to_bytes(8, "big")


def int8(v: int) -> bytes:
    return b"\xd0" + v.to_bytes(1, "big", signed=True)


def bin16(data: bytes) -> bytes:
    return b"\xc5" + len(data).to_bytes(2, "big") + data


def str8(text: str) -> bytes:
    raw = text.encode()
    return b"\xd9" + bytes([len(raw)]) + raw


def raw_body(*items: bytes, header: bytes | None = None) -> bytes:
    """A body array from already-encoded items (header: fixarray of their count unless given)."""
    return (fixarray(len(items)) if header is None else header) + b"".join(items)


def envelope_items(
    kind: bytes | None = None,
    sender: bytes | None = None,
    nonce: bytes | None = None,
    prev: bytes | None = None,
) -> tuple[bytes, bytes, bytes, bytes]:
    """Encoded positions 0-3 (a bet from SENDER at nonce 1 unless overridden)."""
    return (
        p(int(Kind.BET)) if kind is None else kind,
        p(SENDER) if sender is None else sender,
        p(1) if nonce is None else nonce,
        p(ZERO) if prev is None else prev,
    )


def signed_frame(
    body: bytes,
    key: nacl.signing.SigningKey = KEY,
    network_id: bytes = NETWORK,
    ttl: int = 0,
    prefix: bytes | None = None,
) -> bytes:
    """Sign ``b"BCM/v1" + network_id + body`` with ``key`` and assemble the frame by hand."""
    signature = key.sign(b"BCM/v1" + network_id + body).signature
    head = network_id[:4] if prefix is None else prefix
    return bytes([1, ttl]) + head + body + signature


def bet_body(
    game: bytes | None = None,
    table: bytes | None = None,
    bets: bytes | None = None,
    header: bytes | None = None,
    **envelope: bytes,
) -> bytes:
    """A bet body, canonical except for whatever encoded item (or array header) is passed in."""
    return raw_body(
        *envelope_items(**envelope),
        p(GAME) if game is None else game,
        p(7) if table is None else table,
        p([[int(BetType.Pass), 5]]) if bets is None else bets,
        header=header,
    )


def bet_frame(**items: bytes) -> bytes:
    return signed_frame(bet_body(**items))


def decode_error(frame: bytes) -> PacketError:
    with pytest.raises(PacketError) as info:
        CODEC.decode(frame)
    return info.value


# --------------------------------------------------------------------------- round trip


@FAST
@given(packets())
def test_seal_decode_reseal_is_identity_for_every_kind(packet: Packet4) -> None:
    key, nonce, prev, body = packet
    frame = CODEC.seal(key, nonce, prev, body)
    decoded = CODEC.decode(frame)
    assert decoded == Packet(bytes(key.verify_key), nonce, prev, body)
    assert CODEC.seal(key, decoded.nonce, decoded.prev, decoded.body) == frame
    assert frame[6:-64] == encode_body(decoded.sender, decoded.nonce, decoded.prev, decoded.body)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_round_trips(kind: Kind) -> None:
    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(packets(body=BODY_STRATEGIES[kind]()))
    def check(packet: Packet4) -> None:
        key, nonce, prev, body = packet
        assert body.KIND is kind
        frame = CODEC.seal(key, nonce, prev, body)
        assert CODEC.decode(frame).body == body
        assert CODEC.seal(key, nonce, prev, CODEC.decode(frame).body) == frame

    check()


def test_ed25519_signing_is_deterministic() -> None:
    body = Bet(GAME, 7, (BetEntry(BetType.Pass, 5),))
    assert CODEC.seal(KEY, 1, ZERO, body) == CODEC.seal(KEY, 1, ZERO, body)


def test_hand_signed_canonical_body_decodes_like_a_sealed_one() -> None:
    body = Bet(GAME, 7, (BetEntry(BetType.Pass, 5),))
    assert bet_frame() == CODEC.seal(KEY, 1, ZERO, body)


# --------------------------------------------------------------------------- changed bytes


@FAST
@given(packets(), st.data())
def test_any_flipped_bit_outside_the_ttl_is_rejected(packet: Packet4, data: st.DataObject) -> None:
    key, nonce, prev, body = packet
    frame = bytearray(CODEC.seal(key, nonce, prev, body))
    # every byte but the TTL (byte 1): version, network prefix, body, signature
    bit = data.draw(st.integers(0, len(frame) * 8 - 1).filter(lambda b: b // 8 != 1), label="bit")
    frame[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(Rejected):
        CODEC.decode(bytes(frame))


@FAST
@given(packets(), st.integers(0, 31))
def test_flipped_bit_in_network_prefix_is_wrong_network(packet: Packet4, bit: int) -> None:
    key, nonce, prev, body = packet
    frame = bytearray(CODEC.seal(key, nonce, prev, body))
    frame[2 + bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(WrongNetwork):
        CODEC.decode(bytes(frame))


@FAST
@given(packets(), st.integers(0, 255))
def test_ttl_change_keeps_signature_valid(packet: Packet4, ttl: int) -> None:
    key, nonce, prev, body = packet
    frame = CODEC.seal(key, nonce, prev, body)
    changed = frame[:1] + bytes([ttl]) + frame[2:]
    assert CODEC.decode(changed) == CODEC.decode(frame)
    assert CODEC.open(changed).full_hash == CODEC.open(frame).full_hash
    assert CODEC.open(changed).ttl == ttl


@settings(max_examples=15, deadline=None)
@given(packets())
def test_packet_signed_for_another_network_is_wrong_network(packet: Packet4) -> None:
    key, nonce, prev, body = packet
    foreign = OTHER_CODEC.seal(key, nonce, prev, body)
    assert OTHER_CODEC.decode(foreign).body == body
    with pytest.raises(WrongNetwork):
        CODEC.decode(foreign)


@settings(max_examples=15, deadline=None)
@given(packets())
def test_forged_prefix_over_another_networks_signature_is_bad_signature(packet: Packet4) -> None:
    key, nonce, prev, body = packet
    foreign = OTHER_CODEC.seal(key, nonce, prev, body)
    forged = foreign[:2] + NETWORK[:4] + foreign[6:]
    with pytest.raises(BadSignature):
        CODEC.decode(forged)


def test_other_genesis_name_gives_another_network_id() -> None:
    assert OTHER.network_id != NETWORK
    assert OTHER.network_id[:4] != NETWORK[:4]


# --------------------------------------------------------------------------- envelope boundary


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("array header as array16", bet_body(header=array16(7))),
        ("kind 5 as uint8", bet_body(kind=uint8(5))),
        ("kind 5 as uint16", bet_body(kind=uint16(5))),
        ("kind 5 as positive int8", bet_body(kind=int8(5))),
        ("sender as bin16", bet_body(sender=bin16(SENDER))),
        ("nonce 1 as uint32", bet_body(nonce=uint32(1))),
        ("nonce 200 as uint16", bet_body(nonce=uint16(200), prev=p(PREV))),
        ("nonce 5 as uint64", bet_body(nonce=uint64(5), prev=p(PREV))),
        ("prev as bin16", bet_body(nonce=p(2), prev=bin16(PREV))),
    ],
)
def test_non_shortest_envelope_encoding_is_rejected(label: str, body: bytes) -> None:
    error = decode_error(signed_frame(body))
    assert type(error) is EnvelopeNotCanonical, label
    assert isinstance(error, Rejected)
    assert error.verdict == "rejected"


NOT_CANONICAL_FIELDS = [
    ("game id as bin16", {"game": bin16(GAME)}),
    ("table 7 as uint32", {"table": uint32(7)}),
    ("table 7 as positive int8", {"table": int8(7)}),
    ("amount 5 as uint64", {"bets": raw_body(raw_body(p(0), uint64(5)))}),
    ("bets list as array16", {"bets": array16(1) + p([0, 5])}),
    ("bet entry as array16", {"bets": raw_body(array16(2) + p(0) + p(5))}),
    ("bet code 2 as uint8", {"bets": raw_body(raw_body(uint8(2), p(5)))}),
    ("come point as uint16", {"bets": raw_body(raw_body(p(80), p(5), uint16(4)))}),
    ("second entry amount as uint16", {"bets": raw_body(p([0, 5]), raw_body(p(1), uint16(9)))}),
]


@pytest.mark.parametrize(("label", "items"), NOT_CANONICAL_FIELDS)
def test_non_shortest_field_after_position_3_is_refused_malformed(
    label: str, items: dict[str, bytes]
) -> None:
    error = decode_error(signed_frame(bet_body(nonce=p(9), prev=p(PREV), **items)))
    assert type(error) is FieldNotCanonical, label
    assert isinstance(error, Malformed)
    assert error.verdict == "refused"
    envelope = error.envelope  # type: ignore[attr-defined]
    assert (envelope.sender, envelope.nonce, envelope.prev) == (SENDER, 9, PREV)


def test_encoding_is_checked_before_range_after_position_3() -> None:
    error = decode_error(bet_frame(bets=raw_body(raw_body(p(0), uint64(0)))))
    assert type(error) is FieldNotCanonical


# --------------------------------------------------------------------------- one case per error


class Case(NamedTuple):
    error: type[PacketError]
    run: Callable[[], object]


def decoding(frame: bytes) -> Callable[[], object]:
    return lambda: CODEC.decode(frame)


def _frame_of_size(size: int) -> bytes:
    """A validly signed unknown-kind frame (kind 200, one bin field) of exactly ``size`` bytes."""
    head = envelope_items(kind=p(200))
    fixed = 6 + 1 + sum(map(len, head)) + 64
    pad = size - fixed - 3  # bin16 header
    assert pad > 255
    frame = signed_frame(raw_body(*head, bin16(bytes(pad))))
    assert len(frame) == size
    return frame


def _reassembly_contradiction() -> None:
    reassembler = Reassembler()
    reassembler.push("peer", Fragment(9, 0, 3, 0, b"abc").encode(), 0.0)
    reassembler.push("peer", Fragment(9, 1, 2, 0, b"def").encode(), 0.0)


_OK_BET = [int(BetType.Pass), 5]

CASES: dict[str, Case] = {
    # --- rejected: frame level
    "1201 bytes": Case(Oversize, decoding(_frame_of_size(1201))),
    "1201 zero bytes": Case(Oversize, decoding(bytes(1201))),
    "frame one byte shorter than the minimum": Case(
        Truncated, decoding(bet_frame()[: MIN_FRAME - 1])
    ),
    "empty frame": Case(Truncated, decoding(b"")),
    "body msgpack cut short": Case(
        Truncated, decoding(signed_frame(raw_body(*envelope_items(), p(GAME), header=fixarray(6))))
    ),
    "bin header longer than the body": Case(
        Truncated, decoding(signed_frame(raw_body(*envelope_items(), b"\xc4\x40" + bytes(10))))
    ),
    "version 2": Case(UnknownVersion, decoding(b"\x02" + bet_frame()[1:])),
    "version 0": Case(UnknownVersion, decoding(b"\x00" + bet_frame()[1:])),
    "prefix of another network": Case(
        WrongNetwork, decoding(signed_frame(bet_body(), network_id=OTHER.network_id))
    ),
    "0xc1 in the body": Case(
        NotMsgpack,
        decoding(signed_frame(raw_body(*envelope_items(), p(GAME), b"\xc1", p([_OK_BET])))),
    ),
    "body starting with 0xc1": Case(NotMsgpack, decoding(signed_frame(b"\xc1" + bet_body()[1:]))),
    "one byte after the body array": Case(
        TrailingBytes, decoding(signed_frame(bet_body() + b"\x00"))
    ),
    "kind as uint8": Case(EnvelopeNotCanonical, decoding(bet_frame(kind=uint8(5)))),
    "body array header as array16": Case(
        EnvelopeNotCanonical, decoding(signed_frame(bet_body(header=array16(7))))
    ),
    # --- rejected: envelope types
    "body a bin, not an array": Case(EnvelopeType, decoding(signed_frame(p(bytes(60))))),
    "body a map, not an array": Case(EnvelopeType, decoding(signed_frame(p({0: bytes(60)})))),
    "body array of 3": Case(
        EnvelopeType, decoding(signed_frame(raw_body(p(5), p(SENDER), p(bytes(20)))))
    ),
    "sender as str": Case(EnvelopeType, decoding(bet_frame(sender=str8("s" * 32)))),
    "sender of 31 bytes": Case(EnvelopeType, decoding(bet_frame(sender=p(SENDER[:31])))),
    "prev of 9 bytes": Case(EnvelopeType, decoding(bet_frame(nonce=p(2), prev=p(bytes(9))))),
    "nonce as nil": Case(EnvelopeType, decoding(bet_frame(nonce=b"\xc0"))),
    "kind as float": Case(EnvelopeType, decoding(bet_frame(kind=p(5.0)))),
    # --- rejected: envelope ranges
    "nonce 0": Case(EnvelopeRange, decoding(bet_frame(nonce=p(0)))),
    "nonce 2**32": Case(EnvelopeRange, decoding(bet_frame(nonce=p(2**32), prev=p(PREV)))),
    "nonce -1": Case(EnvelopeRange, decoding(bet_frame(nonce=p(-1), prev=p(PREV)))),
    "prev zero with nonce 2": Case(EnvelopeRange, decoding(bet_frame(nonce=p(2)))),
    "prev nonzero with nonce 1": Case(EnvelopeRange, decoding(bet_frame(prev=p(PREV)))),
    "kind 256 as uint16": Case(EnvelopeRange, decoding(bet_frame(kind=uint16(256)))),
    "kind -1": Case(EnvelopeRange, decoding(bet_frame(kind=p(-1)))),
    # --- rejected: signature and sender
    "signature by another key": Case(
        BadSignature, decoding(signed_frame(bet_body(), key=nacl.signing.SigningKey(bytes(32))))
    ),
    "signature over another network": Case(
        BadSignature,
        decoding(signed_frame(bet_body(), network_id=OTHER.network_id, prefix=NETWORK[:4])),
    ),
    "treasury key as sender": Case(
        ForbiddenSender, decoding(bet_frame(sender=p(constants.TREASURY_KEY)))
    ),
    "identity point as sender": Case(
        ForbiddenSender, decoding(bet_frame(sender=p(IDENTITY_POINT)))
    ),
    "all-zero sender (small order)": Case(
        ForbiddenSender, decoding(bet_frame(sender=p(bytes(32))))
    ),
    # --- rejected: datagrams and fragments
    "datagram starting 0x02": Case(UnknownDatagram, lambda: classify_datagram(b"\x02" + bytes(9))),
    "empty datagram": Case(UnknownDatagram, lambda: classify_datagram(b"")),
    "fragment shorter than its header": Case(
        FragmentError, lambda: Fragment.decode(b"\x00\x01\x00")
    ),
    "fragment count 0": Case(FragmentError, lambda: Fragment.decode(bytes(6) + b"x")),
    "fragment contradicting the count held": Case(FragmentError, _reassembly_contradiction),
    "link message of undefined type 0x8f": Case(LinkError, lambda: decode_link(b"\x8f")),
    "prune with a trailing byte": Case(LinkError, lambda: decode_link(b"\x84\x00")),
    # --- refused(malformed): kinds and counts
    "kind 0": Case(UnknownKind, decoding(signed_frame(raw_body(*envelope_items(kind=p(0)))))),
    "kind 13": Case(UnknownKind, decoding(signed_frame(raw_body(*envelope_items(kind=p(13)))))),
    "kind 200": Case(UnknownKind, decoding(signed_frame(raw_body(*envelope_items(kind=p(200)))))),
    "bet body with one field missing": Case(
        FieldCount, decoding(signed_frame(raw_body(*envelope_items(), p(GAME), p(7))))
    ),
    "bet body with one field too many": Case(
        FieldCount,
        decoding(signed_frame(raw_body(*envelope_items(), p(GAME), p(7), p([_OK_BET]), p(1)))),
    ),
    "Pass entry with 3 elements": Case(FieldCount, decoding(bet_frame(bets=p([[0, 5, 4]])))),
    "OddsCome entry without come point": Case(FieldCount, decoding(bet_frame(bets=p([[80, 5]])))),
    "bet entry with 1 element": Case(FieldCount, decoding(bet_frame(bets=p([[0]])))),
    # --- refused(malformed): types
    "table as float": Case(FieldType, decoding(bet_frame(table=p(7.0)))),
    "game id as str": Case(FieldType, decoding(bet_frame(game=str8("abcdefgh")))),
    "table as nil": Case(FieldType, decoding(bet_frame(table=b"\xc0"))),
    "bets as a map": Case(FieldType, decoding(bet_frame(bets=p({0: 5})))),
    "amount as bool": Case(FieldType, decoding(bet_frame(bets=raw_body(raw_body(p(0), b"\xc3"))))),
    "game id as fixext8": Case(FieldType, decoding(bet_frame(game=b"\xd7\x01" + GAME))),
    "game id as int": Case(FieldType, decoding(bet_frame(game=p(5)))),
    # --- refused(malformed): ranges
    "bet code 7": Case(FieldRange, decoding(bet_frame(bets=p([[7, 5]])))),
    "amount 0": Case(FieldRange, decoding(bet_frame(bets=p([[0, 0]])))),
    "come point 7": Case(FieldRange, decoding(bet_frame(bets=p([[80, 5, 7]])))),
    "9 bets": Case(FieldRange, decoding(bet_frame(bets=p([_OK_BET] * 9)))),
    "empty bet list": Case(FieldRange, decoding(bet_frame(bets=p([])))),
    "game id of 7 bytes": Case(FieldRange, decoding(bet_frame(game=p(GAME[:7])))),
    "table 0": Case(FieldRange, decoding(bet_frame(table=p(0)))),
    # --- refused(malformed): encoding after position 3
    "game id as bin16": Case(FieldNotCanonical, decoding(bet_frame(game=bin16(GAME)))),
    "amount 5 as uint64": Case(
        FieldNotCanonical, decoding(bet_frame(bets=raw_body(raw_body(p(0), uint64(5)))))
    ),
    "bets list as array16": Case(
        FieldNotCanonical, decoding(bet_frame(bets=array16(1) + p(_OK_BET)))
    ),
}

MALFORMED_CASES = {name: case for name, case in CASES.items() if issubclass(case.error, Malformed)}


@pytest.mark.parametrize("name", list(CASES))
def test_bytes_produce_their_error_class(name: str) -> None:
    case = CASES[name]
    with pytest.raises(PacketError) as info:
        case.run()
    assert type(info.value) is case.error, f"{name}: {info.value!r}"
    assert str(info.value), "an error message names the fault"


def test_every_error_class_is_produced_from_bytes() -> None:
    produced = {case.error for case in CASES.values()}
    assert produced == set(ALL_ERRORS)


def test_every_error_class_is_rejected_or_refused() -> None:
    for cls in ALL_ERRORS:
        assert issubclass(cls, Rejected) != issubclass(cls, Malformed)
        assert cls.verdict == ("rejected" if issubclass(cls, Rejected) else "refused")
    assert len({cls.code for cls in ALL_ERRORS}) == len(ALL_ERRORS)


def test_frame_of_exactly_max_frame_is_not_oversize() -> None:
    error = decode_error(_frame_of_size(1200))
    assert type(error) is UnknownKind


def test_frame_of_exactly_min_frame_opens() -> None:
    frame = signed_frame(raw_body(*envelope_items(kind=p(13))))
    assert len(frame) == MIN_FRAME
    assert type(decode_error(frame)) is UnknownKind


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x01", "ledger"),
        (b"\x01" + bytes(100), "ledger"),
        (b"\x80", "link"),
        (b"\xff\x00", "link"),
    ],
)
def test_classify_datagram_by_first_byte(data: bytes, expected: str) -> None:
    assert classify_datagram(data) == expected


@pytest.mark.parametrize("first", [0x00, 0x02, 0x10, 0x7F])
def test_classify_datagram_refuses_other_first_bytes(first: int) -> None:
    with pytest.raises(UnknownDatagram):
        classify_datagram(bytes([first]) + bytes(20))


def test_sealed_frame_is_classified_as_ledger() -> None:
    assert classify_datagram(bet_frame()) == "ledger"


# ---------------------------------------------------------------- refused keeps its signature


@pytest.mark.parametrize("name", list(MALFORMED_CASES))
def test_refused_malformed_packet_has_a_verified_signature(name: str) -> None:
    case = MALFORMED_CASES[name]
    with pytest.raises(Malformed) as info:
        case.run()
    envelope = info.value.envelope  # type: ignore[attr-defined]
    assert envelope.sender == SENDER
    assert envelope.nonce == 1
    FrameCodec.verify(envelope)
    nacl.signing.VerifyKey(envelope.sender).verify(envelope.signed, envelope.signature)
    assert envelope.signed == b"BCM/v1" + NETWORK + envelope.body
    assert envelope.full_hash == hashlib.sha256(envelope.signed).digest()
    assert CODEC.open(envelope.frame()) == envelope


# --------------------------------------------------------------------------- robustness


def _decode_or_packet_error(frame: bytes) -> None:
    with contextlib.suppress(PacketError):
        CODEC.decode(frame)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=1300))
def test_only_packet_errors_escape_decode_of_random_bytes(frame: bytes) -> None:
    _decode_or_packet_error(frame)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=47, max_size=400), st.binary(min_size=64, max_size=64))
def test_only_packet_errors_escape_decode_of_random_bodies(body: bytes, signature: bytes) -> None:
    _decode_or_packet_error(bytes([1, 0]) + NETWORK[:4] + body + signature)


_PACKABLE = st.recursive(
    st.one_of(
        st.integers(-(2**63), 2**64 - 1),
        st.binary(max_size=40),
        st.none(),
        st.booleans(),
        st.floats(),
        st.text(max_size=8),
    ),
    lambda inner: st.lists(inner, max_size=6),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_PACKABLE, max_size=8), st.sampled_from(list(Kind)))
def test_only_packet_errors_escape_decode_of_signed_random_fields(
    fields: list[object], kind: Kind
) -> None:
    body = raw_body(*envelope_items(kind=p(int(kind))), *map(p, fields))
    if len(body) + 70 <= constants.MAX_FRAME:
        _decode_or_packet_error(signed_frame(body))


_MUTATION = st.tuples(st.sampled_from(["flip", "truncate", "insert", "delete"]), st.integers(0))


def _mutate(data: bytes, mutations: list[tuple[str, int]], byte: int) -> bytes:
    out = bytearray(data)
    for op, where in mutations:
        at = where % (len(out) + 1)
        if op == "flip" and at < len(out):
            out[at] ^= byte or 1
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = bytes([byte])
        elif op == "delete":
            del out[at : at + 1 + byte % 8]
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(packets(), st.lists(_MUTATION, min_size=1, max_size=4), st.integers(0, 255))
def test_only_packet_errors_escape_decode_of_mutated_frames(
    packet: Packet4, mutations: list[tuple[str, int]], byte: int
) -> None:
    key, nonce, prev, body = packet
    _decode_or_packet_error(_mutate(CODEC.seal(key, nonce, prev, body), mutations, byte))


@settings(max_examples=150, deadline=None)
@given(packets(), st.lists(_MUTATION, min_size=1, max_size=3), st.integers(0, 255))
def test_only_packet_errors_escape_decode_of_mutated_bodies_signed_again(
    packet: Packet4, mutations: list[tuple[str, int]], byte: int
) -> None:
    key, nonce, prev, body = packet
    encoded = encode_body(bytes(key.verify_key), nonce, prev, body)
    _decode_or_packet_error(signed_frame(_mutate(encoded, mutations, byte), key=key))


_ANY_VALUE = st.recursive(
    st.one_of(
        st.integers(-(2**70), 2**70),
        st.binary(max_size=40),
        st.none(),
        st.booleans(),
        st.text(max_size=8),
        st.floats(allow_nan=True),
    ),
    lambda inner: st.lists(inner, max_size=9),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.integers(-1, 300), st.lists(_ANY_VALUE, max_size=9))
def test_only_malformed_escapes_body_from_wire(kind: int, fields: list[object]) -> None:
    with contextlib.suppress(Malformed):
        body_from_wire(kind, fields)


def _nodes(fields: list[object]) -> list[tuple[list[object], int]]:
    """Every (parent list, index) inside ``fields``, iteratively."""
    out: list[tuple[list[object], int]] = []
    stack = [fields]
    while stack:
        node = stack.pop()
        for i, child in enumerate(node):
            out.append((node, i))
            if isinstance(child, list):
                stack.append(child)
    return out


@settings(max_examples=100, deadline=None)
@given(bodies(), st.data())
def test_only_malformed_escapes_body_from_wire_for_damaged_valid_bodies(
    body: Body, data: st.DataObject
) -> None:
    fields = body_to_wire(body)
    parent, index = data.draw(st.sampled_from(_nodes(fields)), label="node")
    op = data.draw(st.sampled_from(["replace", "delete", "append"]), label="op")
    if op == "replace":
        parent[index] = data.draw(_ANY_VALUE, label="value")
    elif op == "delete":
        del parent[index]
    else:
        parent.append(data.draw(_ANY_VALUE, label="value"))
    with contextlib.suppress(Malformed):
        body_from_wire(int(body.KIND), fields)


# --------------------------------------------------------------------------- constants and genesis


def test_frame_constants_are_as_designed() -> None:
    assert constants.VERSION == 1
    assert constants.LEDGER_MARKER == 0x01
    assert constants.LINK_MARKER_MIN == 0x80
    assert constants.MAX_FRAME == 1200
    assert constants.LEDGER_TTL == 0
    assert constants.PREFIX_LEN == 4
    assert constants.SIGNATURE_LEN == 64
    assert constants.HASH_LEN == 8
    assert constants.SIGN_DOMAIN == b"BCM/v1"
    assert constants.GENESIS_DOMAIN == b"BCM/genesis/v1"
    assert constants.TREASURY_KEY == b"\xff" * 32
    assert constants.FRAGMENT_HEADER_LEN == 6
    assert constants.BLE_SERVICE_UUID == "12345678-1234-5678-1234-567812345678"


def test_ledger_limits_and_table_defaults_are_as_designed() -> None:
    assert constants.CRAP == 1_000_000
    assert constants.HOLDBACK_WINDOW == 64
    assert constants.HOLDBACK_TOTAL == 20_000
    assert constants.DEFAULT_MAX_PLAYERS == 8
    assert constants.MAX_CHAIN_N == 65_535
    assert constants.MAX_BETS_PER_PACKET == 8


def test_sealed_frame_starts_with_version_ttl_zero_and_prefix() -> None:
    frame = CODEC.seal(KEY, 1, ZERO, Bet(GAME, 7, (BetEntry(BetType.Pass, 5),)))
    assert frame[0] == 0x01
    assert frame[1] == 0
    assert frame[2:6] == NETWORK[:4]
    assert CODEC.open(frame).ttl == 0


def test_genesis_local_is_as_designed() -> None:
    crap = 1_000_000
    assert LOCAL.name == "local"
    assert LOCAL.play_money is True
    assert LOCAL.faucet_amount == 100_000 * crap
    assert LOCAL.min_account == 0
    assert LOCAL.treasury_reserve == 0
    assert LOCAL.house_key is None
    assert LOCAL.grants == ()
    bounds = LOCAL.bounds
    assert [bounds.min_bet_lo, bounds.max_bet_hi, bounds.max_players, bounds.bond_lo] == [
        1 * crap,
        100_000 * crap,
        16,
        1 * crap,
    ]


def test_network_id_is_sha256_of_domain_and_genesis_array() -> None:
    crap = 1_000_000
    array = ["local", True, 100_000 * crap, 0, 0, None, [], [crap, 100_000 * crap, 16, crap]]
    expected = hashlib.sha256(b"BCM/genesis/v1" + msgpack.packb(array, use_bin_type=True))
    assert LOCAL.network_id == expected.digest()
    assert CODEC.prefix == expected.digest()[:4]


# --------------------------------------------------------------------------- size


def test_realistic_single_bet_frame_is_149_bytes() -> None:
    body = Bet(GAME, MAX_U32, (BetEntry(BetType.OddsCome, MAX_U64, 10),))
    frame = CODEC.seal(KEY, MAX_U32, PREV, body)
    assert len(frame) <= 150
    assert len(frame) == 149
    assert CODEC.decode(frame).body == body


def test_bet_with_eight_maximal_entries_fits_one_frame() -> None:
    entries = tuple(BetEntry(BetType.OddsDontCome, MAX_U64, 10) for _ in range(8))
    frame = CODEC.seal(KEY, MAX_U32, PREV, Bet(GAME, MAX_U32, entries))
    assert len(frame) <= constants.MAX_FRAME
    assert CODEC.decode(frame).body.bets == entries  # type: ignore[attr-defined]


def test_largest_strategy_bodies_fit_one_frame() -> None:
    reveal = RevealCopy(255, MAX_U32, bytes(32))
    released = Released(255, MAX_U32, 255)
    included = Included(255, MAX_U32, 255, 255, MAX_U64, 255)
    seats = (255,) * 4
    largest = [
        RollOpen(
            GAME,
            MAX_U32,
            bytes(32),
            (reveal,) * ROLL_OPEN_MAX_REVEALS,
            seats,
            (Decline(b"\xee" * 32, MAX_U32),) * 2,
            (JoinCopy(b"\xee" * 32, MAX_U32, PREV, bytes(32), 0xFFFF),) * 2,
            (released,) * ROLL_OPEN_MAX_ENTRIES,
            (included,) * ROLL_OPEN_MAX_ENTRIES,
            seats,
        ),
        Void(GAME, MAX_U32, (255,) * VOID_MAX_SEATS, (reveal,) * VOID_MAX_SEATS),
        GameEnd(GAME, MAX_U32, (reveal,) * GAME_END_MAX_REVEALS),
    ]
    for body in largest:
        frame = CODEC.seal(KEY, MAX_U32, PREV, body)
        assert len(frame) <= constants.MAX_FRAME
        assert CODEC.decode(frame).body == body


def test_deeply_nested_field_is_refused_without_recursion_error() -> None:
    head = envelope_items()
    depth = 1200 - 70 - 1 - sum(map(len, head)) - len(p(GAME)) - len(p(7))
    deep = b"\x91" * (depth - 1) + b"\x90"
    frame = signed_frame(raw_body(*head, p(GAME), p(7), deep))
    assert len(frame) == 1200
    error = decode_error(frame)
    assert isinstance(error, Malformed)


def test_frames_of_one_sender_share_one_sender_object_and_name_it_in_bodies() -> None:
    # the replica's maps keyed by sender then find their keys by identity
    codec = FrameCodec(NETWORK)
    first = codec.open(codec.seal(KEY, 1, ZERO, Transfer(SENDER, 5, ())))
    second = codec.open(codec.seal(KEY, 2, PREV, Transfer(SENDER, 5, ())))
    assert first.sender == SENDER and second.sender is first.sender
    body = decode_body(second).body
    assert isinstance(body, Transfer) and body == Transfer(SENDER, 5, ())
    assert body.to is first.sender
