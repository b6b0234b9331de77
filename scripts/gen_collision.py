"""Regenerate tests/vectors/h_collision.json: two validly signed versions of one packet whose
8-byte h are equal (a real birthday collision of the wire reference, about 2^32 SHA-256s).

Both are transfers at nonce 1 of the test key ``collision`` on the ``local`` network; they differ
in the last 8 bytes of ``to``.  scripts/h_collision.c does the search (it needs gcc and the
OpenSSL headers; about 20 minutes on one core).  Run from the repository root:
``python scripts/gen_collision.py``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nacl.signing

from protocol.constants import CRAP, SIGN_DOMAIN, ZERO_PREV
from protocol.frame import FrameCodec, encode_body
from protocol.genesis import LOCAL
from protocol.kinds import Transfer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "vectors" / "h_collision.json"
KEY_SEED = "bcm-ledger-test/collision"  # tests/ledger_factory.signing_key("collision")
AMOUNT = 5 * CRAP


def _to(tail: bytes) -> bytes:
    return hashlib.sha256(b"bcm-collision/to").digest()[:24] + tail


def main() -> int:
    key = nacl.signing.SigningKey(hashlib.sha256(KEY_SEED.encode()).digest())
    sender = bytes(key.verify_key)
    marker = b"\xa5" * 8
    body = encode_body(sender, 1, ZERO_PREV, Transfer(_to(marker), AMOUNT, ()))
    message = SIGN_DOMAIN + LOCAL.network_id + body
    offset = message.index(marker)
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "h_collision"
        subprocess.run(
            [
                "gcc",
                "-O3",
                "-march=native",
                "-Wno-deprecated-declarations",
                "-o",
                str(program),
                str(ROOT / "scripts" / "h_collision.c"),
                "-lcrypto",
            ],
            check=True,
        )
        found = subprocess.run(
            [str(program), message.hex(), str(offset)], check=True, capture_output=True, text=True
        ).stdout.split()
    codec = FrameCodec(LOCAL.network_id)
    frames = [
        codec.seal(key, 1, ZERO_PREV, Transfer(_to(bytes.fromhex(tail)), AMOUNT, ()))
        for tail in found
    ]
    opened = [codec.open(frame) for frame in frames]
    if opened[0].h != opened[1].h or opened[0].full_hash == opened[1].full_hash:
        print("the search returned no collision", file=sys.stderr)
        return 1
    OUT.write_text(
        json.dumps(
            {
                "description": "two versions of (collision, 1) on the local network with equal h",
                "network": "local",
                "h": opened[0].h.hex(),
                "versions": [
                    {"frame": f.hex(), "full_hash": e.full_hash.hex()}
                    for f, e in zip(frames, opened, strict=True)
                ],
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)}: h = {opened[0].h.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
