"""protocol/link.py: every link message round-trips, fits a datagram, and anything else is a
LinkError (never another exception)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.constants import MAX_FRAME, MAX_NONCE
from protocol.errors import LinkError
from protocol.genesis import LOCAL
from protocol.link import (
    BISECT_MAX_PROBES,
    LISTING_MAX,
    MAX_SPANS,
    MAX_WANTS,
    AeEntry,
    Announce,
    Bisect,
    Digest,
    Fingerprint,
    Graft,
    Hello,
    LinkMessage,
    LinkType,
    Listing,
    Ping,
    Pong,
    Probe,
    Proof,
    Prune,
    Ranges,
    Skip,
    Span,
    Want,
    WantItem,
    decode_link,
    encode_link,
    fingerprint,
    hello_signed,
    ping_signed,
    pong_signed,
    separator,
)

u32 = st.integers(0, MAX_NONCE)
nonce = st.integers(1, MAX_NONCE)
key = st.binary(min_size=32, max_size=32)
h16 = st.binary(min_size=16, max_size=16).filter(any)


@st.composite
def spans(draw: st.DrawFn) -> tuple[Span, ...]:
    out = []
    for _ in range(draw(st.integers(1, MAX_SPANS))):
        lo = draw(nonce)
        out.append(Span(draw(key), lo, draw(st.integers(lo, MAX_NONCE))))
    return tuple(out)


@st.composite
def want(draw: st.DrawFn) -> Want:
    items = []
    for _ in range(draw(st.integers(1, MAX_WANTS))):
        lo = draw(nonce)
        if draw(st.booleans()):
            items.append(WantItem(draw(key), lo, lo, draw(st.binary(min_size=8, max_size=8))))
        else:
            items.append(WantItem(draw(key), lo, draw(st.integers(lo, MAX_NONCE))))
    return Want(tuple(items))


@st.composite
def entry(draw: st.DrawFn, sender: bytes) -> AeEntry:
    a = draw(h16)
    if draw(st.booleans()):
        b = draw(h16.filter(lambda x: x > a))
        return AeEntry(sender, draw(nonce), a, b)
    return AeEntry(sender, draw(nonce), a)


@st.composite
def yours(draw: st.DrawFn) -> tuple[int, bytes, bytes]:
    n = draw(u32)
    if n == 0:
        return (0, b"", b"")
    e = draw(entry(b"\x00" * 32))
    return (n, e.a, e.b)


@st.composite
def ranges(draw: st.DrawFn) -> Ranges:
    keys = sorted(set(draw(st.lists(key, min_size=1, max_size=40))))
    start = b""
    if draw(st.booleans()):
        start = keys[0][: draw(st.integers(1, 32))]
        keys = [k for k in keys if k >= start]
    bounds: list[bytes | None] = []
    lo = start
    for k in keys[:: max(1, len(keys) // 4)]:
        if k > lo:
            bound = k[: draw(st.integers(1, 32))]
            if bound > lo:
                bounds.append(bound)
                lo = bound
    if draw(st.booleans()) or not bounds:
        bounds.append(None)  # the slice reaches the end of the key space
    items = []
    lo = start
    for bound in bounds:
        mode = draw(st.integers(0, 2))
        if mode == 0:
            items.append(Skip(bound))
        elif mode == 1:
            items.append(Fingerprint(bound, draw(u32), draw(st.binary(min_size=16, max_size=16))))
        else:
            inside = [k for k in keys if k >= lo and (bound is None or k < bound)]
            chosen = inside[: draw(st.integers(0, min(4, LISTING_MAX)))]
            items.append(Listing(bound, tuple(draw(entry(k)) for k in chosen)))
        lo = bound if bound is not None else lo
    return Ranges(draw(u32), start, tuple(items))


@st.composite
def bisect(draw: st.DrawFn) -> Bisect:
    lo = draw(st.integers(1, 10_000))
    hi = draw(st.integers(lo, lo + 10_000))
    nonces = sorted(set(draw(st.lists(st.integers(lo, hi), max_size=BISECT_MAX_PROBES - 1))) - {hi})
    probes = tuple(Probe(n, draw(st.binary(min_size=16, max_size=16))) for n in [*nonces, hi])
    return Bisect(draw(key), lo, hi, probes)


messages = st.one_of(
    st.builds(Hello, st.binary(min_size=4, max_size=4), key, st.binary(min_size=16, max_size=16)),
    st.builds(
        Proof,
        st.binary(min_size=4, max_size=4),
        key,
        st.binary(min_size=16, max_size=16),
        st.binary(min_size=16, max_size=16),
        st.binary(min_size=64, max_size=64),
    ),
    st.builds(Ping, key, u32, st.integers(1, 255), st.binary(min_size=64, max_size=64)),
    st.builds(Pong, key, u32, key, st.integers(0, 255), st.binary(min_size=64, max_size=64)),
    st.just(Prune()),
    st.builds(Graft, spans()),
    st.builds(Announce, spans()),
    want(),
    st.builds(
        Digest,
        u32,
        st.just(True),
        st.booleans(),
        u32,
        st.binary(min_size=16, max_size=16),
        yours(),
    ),
    st.builds(
        Digest,
        u32,
        st.just(False),
        st.just(False),
        u32,
        st.binary(min_size=16, max_size=16),
        yours(),
    ),
    ranges(),
    bisect(),
)


@given(messages)
@settings(max_examples=400)
def test_every_message_round_trips_within_one_datagram(msg: LinkMessage) -> None:
    data = encode_link(msg)
    assert len(data) <= MAX_FRAME
    assert data[0] >= 0x80
    assert decode_link(data) == msg


@given(messages, st.data())
@settings(max_examples=300)
def test_a_message_cut_short_or_lengthened_is_a_link_error(
    msg: LinkMessage, data: st.DataObject
) -> None:
    raw = encode_link(msg)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(LinkError):
        decode_link(raw[:cut])
    with pytest.raises(LinkError):
        decode_link(raw + data.draw(st.binary(min_size=1, max_size=8)))


@given(st.binary(min_size=0, max_size=1300))
@settings(max_examples=500)
def test_any_bytes_decode_or_raise_only_a_link_error(raw: bytes) -> None:
    try:
        msg = decode_link(raw)
    except LinkError:
        return
    assert encode_link(msg) == raw  # what decodes is canonical: one encoding per message


@given(messages, st.data())
@settings(max_examples=300)
def test_a_flipped_byte_decodes_canonically_or_raises_a_link_error(
    msg: LinkMessage, data: st.DataObject
) -> None:
    raw = bytearray(encode_link(msg))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    try:
        got = decode_link(bytes(raw))
    except LinkError:
        return
    assert encode_link(got) == bytes(raw)


K = bytes(range(32))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (bytes([0x8F]), "type 0x8f"),
        (bytes([0x84, 0]), "trailing"),
        (bytes([LinkType.GRAFT, 0]), "0 spans"),
        (bytes([LinkType.GRAFT, 1]) + K + (5).to_bytes(4, "big") + (4).to_bytes(4, "big"), "range"),
        (bytes([LinkType.ANNOUNCE, 1]) + K + bytes(4) + (4).to_bytes(4, "big"), "range"),
        (bytes([LinkType.WANT, 1, 2]) + K + bytes(8), "flags"),
        (bytes([LinkType.WANT, 1, 1]) + K + b"\0\0\0\1\0\0\0\2" + bytes(8), "one nonce"),
        (bytes([LinkType.PING]) + K + bytes(4) + b"\0" + bytes(64), "ttl 0"),
        (bytes([LinkType.DIGEST]) + bytes(4) + b"\x02" + bytes(4 + 16 + 4 + 32), "flags"),
        (bytes([LinkType.DIGEST]) + bytes(9 + 16) + b"\0\0\0\0" + b"\1" * 16 + bytes(16), "empty"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\0\0", "no range"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\0\x02\xff\x00\x01\x05\x00", "only the last"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\0\x01\xff\x03", "mode"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\0\x02\x00\x00\xff\x00", "empty range bound"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\0\x03\x01\x05\x00\x01\x05\x00\xff\x00", "order"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\x01\x09\x01\x01\x05\x00", "order"),
        (bytes([LinkType.RANGES]) + bytes(4) + b"\x21" + bytes(33) + b"\x01\xff\x00", "start"),
        (bytes([LinkType.BISECT]) + K + b"\0\0\0\1\0\0\0\x09\x01" + b"\0\0\0\5" + bytes(16), "top"),
        (bytes([LinkType.BISECT]) + K + b"\0\0\0\1\0\0\0\x09\x00", "probes"),
    ],
)
def test_malformed_messages_are_link_errors(raw: bytes, why: str) -> None:
    with pytest.raises(LinkError) as info:
        decode_link(raw)
    assert why in str(info.value)


def test_a_listing_entry_outside_its_range_is_refused() -> None:
    good = Ranges(7, b"", (Skip(b"\x80"), Listing(None, (AeEntry(b"\x90" * 32, 3, b"\x01" * 16),))))
    raw = encode_link(good)
    assert decode_link(raw) == good
    bad = raw.replace(b"\x90" * 32, b"\x10" * 32)
    with pytest.raises(LinkError, match="outside its range"):
        decode_link(bad)


def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(ValueError, match="does not encode"):
        encode_link(Hello(b"abc", K, bytes(16)))
    with pytest.raises(ValueError, match="does not encode"):
        encode_link(Graft(()))
    with pytest.raises(ValueError, match="does not encode"):
        encode_link(Graft(tuple(Span(K, 1, 1) for _ in range(MAX_SPANS + 1))))


def test_largest_messages_fit_one_datagram() -> None:
    biggest_want = Want(tuple(WantItem(K, 1, 1, bytes(8)) for _ in range(MAX_WANTS)))
    assert len(encode_link(biggest_want)) == 2 + MAX_WANTS * 49 <= MAX_FRAME
    assert len(encode_link(Graft(tuple(Span(K, 1, 2) for _ in range(MAX_SPANS))))) == 1162
    listing = tuple(AeEntry(bytes([i]) * 32, 1, b"\x01" * 16, b"\x02" * 16) for i in range(16))
    assert (
        len(encode_link(Ranges(0, b"", (Listing(None, listing),))))
        == 1 + 4 + 1 + 1 + 1 + 2 + 16 * 68
    )


def test_separator_is_the_shortest_prefix_between_two_keys() -> None:
    assert separator(b"\x10\x20" + bytes(30), b"\x10\x30" + bytes(30)) == b"\x10\x30"
    assert separator(b"\x0f" + bytes(31), b"\x10" + bytes(31)) == b"\x10"
    low, high = b"\x10" + bytes(31), b"\x10" + bytes(30) + b"\x01"
    bound = separator(low, high)
    assert low < bound <= high


def test_fingerprint_depends_on_every_entry_and_its_order() -> None:
    e1, e2 = AeEntry(b"\x01" * 32, 1, b"\x01" * 16), AeEntry(b"\x02" * 32, 2, b"\x02" * 16)
    assert fingerprint([e1, e2]) != fingerprint([e2, e1])
    assert fingerprint([e1]) != fingerprint([e1, e2])
    assert len(fingerprint([])) == 16


# --------------------------------------------------------------------------- vectors

ROOT = Path(__file__).resolve().parents[1]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "link.json").read_text())


def _json(value: Any) -> Any:
    """A decoded message as the vectors write it: bytes as hex, items by field name."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, Skip | Fingerprint | Listing):
        out = {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out["mode"] = type(value).__name__.lower()
        if isinstance(value, Skip):
            out["mode"] = "skip"
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["description"][:40])
def test_valid_link_vector_decodes_to_its_fields_and_back(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    msg = decode_link(raw)
    assert type(msg).__name__.lower() == vector["type"]
    fields = {k: v for k, v in vector["fields"].items() if k != "signed_hex"}
    assert _json(msg) == fields
    assert encode_link(msg) == raw
    assert len(raw) == vector["size"]


def test_the_signatures_in_the_vectors_bind_what_the_protocol_says() -> None:
    by_type = {v["type"]: decode_link(bytes.fromhex(v["hex"])) for v in VECTORS["valid"]}
    alice = bytes.fromhex(VECTORS["keys"]["alice"])
    bob = bytes.fromhex(VECTORS["keys"]["bob"])
    nid = LOCAL.network_id
    proof, ping, pong = by_type["proof"], by_type["ping"], by_type["pong"]
    assert isinstance(proof, Proof) and isinstance(ping, Ping) and isinstance(pong, Pong)
    signed = hello_signed(nid, proof.answer, proof.challenge, proof.key, alice)
    nacl.signing.VerifyKey(bob).verify(signed, proof.signature)
    nacl.signing.VerifyKey(alice).verify(ping_signed(nid, alice, ping.ping_id), ping.signature)
    nacl.signing.VerifyKey(bob).verify(pong_signed(nid, alice, pong.ping_id, bob), pong.signature)


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["description"])
def test_invalid_link_vector_is_a_link_error(vector: dict[str, Any]) -> None:
    with pytest.raises(LinkError):
        decode_link(bytes.fromhex(vector["hex"]))


def test_every_link_type_has_a_vector() -> None:
    assert {v["type"] for v in VECTORS["valid"]} == {t.name.lower() for t in LinkType}


def test_link_vectors_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_link_vectors.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
