"""Generate ``tests/vectors/link.json``: byte-level vectors of every link message.

The bytes are assembled here by hand (``struct``, Ed25519 and SHA-256 directly), never through
``protocol.link``, so the tests compare two independent encoders.  Keys come from fixed seeds
(``SHA-256(b"BCM/test-vector-key/" + name)``) on the ``local`` network; challenges, sessions and
ids are fixed.  ``python scripts/gen_link_vectors.py [--check]`` from the repo root.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nacl.signing  # noqa: E402

from protocol.genesis import LOCAL  # noqa: E402

OUT: Final = ROOT / "tests" / "vectors" / "link.json"
NETWORK_ID: Final = LOCAL.network_id
PREFIX: Final = NETWORK_ID[:4]


def key(name: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(b"BCM/test-vector-key/" + name.encode()).digest())


def pub(name: str) -> bytes:
    return bytes(key(name).verify_key)


def fixed(label: str, n: int) -> bytes:
    return hashlib.sha256(b"BCM/test-vector-bytes/" + label.encode()).digest()[:n]


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def entry(sender: bytes, n: int, a: bytes, b: bytes = bytes(16)) -> bytes:
    return sender + u32(n) + a + b


def fingerprint(entries: list[bytes]) -> bytes:
    return hashlib.sha256(b"BCM/ae/v1" + b"".join(entries)).digest()[:16]


def vectors() -> dict[str, Any]:
    alice, bob = pub("alice"), pub("bob")
    ca, cb = fixed("challenge-alice", 16), fixed("challenge-bob", 16)
    valid: list[dict[str, Any]] = []

    def add(kind: str, description: str, data: bytes, fields: dict[str, Any]) -> None:
        valid.append(
            {
                "type": kind,
                "description": description,
                "hex": data.hex(),
                "size": len(data),
                "fields": fields,
            }
        )

    add(
        "hello",
        "alice opens a link: network prefix, key, challenge",
        b"\x80" + PREFIX + alice + ca,
        {"prefix": PREFIX.hex(), "key": alice.hex(), "challenge": ca.hex()},
    )
    signed = b"BCM/link/v1" + NETWORK_ID + ca + cb + bob + alice
    sig_b = key("bob").sign(signed).signature
    add(
        "proof",
        "bob answers alice's challenge and sends his own; signed over "
        "b'BCM/link/v1' || network_id || answer || challenge || bob || alice",
        b"\x81" + PREFIX + bob + cb + ca + sig_b,
        {
            "prefix": PREFIX.hex(),
            "key": bob.hex(),
            "challenge": cb.hex(),
            "answer": ca.hex(),
            "signature": sig_b.hex(),
            "signed_hex": signed.hex(),
        },
    )
    ping_signed = b"BCM/ping/v1" + NETWORK_ID + alice + u32(7)
    sig_p = key("alice").sign(ping_signed).signature
    add(
        "ping",
        "alice's mesh ping 7, 8 hops left (the ttl is not signed)",
        b"\x82" + alice + u32(7) + b"\x08" + sig_p,
        {
            "origin": alice.hex(),
            "ping_id": 7,
            "ttl": 8,
            "signature": sig_p.hex(),
            "signed_hex": ping_signed.hex(),
        },
    )
    pong_signed = b"BCM/pong/v1" + NETWORK_ID + alice + u32(7) + bob
    sig_q = key("bob").sign(pong_signed).signature
    add(
        "pong",
        "bob answers alice's ping 7; one hop back so far",
        b"\x83" + alice + u32(7) + bob + b"\x01" + sig_q,
        {
            "origin": alice.hex(),
            "ping_id": 7,
            "responder": bob.hex(),
            "hops": 1,
            "signature": sig_q.hex(),
            "signed_hex": pong_signed.hex(),
        },
    )
    add("prune", "stop pushing relayed packets to me", b"\x84", {})
    add(
        "graft",
        "send me alice's 3..9 and push to me again",
        b"\x85\x01" + alice + u32(3) + u32(9),
        {"spans": [{"sender": alice.hex(), "lo": 3, "hi": 9}]},
    )
    add(
        "announce",
        "I hold alice's 10..12 and bob's 1",
        b"\x86\x02" + alice + u32(10) + u32(12) + bob + u32(1) + u32(1),
        {
            "spans": [
                {"sender": alice.hex(), "lo": 10, "hi": 12},
                {"sender": bob.hex(), "lo": 1, "hi": 1},
            ]
        },
    )
    h = fixed("h", 8)
    add(
        "want",
        "alice's 5..6, and every version of bob's 2 whose h is given",
        b"\x87\x02" + b"\x00" + alice + u32(5) + u32(6) + b"\x01" + bob + u32(2) + u32(2) + h,
        {
            "items": [
                {"sender": alice.hex(), "lo": 5, "hi": 6, "h": None},
                {"sender": bob.hex(), "lo": 2, "hi": 2, "h": h.hex()},
            ]
        },
    )
    a16, b16 = fixed("c-alice", 16), fixed("c-bob", 16)
    entries = sorted([entry(alice, 12, a16), entry(bob, 3, b16)])
    fp = fingerprint(entries)
    yours = fixed("yours", 16)
    add(
        "digest",
        "start a round: 2 entries and their fingerprint; the recipient's own entry "
        "(HWM 4) as the sender knows it",
        b"\x88" + u32(0x01020304) + b"\x00" + u32(2) + fp + u32(4) + yours + bytes(16),
        {
            "session": 0x01020304,
            "reply": False,
            "match": False,
            "count": 2,
            "fingerprint": fp.hex(),
            "yours": [4, yours.hex(), ""],
        },
    )
    add(
        "digest",
        "the answer: the digests match; the recipient's entry unknown (HWM 0)",
        b"\x88" + u32(0x01020304) + b"\x03" + u32(2) + fp + u32(0) + bytes(32),
        {
            "session": 0x01020304,
            "reply": True,
            "match": True,
            "count": 2,
            "fingerprint": fp.hex(),
            "yours": [0, "", ""],
        },
    )
    lo_keys = sorted([alice, bob])
    bound = lo_keys[1][:1] if lo_keys[0][0] != lo_keys[1][0] else lo_keys[1][:2]
    first = [e for e in entries if e[:32] < bound]
    add(
        "ranges",
        "two ranges: up to a 1-byte bound a fingerprint of 1 entry, then the rest "
        "of the key space listed (1 entry)",
        b"\x89"
        + u32(9)
        + b"\x00"
        + b"\x02"
        + bytes((len(bound),))
        + bound
        + b"\x01"
        + u32(len(first))
        + fingerprint(first)
        + b"\xff"
        + b"\x02\x01"
        + next(e for e in entries if e[:32] >= bound),
        {
            "session": 9,
            "start": "",
            "items": [
                {
                    "mode": "fingerprint",
                    "bound": bound.hex(),
                    "count": len(first),
                    "fingerprint": fingerprint(first).hex(),
                },
                {
                    "mode": "listing",
                    "bound": None,
                    "entries": [_entry_json(e) for e in entries if e[:32] >= bound],
                },
            ],
        },
    )
    fork_a, fork_b = sorted([fixed("fork-1", 16), fixed("fork-2", 16)])
    add(
        "ranges",
        "one range, the whole key space: a forked sender listed (fork nonce 5, its two "
        "versions' hash prefixes, ascending)",
        b"\x89"
        + u32(10)
        + b"\x00"
        + b"\x01"
        + b"\xff"
        + b"\x02\x01"
        + entry(alice, 5, fork_a, fork_b),
        {
            "session": 10,
            "start": "",
            "items": [
                {
                    "mode": "listing",
                    "bound": None,
                    "entries": [
                        {"sender": alice.hex(), "n": 5, "a": fork_a.hex(), "b": fork_b.hex()}
                    ],
                }
            ],
        },
    )
    fp3 = fixed("three", 16)
    add(
        "ranges",
        "one message of a longer answer: the slice of the key space from 0x40 to 0x80, "
        "3 entries there and their fingerprint",
        b"\x89" + u32(11) + b"\x01\x40" + b"\x01" + b"\x01\x80" + b"\x01" + u32(3) + fp3,
        {
            "session": 11,
            "start": "40",
            "items": [{"mode": "fingerprint", "bound": "80", "count": 3, "fingerprint": fp3.hex()}],
        },
    )
    p1, p2 = fixed("probe-1", 16), fixed("probe-2", 16)
    add(
        "bisect",
        "alice's chains agree below 1 and differ at 40: C[:16] at 20 and 40",
        b"\x8a" + alice + u32(1) + u32(40) + b"\x02" + u32(20) + p1 + u32(40) + p2,
        {
            "sender": alice.hex(),
            "lo": 1,
            "hi": 40,
            "probes": [{"nonce": 20, "c16": p1.hex()}, {"nonce": 40, "c16": p2.hex()}],
        },
    )
    invalid = [
        ("undefined type", bytes([0x8F])),
        ("prune with a trailing byte", b"\x84\x00"),
        ("hello cut short", b"\x80" + PREFIX + alice),
        ("graft of 0 spans", b"\x85\x00"),
        ("announce of 30 spans", b"\x86\x1e" + (alice + u32(1) + u32(1)) * 30),
        ("span with lo > hi", b"\x85\x01" + alice + u32(9) + u32(3)),
        ("span with lo 0", b"\x85\x01" + alice + u32(0) + u32(3)),
        ("want by hash over two nonces", b"\x87\x01\x01" + alice + u32(2) + u32(3) + h),
        ("want item flags 2", b"\x87\x01\x02" + alice + u32(2) + u32(3)),
        ("ping with ttl 0", b"\x82" + alice + u32(7) + b"\x00" + sig_p),
        (
            "digest flags 2 (match without reply)",
            b"\x88" + u32(1) + b"\x02" + u32(2) + fp + u32(0) + bytes(32),
        ),
        (
            "digest: an entry of HWM 0 with a hash",
            b"\x88" + u32(1) + b"\x00" + u32(2) + fp + u32(0) + yours + bytes(16),
        ),
        (
            "ranges reaching the end before their last range",
            b"\x89" + u32(1) + b"\x00\x02\xff\x00\x01\x10\x00",
        ),
        (
            "ranges whose first bound is not above the start",
            b"\x89" + u32(1) + b"\x01\x20\x01\x01\x10\x00",
        ),
        (
            "ranges bounds not increasing",
            b"\x89" + u32(1) + b"\x00\x03\x01\x20\x00\x01\x10\x00\xff\x00",
        ),
        (
            "ranges listing out of key order",
            b"\x89" + u32(1) + b"\x00\x01\xff\x02\x02" + entries[1] + entries[0],
        ),
        (
            "bisect whose last probe is not its top",
            b"\x8a" + alice + u32(1) + u32(40) + b"\x01" + u32(20) + p1,
        ),
        ("oversize", b"\x84" + bytes(1200)),
    ]
    return {
        "description": "Link messages (docs/PROTOCOL.md, Link messages) on the 'local' network; "
        "each valid vector decodes to its fields and encodes back to its bytes; each invalid "
        "one is a LinkError (code 14).",
        "network_id_hex": NETWORK_ID.hex(),
        "keys": {"alice": alice.hex(), "bob": bob.hex()},
        "valid": valid,
        "invalid": [
            {"description": d, "hex": raw.hex(), "error": "LinkError"} for d, raw in invalid
        ],
    }


def _entry_json(raw: bytes) -> dict[str, Any]:
    sender, n, a, b = raw[:32], struct.unpack(">I", raw[32:36])[0], raw[36:52], raw[52:68]
    return {"sender": sender.hex(), "n": n, "a": a.hex(), "b": "" if b == bytes(16) else b.hex()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file; write nothing")
    args = parser.parse_args(argv)
    text = json.dumps(vectors(), indent=1) + "\n"
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is out of date: run python scripts/gen_link_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
