"""Generate ``tests/vectors/dice.json``: the chains, seeds and dice of TABLES.md §3, byte for byte.

Computed here with ``hashlib``/``hmac`` directly and the domain strings spelled out, never through
``node.core.craps.dice``, so the tests compare two independent implementations.  Keys are the test-
vector keys of ``scripts/gen_vectors.py`` (SHA-256("BCM/test-vector-key/" ‖ name)).  It never
reads the clock or a random source.  ``python scripts/gen_dice_vectors.py [--check]``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nacl.signing  # noqa: E402

from protocol.genesis import LOCAL  # noqa: E402

TARGET: Final = ROOT / "tests" / "vectors" / "dice.json"
CHAIN: Final = b"BCM/chain/v1"
CHAIN_KEY: Final = b"BCM/chain-key/v1"
SEED: Final = b"BCM/seed/v1"
DICE: Final = b"BCM/dice/v1"
GAME_ID: Final = bytes.fromhex("0123456789abcdef")
CHAIN_N: Final = 8


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def key_seed(name: str) -> bytes:
    return sha256(b"BCM/test-vector-key/" + name.encode())


def public(name: str) -> bytes:
    return bytes(nacl.signing.SigningKey(key_seed(name)).verify_key)


def u32be(value: int) -> bytes:
    return value.to_bytes(4, "big")


def chain_values(seed: bytes, length: int) -> list[bytes]:
    """c_0 … c_N."""
    values = [sha256(CHAIN + seed)]
    for _ in range(length):
        values.append(sha256(CHAIN + values[-1]))
    return values


def chain_seed(name: str, role: bytes) -> tuple[bytes, bytes]:
    """(K_chain, seed) of test key ``name`` for ``role`` on the local network."""
    k_chain = sha256(CHAIN_KEY + key_seed(name))
    return k_chain, hmac.new(k_chain, SEED + LOCAL.network_id + role, hashlib.sha256).digest()


def dice_of(seed_k: bytes) -> tuple[list[int], bytes]:
    """The two dice, and the stream bytes read to find them."""
    stream, dice, counter, block = b"", [], 0, seed_k
    while True:
        for byte in block:
            stream += bytes([byte])
            if byte < 252:
                dice.append(byte % 6 + 1)
                if len(dice) == 2:
                    return dice, stream
        counter += 1
        block = sha256(seed_k + u32be(counter))


def build() -> dict[str, Any]:
    host = public("host")
    create_role = b"create" + u32be(1)
    host_k, host_seed = chain_seed("host", create_role)
    host_chain = chain_values(host_seed, CHAIN_N)
    parties = {1: "alice", 2: "bob", 3: "carol"}
    seats = {}
    for seat, name in parties.items():
        role = b"join" + host + GAME_ID + u32be(seat + 1)
        k_chain, seed = chain_seed(name, role)
        seats[seat] = {
            "name": name,
            "join_nonce": seat + 1,
            "role_hex": role.hex(),
            "k_chain_hex": k_chain.hex(),
            "seed_hex": seed.hex(),
            "chain": chain_values(seed, CHAIN_N),
        }
    rolls = []
    listed_by_roll = {1: [1], 2: [1, 2, 3], 3: [2, 3]}
    for k, listed in listed_by_roll.items():
        host_preimage = host_chain[CHAIN_N - k]
        preimages = [(seat, seats[seat]["chain"][CHAIN_N - k]) for seat in listed]
        data = DICE + LOCAL.network_id + host + GAME_ID + u32be(k) + host_preimage
        data += b"".join(pre for _, pre in preimages)
        seed_k = sha256(data)
        dice, stream = dice_of(seed_k)
        rolls.append(
            {
                "k": k,
                "host_preimage_hex": host_preimage.hex(),
                "seat_preimages": [[seat, pre.hex()] for seat, pre in preimages],
                "input_hex": data.hex(),
                "seed_k_hex": seed_k.hex(),
                "stream_read_hex": stream.hex(),
                "dice": dice,
            }
        )
    streams = []
    for label, seed_k in [
        ("all 0xff: the first block gives nothing, the dice come from SHA-256(seed ‖ u32be(1))",
         b"\xff" * 32),
        ("one die in the first block (its last byte), the second from the next block",
         b"\xfc" * 31 + b"\x05"),
        ("rejected bytes 252..255 before 251 and 0", bytes([252, 253, 254, 255, 251, 0]) * 5
         + b"\x00\x00"),
    ]:  # fmt: skip
        dice, stream = dice_of(seed_k)
        streams.append(
            {"about": label, "seed_k_hex": seed_k.hex(), "stream_read_hex": stream.hex(),
             "dice": dice}
        )  # fmt: skip
    return {
        "about": (
            "TABLES.md section 3 on the local network: chains c_0 = SHA-256('BCM/chain/v1' || "
            "seed), c_(i+1) = SHA-256('BCM/chain/v1' || c_i), reveals c_(N-1) .. c_0; seeds "
            "HMAC-SHA256(K_chain, 'BCM/seed/v1' || network_id || role), K_chain = "
            "SHA-256('BCM/chain-key/v1' || Ed25519 secret seed); roll k uses the k-th reveal "
            "c_(N-k) of the host and of every listed seat"
        ),
        "network_id_hex": LOCAL.network_id.hex(),
        "game_id_hex": GAME_ID.hex(),
        "chain_n": CHAIN_N,
        "host": {
            "key_seed_hex": key_seed("host").hex(),
            "public_hex": host.hex(),
            "create_nonce": 1,
            "role_hex": create_role.hex(),
            "k_chain_hex": host_k.hex(),
            "seed_hex": host_seed.hex(),
            "chain_hex": [value.hex() for value in host_chain],
        },
        "seats": {
            str(seat): {
                "key_seed_hex": key_seed(info["name"]).hex(),
                "join_nonce": info["join_nonce"],
                "role_hex": info["role_hex"],
                "k_chain_hex": info["k_chain_hex"],
                "seed_hex": info["seed_hex"],
                "head_hex": info["chain"][CHAIN_N].hex(),
            }
            for seat, info in seats.items()
        },
        "rolls": rolls,
        "streams": streams,
    }


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    args = parser.parse_args(argv)
    text = render(build())
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"{TARGET.name} is stale: run python scripts/gen_dice_vectors.py")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
