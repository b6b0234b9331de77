"""Generate the byte-level test vectors in ``tests/vectors/*.json``, deterministically.

Owns the vector files (the JSON form of bodies in them is :mod:`protocol.jsonform`'s).  Frames are
assembled here by hand (msgpack, Ed25519 and SHA-256 directly), never through ``FrameCodec.seal``,
so the tests compare two independent encoders.  It never reads the clock or a random source.
``python scripts/gen_vectors.py [--check]`` from the repo root.
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

import msgpack  # noqa: E402
import nacl.bindings  # noqa: E402
import nacl.signing  # noqa: E402

from protocol.bets import BetType  # noqa: E402
from protocol.constants import (  # noqa: E402
    CRAP,
    GENESIS_DOMAIN,
    HASH_LEN,
    MAX_FRAME,
    MAX_NONCE,
    MAX_U64,
    SIGN_DOMAIN,
    SINK_KEY,
    TREASURY_KEY,
    VERSION,
    ZERO_PREV,
)
from protocol.errors import (  # noqa: E402
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
    NotMsgpack,
    Oversize,
    PacketError,
    TrailingBytes,
    Truncated,
    UnknownDatagram,
    UnknownKind,
    UnknownVersion,
    WrongNetwork,
)
from protocol.fragment import split  # noqa: E402
from protocol.genesis import LOCAL, Bounds, Genesis  # noqa: E402
from protocol.jsonform import body_to_json, body_wire_from_json  # noqa: E402
from protocol.kinds import (  # noqa: E402
    Ack,
    Bank,
    Bet,
    BetEntry,
    Body,
    Cancel,
    Create,
    Decline,
    ExtRef,
    GameEnd,
    Included,
    Join,
    JoinCopy,
    Kind,
    Leave,
    Released,
    Reveal,
    RevealCopy,
    RollOpen,
    Seat,
    TableParams,
    Transfer,
    Void,
)

__all__ = [
    "FILES",
    "KEY_NAMES",
    "OTHER",
    "VECTOR_DIR",
    "build",
    "genesis_from_json",
    "genesis_to_json",
    "key_seed",
    "main",
    "render",
    "signing_key",
]

VECTOR_DIR: Final = ROOT / "tests" / "vectors"
FILES: Final = (
    "packets.json",
    "invalid.json",
    "genesis.json",
    "fragments.json",
    "datagrams.json",
)
KEY_DOMAIN: Final = b"BCM/test-vector-key/"
KEY_NAMES: Final = ("alice", "bob", "host", "carol")
FRAGMENT_SIZES: Final = (20, 182, 244)
FRAGMENT_FRAME_ID: Final = 0x0102
ED25519_L: Final = 2**252 + 27742317777372353535851937790883648493
"""The prime order of the Ed25519 base point."""
TORSION_8: Final = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
"""A point of order 8 (small order); added to a real key it gives a mixed-order point."""


# --------------------------------------------------------------------------- keys and values


def key_seed(name: str) -> bytes:
    """The 32-byte Ed25519 seed of test key ``name``: SHA-256(b"BCM/test-vector-key/" ‖ name)."""
    return hashlib.sha256(KEY_DOMAIN + name.encode()).digest()


def signing_key(name: str) -> nacl.signing.SigningKey:
    """The signing key of test key ``name``."""
    return nacl.signing.SigningKey(key_seed(name))


def _public(name: str) -> bytes:
    return bytes(signing_key(name).verify_key)


def _digest(label: str) -> bytes:
    """A fixed 32-byte value (chain heads, preimages, arbitrary prevs) named by ``label``."""
    return hashlib.sha256(b"BCM/test-vector/" + label.encode()).digest()


OTHER: Final = Genesis(
    name="vectors-other",
    play_money=False,
    faucet_amount=0,
    min_account=5 * CRAP,
    treasury_reserve=1_000_000 * CRAP,
    house_key=_public("host"),
    grants=tuple(
        sorted(
            [
                (_public("alice"), 2_500 * CRAP),
                (_public("bob"), 1_500_500_000),
                (_public("carol"), 1),
            ]
        )
    ),
    bounds=Bounds(min_bet_lo=1 * CRAP, max_bet_hi=50_000 * CRAP, max_players=12, bond_lo=10 * CRAP),
)
"""A second network (grants, a house key, a treasury reserve): the wrong network of the vectors."""

_OTHER_TOML: Final = f"""\
name = "vectors-other"
play_money = false
min_account = 5
treasury_reserve = "1_000_000"
house_key = "{_public("host").hex().upper()}"
grants = [
  {{ key = "{_public("carol").hex()}", amount = "0.000001" }},
  {{ key = "{_public("alice").hex()}", amount = 2500 }},
  {{ key = "{_public("bob").hex()}", amount = "1500.5" }},
]

[bounds]
min_bet = 1
max_bet = 50000
max_players = 12
bond = 10
"""

_LOCAL_TOML: Final = """\
name = "local"
play_money = true
faucet = 100000
"""


# --------------------------------------------------------------------------- genesis


def genesis_to_json(genesis: Genesis) -> dict[str, Any]:
    """The input fields of ``genesis`` (amounts in base units, keys as hex)."""
    b = genesis.bounds
    return {
        "name": genesis.name,
        "play_money": genesis.play_money,
        "faucet_amount": genesis.faucet_amount,
        "min_account": genesis.min_account,
        "treasury_reserve": genesis.treasury_reserve,
        "house_key": None if genesis.house_key is None else genesis.house_key.hex(),
        "grants": [{"key": key.hex(), "amount": amount} for key, amount in genesis.grants],
        "bounds": {
            "min_bet_lo": b.min_bet_lo,
            "max_bet_hi": b.max_bet_hi,
            "max_players": b.max_players,
            "bond_lo": b.bond_lo,
        },
    }


def genesis_from_json(fields: dict[str, Any]) -> Genesis:
    """Rebuild a :class:`Genesis` from :func:`genesis_to_json`'s output."""
    house = fields["house_key"]
    return Genesis(
        name=fields["name"],
        play_money=fields["play_money"],
        faucet_amount=fields["faucet_amount"],
        min_account=fields["min_account"],
        treasury_reserve=fields["treasury_reserve"],
        house_key=None if house is None else bytes.fromhex(house),
        grants=tuple((bytes.fromhex(g["key"]), g["amount"]) for g in fields["grants"]),
        bounds=Bounds(**fields["bounds"]),
    )


def _genesis_encoding(genesis: Genesis) -> bytes:
    """The hashed bytes, built here from the design's field list with plain msgpack."""
    b = genesis.bounds
    array = [
        genesis.name,
        genesis.play_money,
        genesis.faucet_amount,
        genesis.min_account,
        genesis.treasury_reserve,
        genesis.house_key,
        [[key, amount] for key, amount in sorted(genesis.grants)],
        [b.min_bet_lo, b.max_bet_hi, b.max_players, b.bond_lo],
    ]
    packed: bytes = msgpack.packb(array, use_bin_type=True)
    return GENESIS_DOMAIN + packed


_DEFAULTS: Final = Genesis(
    name="defaults",
    play_money=False,
    faucet_amount=0,
    min_account=0,
    treasury_reserve=0,
    house_key=None,
    grants=(),
    bounds=Bounds(min_bet_lo=1 * CRAP, max_bet_hi=100_000 * CRAP, max_players=16, bond_lo=1 * CRAP),
)
"""What a genesis file giving only its name means: every other key at its default."""

_AMOUNTS: Final[tuple[tuple[str | int, bool, int | None], ...]] = (
    # (as written in the TOML file, zero allowed for the key, base units or None if refused)
    ("1", False, 1 * CRAP),
    (1, False, 1 * CRAP),
    ("0.5", False, CRAP // 2),
    ("0.000001", False, 1),
    ("1_000.000_001", False, 1_000 * CRAP + 1),
    ("_1_", False, 1 * CRAP),
    (" \t7\n", False, 7 * CRAP),
    ("007", False, 7 * CRAP),
    ("18446744073709.551615", False, MAX_U64),
    ("18446744073709.551616", False, None),
    ("99999999999999999999", False, None),
    ("123456789012345678901", False, None),
    ("0", False, None),
    (0, False, None),
    ("0.000000", False, None),
    ("0", True, 0),
    (0, True, 0),
    ("0.0", True, 0),
    ("1.", False, None),
    (".5", False, None),
    ("1.0000001", False, None),
    ("-1", False, None),
    (-1, False, None),
    ("+1", False, None),
    ("1e3", False, None),
    ("0x10", False, None),
    ("1,000", False, None),
    ("1 000", False, None),
    ("", False, None),
    ("\u0661\u0662", False, None),
    ("\u00a012", False, None),
)
"""Amount spellings: ASCII digits, at most 6 decimals, ``_`` ignored, ASCII whitespace around."""

_INVALID_TOML: Final[tuple[tuple[str, str], ...]] = (
    ("no name", "play_money = true\n"),
    ("an empty name", 'name = ""\n'),
    ("a name of 65 bytes", f'name = "{"n" * 65}"\n'),
    (
        "a key the file does not take (faucet_amount: the file's key is faucet)",
        'name = "x"\nfaucet_amount = 1\n',
    ),
    ("a faucet off play money", 'name = "x"\nfaucet = 1\n'),
    ("play_money as a string", 'name = "x"\nplay_money = "true"\n'),
    ("an amount as a TOML float", 'name = "x"\nmin_account = 1.5\n'),
    ("an amount as a boolean", 'name = "x"\nmin_account = true\n'),
    ("max_players as a string", 'name = "x"\n[bounds]\nmax_players = "8"\n'),
    ("max_players 0", 'name = "x"\n[bounds]\nmax_players = 0\n'),
    ("max_players 257", 'name = "x"\n[bounds]\nmax_players = 257\n'),
    ("a bounds key the file does not take", 'name = "x"\n[bounds]\nmin_bet_lo = 1\n'),
    ("min_bet 0", 'name = "x"\n[bounds]\nmin_bet = 0\n'),
    ("bond 0", 'name = "x"\n[bounds]\nbond = 0\n'),
    ("min_bet above max_bet", 'name = "x"\n[bounds]\nmin_bet = 10\nmax_bet = 5\n'),
    ("a grant of 0", f'name = "x"\ngrants = [{{ key = "{"11" * 32}", amount = 0 }}]\n'),
    (
        "a grant to the treasury key",
        f'name = "x"\ngrants = [{{ key = "{"ff" * 32}", amount = 1 }}]\n',
    ),
    ("a grant to the sink key", f'name = "x"\ngrants = [{{ key = "{"fe" * 32}", amount = 1 }}]\n'),
    (
        "the same key granted twice",
        f'name = "x"\ngrants = [{{ key = "{"11" * 32}", amount = 1 }}, '
        f'{{ key = "{"11" * 32}", amount = 2 }}]\n',
    ),
    (
        "a grant with a third field",
        f'name = "x"\ngrants = [{{ key = "{"11" * 32}", amount = 1, note = "a" }}]\n',
    ),
    ("the treasury key as house key", f'name = "x"\nhouse_key = "{"ff" * 32}"\n'),
    ("a house key of 62 hex digits", f'name = "x"\nhouse_key = "{"11" * 31}"\n'),
    (
        "a house key with a space between two digit pairs",
        f'name = "x"\nhouse_key = "11 {"11" * 31}"\n',
    ),
    ("a house key with a 0x prefix", f'name = "x"\nhouse_key = "0x{"11" * 32}"\n'),
    (
        "grants and the treasury reserve over a u64",
        f'name = "x"\ntreasury_reserve = "18446744073709.551615"\n'
        f'grants = [{{ key = "{"11" * 32}", amount = "0.000001" }}]\n',
    ),
)
"""Genesis files ``parse_genesis`` refuses (each one reason)."""


def _genesis_vectors() -> dict[str, Any]:
    vectors = []
    for description, genesis, toml in (
        ("the built-in play-money network 'local' (DESIGN.md section 9)", LOCAL, _LOCAL_TOML),
        (
            "off play money, with three grants (sorted by key bytes), a house key and a "
            "treasury reserve; the 'other' network of the wrong-network vectors",
            OTHER,
            _OTHER_TOML,
        ),
        (
            "a file giving only its name: every other key at its default",
            _DEFAULTS,
            'name = "defaults"\n',
        ),
    ):
        encoding = _genesis_encoding(genesis)
        vectors.append(
            {
                "description": description,
                "fields": genesis_to_json(genesis),
                "toml": toml,
                "encoding_hex": encoding.hex(),
                "network_id_hex": hashlib.sha256(encoding).hexdigest(),
            }
        )
    return {
        "domain": GENESIS_DOMAIN.decode(),
        "vectors": vectors,
        "amounts": [
            {"text": text, "zero_allowed": zero, "base_units": units}
            for text, zero, units in _AMOUNTS
        ],
        "invalid_toml": [
            {"description": description, "toml": toml} for description, toml in _INVALID_TOML
        ],
    }


# --------------------------------------------------------------------------- valid packets


def _encode_body(
    kind: str, sender: bytes, nonce: int, prev: bytes, fields: dict[str, Any]
) -> bytes:
    wire = body_wire_from_json(kind, fields)
    packed: bytes = msgpack.packb(
        [int(Kind[kind.upper()]), sender, nonce, prev, *wire], use_bin_type=True
    )
    return packed


def _frame(network_id: bytes, body: bytes, signature: bytes, version: int = VERSION) -> bytes:
    return bytes((version, 0)) + network_id[:4] + body + signature


def _sign(name: str, network_id: bytes, body: bytes) -> bytes:
    signature: bytes = signing_key(name).sign(SIGN_DOMAIN + network_id + body).signature
    return signature


class _Story:
    """Valid packets of one plausible game, each signer's nonces and prevs chained."""

    def __init__(self, network_id: bytes) -> None:
        self.network_id = network_id
        self.vectors: list[dict[str, Any]] = []
        self.last: dict[str, tuple[int, bytes]] = {}

    def add(
        self,
        description: str,
        signer: str,
        body: Body,
        nonce: int | None = None,
        prev: bytes | None = None,
    ) -> bytes:
        """Append a vector; return its h.  Nonce and prev continue ``signer``'s chain by default."""
        if nonce is None:
            last_nonce, last_h = self.last.get(signer, (0, ZERO_PREV))
            nonce, prev = last_nonce + 1, last_h
        elif prev is None:
            raise ValueError("an explicit nonce needs an explicit prev")
        kind = body.KIND.name.lower()
        fields = body_to_json(body)
        sender = _public(signer)
        encoded = _encode_body(kind, sender, nonce, prev, fields)
        signed = SIGN_DOMAIN + self.network_id + encoded
        signature = _sign(signer, self.network_id, encoded)
        full_hash = hashlib.sha256(signed).digest()
        self.vectors.append(
            {
                "description": description,
                "kind": kind,
                "signer": signer,
                "public_key_hex": sender.hex(),
                "seed_hex": key_seed(signer).hex(),
                "nonce": nonce,
                "prev_hex": prev.hex(),
                "signed_hex": signed.hex(),
                "signature_hex": signature.hex(),
                "packet_hex": _frame(self.network_id, encoded, signature).hex(),
                "h_hex": full_hash[:HASH_LEN].hex(),
                "full_hash_hex": full_hash.hex(),
                "fields": fields,
            }
        )
        self.last[signer] = (nonce, full_hash[:HASH_LEN])
        return full_hash[:HASH_LEN]


def _valid_vectors(network_id: bytes) -> list[dict[str, Any]]:
    s = _Story(network_id)
    alice, bob, carol = _public("alice"), _public("bob"), _public("carol")
    host = _public("host")
    game = s.add(
        "host's create at nonce 1 (prev all zeros): the TABLES.md §9 defaults, own bankroll",
        "host",
        Create(
            params=TableParams(
                min_bet=1 * CRAP,
                max_bet=100 * CRAP,
                bond=1_000 * CRAP,
                host_bond=24_000 * CRAP,
                max_players=8,
                max_entries=33,
                chain_n=1_024,
            ),
            bankroll=10_000 * CRAP,
            chain_head=_digest("host chain head"),
            bank=Bank.OWN,
        ),
    )
    join_a = s.add(
        "nonce-1 packet: alice asks to join game G (= h of the create) of host, table reference 1",
        "alice",
        Join(game, host, 1, _digest("alice chain head"), 1_024),
    )
    join_b = s.add(
        "bob's nonce-1 join with the shortest chain a join may have (chain_N 64)",
        "bob",
        Join(game, host, 1, _digest("bob chain head"), 64),
    )
    s.add(
        "host seats alice and bob (two join answers, copying their joins)",
        "host",
        Seat(
            game,
            leaves=(),
            declines=(),
            joins=(
                JoinCopy(alice, 1, join_a, _digest("alice chain head"), 1_024),
                JoinCopy(bob, 1, join_b, _digest("bob chain head"), 64),
            ),
            released=(),
        ),
    )
    s.add(
        "alice bets Pass 10 CRAP and Field 5 CRAP at table reference 2",
        "alice",
        Bet(game, 2, (BetEntry(BetType.Pass, 10 * CRAP), BetEntry(BetType.Field, 5 * CRAP))),
    )
    s.add(
        "bob bets DontPass 25 CRAP",
        "bob",
        Bet(game, 2, (BetEntry(BetType.DontPass, 25 * CRAP),)),
    )
    s.add("bob cancels his pending bets up to his nonce 2", "bob", Cancel(game, 2, 2))
    s.add(
        "host opens roll 1: includes alice's two bets (copies), releases bob's, lists seats 1-2",
        "host",
        RollOpen(
            game=game,
            k=1,
            preimage=_digest("host preimage 1"),
            reveals=(),
            leaves=(),
            declines=(),
            joins=(),
            released=(Released(2, 2, 0),),
            included=(
                Included(1, 2, 0, int(BetType.Pass), 10 * CRAP),
                Included(1, 2, 1, int(BetType.Field), 5 * CRAP),
            ),
            listed=(1, 2),
        ),
    )
    s.add(
        "alice reveals for roll 1 (T = the host's roll_open nonce 3)",
        "alice",
        Reveal(game, 1, 3, _digest("alice preimage 1")),
    )
    transfer = s.add(
        "carol's nonce-1 packet: a transfer of 250 CRAP to alice with no acks",
        "carol",
        Transfer(alice, 250 * CRAP, ()),
    )
    s.add(
        "alice acknowledges carol's transfer",
        "alice",
        Ack((ExtRef(carol, 1, transfer),)),
    )
    s.add("bob leaves at table reference 3", "bob", Leave(game, 3))
    s.add(
        "carol asks to join with a 1,024-link chain",
        "carol",
        Join(game, host, 3, _digest("carol chain head"), 1_024),
    )
    s.add(
        "host opens roll 2: both reveals copied, bob's seat leaves, carol's join declined",
        "host",
        RollOpen(
            game=game,
            k=2,
            preimage=_digest("host preimage 2"),
            reveals=(
                RevealCopy(1, 3, _digest("alice preimage 1")),
                RevealCopy(2, 4, _digest("bob preimage 1")),
            ),
            leaves=(2,),
            declines=(Decline(carol, 2),),
            joins=(),
            released=(),
            included=(),
            listed=(1, 2),
        ),
    )
    s.add(
        "host voids roll 2: seat 1 withheld its reveal, seat 2's is present",
        "host",
        Void(game, 2, (1,), (RevealCopy(2, 5, _digest("bob preimage 2")),)),
    )
    s.add(
        "host ends the game while idle (k 0, no reveals)",
        "host",
        GameEnd(game, 0, ()),
    )
    s.add(
        "alice's largest bet packet: 8 entries, OddsCome and OddsDontCome with come points",
        "alice",
        Bet(
            game,
            4,
            (
                BetEntry(BetType.Pass, 10 * CRAP),
                BetEntry(BetType.OddsPass, 20 * CRAP),
                BetEntry(BetType.Come, 10 * CRAP),
                BetEntry(BetType.OddsCome, 30 * CRAP, 4),
                BetEntry(BetType.DontCome, 10 * CRAP),
                BetEntry(BetType.OddsDontCome, 60 * CRAP, 10),
                BetEntry(BetType.Hard8, 1 * CRAP),
                BetEntry(BetType.Fire, 1),
            ),
        ),
    )
    s.add(
        "carol transfers the largest amount with the most acks (4)",
        "carol",
        Transfer(
            bob,
            MAX_U64,
            tuple(
                ExtRef(_public(n), i + 1, _digest(f"ack {i}")[:HASH_LEN])
                for i, n in enumerate(("alice", "bob", "host", "alice"))
            ),
        ),
    )
    s.add(
        "the realistic single bet: OddsCome on come point 6 of 2**64-1 base units at nonce "
        "2**32-1 and table reference 2**32-1, with a prev (149 bytes as a frame)",
        "alice",
        Bet(game, MAX_NONCE, (BetEntry(BetType.OddsCome, MAX_U64, 6),)),
        nonce=MAX_NONCE,
        prev=_digest("alice prev")[:HASH_LEN],
    )
    # What the decoder accepts and the ledger judges (PROTOCOL.md, "What the decoder leaves to
    # the ledger"): each decodes to its fields; the reason in the description is the ledger's.
    s.add(
        "bob acknowledges a packet of the all-zero key, which is not a valid point: it decodes; "
        "the ledger refuses it Refused(bad_reference)",
        "bob",
        Ack((ExtRef(bytes(32), 1, _digest("no such packet")[:HASH_LEN]),)),
    )
    s.add(
        "a create whose min_bet is above its max_bet: it decodes; the ledger refuses it "
        "Refused(bad_table)",
        "host",
        Create(
            params=TableParams(
                min_bet=100 * CRAP,
                max_bet=1 * CRAP,
                bond=1_000 * CRAP,
                host_bond=24_000 * CRAP,
                max_players=8,
                max_entries=33,
                chain_n=1_024,
            ),
            bankroll=10_000 * CRAP,
            chain_head=_digest("host chain head 2"),
            bank=Bank.OWN,
        ),
    )
    s.add(
        "a seat whose leaves name seat 0 and seat 2 twice, and whose released entry names seat "
        "0: it decodes; the table refuses it Refused(bad_list)",
        "host",
        Seat(game, leaves=(0, 2, 2), declines=(), joins=(), released=(Released(0, 2, 0),)),
    )
    s.add(
        "a roll_open whose included copies contradict themselves (code 99, which names no bet; "
        "Pass with a point; index 9) or repeat an entry: it decodes (a copy's code, index and "
        "point are plain bytes); the table ignores each malformed copy and the repeat",
        "host",
        RollOpen(
            game=game,
            k=3,
            preimage=_digest("host preimage 3"),
            reveals=(),
            leaves=(),
            declines=(),
            joins=(),
            released=(),
            included=(
                Included(1, 2, 0, 99, 10 * CRAP),
                Included(1, 2, 1, int(BetType.Pass), 10 * CRAP, 6),
                Included(1, 2, 9, int(BetType.Field), 5 * CRAP),
                Included(1, 3, 0, int(BetType.Field), 5 * CRAP),
                Included(1, 3, 0, int(BetType.Field), 5 * CRAP),
            ),
            listed=(1,),
        ),
    )
    return s.vectors


# --------------------------------------------------------------------------- invalid frames


def _p(value: object) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _array(items: list[bytes]) -> bytes:
    """A canonical array header and already-encoded items."""
    count = len(items)
    head = bytes((0x90 | count,)) if count < 16 else b"\xdc" + count.to_bytes(2, "big")
    return head + b"".join(items)


def _array16(items: list[bytes]) -> bytes:
    return b"\xdc" + len(items).to_bytes(2, "big") + b"".join(items)


def _u8(v: int) -> bytes:
    return b"\xcc" + v.to_bytes(1, "big")


def _u16(v: int) -> bytes:
    return b"\xcd" + v.to_bytes(2, "big")


def _u32(v: int) -> bytes:
    return b"\xce" + v.to_bytes(4, "big")


def _u64(v: int) -> bytes:
    return b"\xcf" + v.to_bytes(8, "big")


def _bin16(data: bytes) -> bytes:
    return b"\xc5" + len(data).to_bytes(2, "big") + data


_PREV: Final = _digest("invalid prev")[:HASH_LEN]


def _env(
    kind: int = int(Kind.LEAVE),
    sender: bytes | None = None,
    nonce: int = 7,
    prev: bytes = _PREV,
) -> list[bytes]:
    """Encoded envelope items (kind, sender, nonce, prev); alice at nonce 7 by default."""
    return [_p(kind), _p(_public("alice") if sender is None else sender), _p(nonce), _p(prev)]


def _small_order_r_signature(name: str, message: bytes) -> bytes:
    """A signature with R = the identity point and S = h·a: the verification equation holds,
    but libsodium refuses small-order R."""
    seed = key_seed(name)
    digest = bytearray(hashlib.sha512(seed).digest()[:32])
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    scalar = int.from_bytes(digest, "little")
    r = b"\x01" + bytes(31)
    h = int.from_bytes(hashlib.sha512(r + _public(name) + message).digest(), "little") % ED25519_L
    return r + (h * scalar % ED25519_L).to_bytes(32, "little")


class _Invalid:
    def __init__(self, network_id: bytes) -> None:
        self.network_id = network_id
        self.vectors: list[dict[str, Any]] = []

    def frame(self, description: str, error: type[PacketError], frame: bytes) -> None:
        self.vectors.append(
            {
                "description": description,
                "packet_hex": frame.hex(),
                "error": error.__name__,
                "verdict": error.verdict,
                "code": error.code,
            }
        )

    def body(
        self,
        description: str,
        error: type[PacketError],
        body: bytes,
        signer: str = "alice",
    ) -> None:
        """A frame of ``body`` validly signed by ``signer`` on this network."""
        signature = _sign(signer, self.network_id, body)
        self.frame(description, error, _frame(self.network_id, body, signature))


def _invalid_vectors(network_id: bytes, other_id: bytes, valid: bytes) -> list[dict[str, Any]]:
    """``valid`` is a valid frame on ``network_id`` (the realistic single bet)."""

    v = _Invalid(network_id)
    game = _p(_digest("invalid game")[:HASH_LEN])
    alice = _public("alice")
    valid_body = valid[6:-64]
    valid_sig = valid[-64:]

    def leave(*fields: bytes, **env: Any) -> bytes:
        return _array([*_env(**env), *fields])

    def bet(*entries: bytes) -> bytes:
        return _array([*_env(kind=int(Kind.BET)), game, _p(3), _array(list(entries))])

    def filler_body(kind: int, total: int) -> bytes:
        """[kind, alice, 7, prev, bin 16 of filler] encoding to exactly ``total`` bytes."""
        base = _array([*_env(kind=kind), b""])
        return _array([*_env(kind=kind), _bin16(bytes(total - len(base) - 3))])

    # -- Oversize, Truncated, UnknownVersion, WrongNetwork: the frame ------------------------
    v.body(
        "a validly signed frame of 1,201 bytes (one over the limit)",
        Oversize,
        filler_body(int(Kind.TRANSFER), MAX_FRAME + 1 - 70),
    )
    v.frame("an empty datagram", Truncated, b"")
    v.frame(
        "116 bytes (one under the smallest possible frame): the single bet without its last byte",
        Truncated,
        valid[:116],
    )
    v.frame(
        "the single bet with the last body byte (the come point) removed: the msgpack array "
        "is cut short",
        Truncated,
        valid[:6] + valid_body[:-1] + valid_sig,
    )
    v.body(
        "a validly signed body whose last field is a bin 8 header announcing 200 bytes",
        Truncated,
        leave(b"\xc4\xc8" + bytes(10)),
    )
    for version in (0, 2, 0x80):
        v.frame(
            f"the valid single bet with version byte {version:#04x}",
            UnknownVersion,
            bytes((version,)) + valid[1:],
        )
    v.frame(
        "the single bet sealed (and validly signed) on the 'other' network",
        WrongNetwork,
        _frame(other_id, valid_body, _sign("alice", other_id, valid_body)),
    )
    v.frame(
        "the valid single bet with the last network-prefix byte flipped",
        WrongNetwork,
        valid[:5] + bytes((valid[5] ^ 0x01,)) + valid[6:],
    )

    # -- NotMsgpack, TrailingBytes ------------------------------------------------------------
    v.body(
        "the reserved byte 0xc1 as the body's field 4",
        NotMsgpack,
        leave(b"\xc1", _p(3)),
    )
    v.body(
        "the body starts with the reserved byte 0xc1",
        NotMsgpack,
        b"\xc1" + valid_body[1:],
    )
    v.body(
        "a valid leave body followed by one byte 0x00, all under a valid signature",
        TrailingBytes,
        leave(game, _p(3)) + b"\x00",
    )
    v.body(
        "two complete msgpack arrays in one body",
        TrailingBytes,
        leave(game, _p(3)) + _array([_p(1)]),
    )

    v.body(
        "0xc1 as the value of a map in field 4 (a map is a type fault, but it is still read)",
        NotMsgpack,
        leave(b"\x81\x00\xc1", _p(3)),
    )
    v.body("0xc1 as the key of a map in field 4", NotMsgpack, leave(b"\x81\xc1\x00", _p(3)))
    v.body(
        "a map whose value is an array 2 cut short, its first item an array 3 starting with "
        "0xc1: each header's own count fits (3 values, 3 bytes left), so 0xc1 is reached "
        "before the end",
        NotMsgpack,
        _array([*_env(), b"\x81\x00\x92\x93\xc1\x00\x00"]),
    )
    v.body(
        "the same array 2 outside a map: the same verdict",
        NotMsgpack,
        _array([*_env(), b"\x92\x93\xc1\x00\x00"]),
    )
    v.body(
        "0xc1 inside an array nested 64 deep (a type fault, but it is still read)",
        NotMsgpack,
        leave(b"\x91" * 64 + b"\xc1", _p(3)),
    )
    v.body(
        "field 4 an array announcing 4 values with 3 bytes left, the first 0xc1: the count is "
        "tested at the header, before any value is read",
        Truncated,
        _array([*_env(), b"\x94\xc1\x00\x00"]),
    )
    v.body(
        "field 4 a map announcing 2 pairs (4 values) with 3 bytes left, the first 0xc1",
        Truncated,
        _array([*_env(), b"\x82\xc1\x00\x00"]),
    )
    v.body(
        "inside a map, an array announcing 3 values with 2 bytes left, the first 0xc1",
        Truncated,
        _array([*_env(), b"\x81\x00\x93\xc1\x00"]),
    )

    # -- EnvelopeNotCanonical ---------------------------------------------------------------
    v.body(
        "the body's 6-item array header as array 16 (0xdc 0006)",
        EnvelopeNotCanonical,
        _array16([*_env(), game, _p(3)]),
    )
    env = _env()
    v.body(
        "kind 3 encoded as uint 8 (0xcc 03)",
        EnvelopeNotCanonical,
        _array([_u8(3), *env[1:], game, _p(3)]),
    )
    v.body(
        "sender encoded as bin 16",
        EnvelopeNotCanonical,
        _array([env[0], _bin16(alice), *env[2:], game, _p(3)]),
    )
    v.body(
        "nonce 7 encoded as uint 32",
        EnvelopeNotCanonical,
        _array([*env[:2], _u32(7), env[3], game, _p(3)]),
    )
    v.body(
        "nonce 200 encoded as uint 16 (its shortest form is uint 8)",
        EnvelopeNotCanonical,
        _array([*env[:2], _u16(200), env[3], game, _p(3)]),
    )
    v.body(
        "nonce 7 encoded as int 8 (0xd0 07)",
        EnvelopeNotCanonical,
        _array([*env[:2], b"\xd0\x07", env[3], game, _p(3)]),
    )
    v.body(
        "prev encoded as bin 16",
        EnvelopeNotCanonical,
        _array([*env[:3], _bin16(_PREV), game, _p(3)]),
    )

    v.body(
        "the body is a bin 16 of 44 bytes: not an array and not in shortest encoding (the "
        "encoding is checked first)",
        EnvelopeNotCanonical,
        _bin16(bytes(44)),
    )
    v.body(
        "the body array of 3 values as array 16 (the encoding before the count)",
        EnvelopeNotCanonical,
        _array16([env[0], env[1], _p(bytes(10))]),
    )
    v.body(
        "kind is a bin 16 of 1 byte: the wrong type and not shortest (the encoding first)",
        EnvelopeNotCanonical,
        _array([_bin16(b"\x03"), *env[1:], game, _p(3)]),
    )
    v.body(
        "sender is a uint 16 holding 5: the wrong type and not shortest (a bin 40 field "
        "keeps the frame long enough)",
        EnvelopeNotCanonical,
        _array([env[0], _u16(5), *env[2:], game, _p(3), _p(bytes(40))]),
    )

    # -- EnvelopeType -----------------------------------------------------------------------
    v.body("the body is a bin 46, not an array", EnvelopeType, _p(bytes(46)))
    v.body(
        "the body is a map",
        EnvelopeType,
        b"\x81" + _p(1) + _array(env),
    )
    v.body(
        "the body array has 3 values",
        EnvelopeType,
        _array([env[0], env[1], _p(bytes(10))]),
    )
    v.body("kind is nil", EnvelopeType, _array([b"\xc0", *env[1:], game, _p(3)]))
    v.body("kind is the string '3'", EnvelopeType, _array([_p("3"), *env[1:], game, _p(3)]))
    v.body("kind is a float 64", EnvelopeType, _array([_p(3.0), *env[1:], game, _p(3)]))
    v.body(
        "the body is a str 16 of 44 bytes: a type no field admits, whose own encoding (str 8 "
        "would do) is not examined",
        EnvelopeType,
        b"\xda\x00\x2c" + b"a" * 44,
    )
    v.body(
        "kind is a str 8 holding '3' (d9 01 33; fixstr would be shorter, which is not examined)",
        EnvelopeType,
        _array([b"\xd9\x01\x33", *env[1:], game, _p(3)]),
    )
    v.body(
        "kind is a fixstr of invalid UTF-8 (a1 ff): a str, whatever its bytes",
        EnvelopeType,
        _array([b"\xa1\xff", *env[1:], game, _p(3)]),
    )
    v.body(
        "sender is a bin 31",
        EnvelopeType,
        _array([env[0], _p(alice[:31]), *env[2:], game, _p(3)]),
    )
    v.body(
        "sender is a 32-character string",
        EnvelopeType,
        _array([env[0], _p("a" * 32), *env[2:], game, _p(3)]),
    )
    v.body(
        "nonce is a bin 4",
        EnvelopeType,
        _array([*env[:2], _p(b"\x00\x00\x00\x07"), env[3], game, _p(3)]),
    )
    v.body("prev is a bin 9", EnvelopeType, _array([*env[:3], _p(_PREV + b"\x00"), game, _p(3)]))
    v.body("prev is nil", EnvelopeType, _array([*env[:3], b"\xc0", game, _p(3)]))

    # -- EnvelopeRange ----------------------------------------------------------------------
    v.body("nonce 0", EnvelopeRange, leave(game, _p(3), nonce=0, prev=ZERO_PREV))
    v.body("nonce 2**32 (uint 64)", EnvelopeRange, leave(game, _p(3), nonce=MAX_NONCE + 1))
    v.body("nonce -1 (negative fixint)", EnvelopeRange, leave(game, _p(3), nonce=-1))
    v.body("kind 256 (uint 16)", EnvelopeRange, leave(game, _p(3), kind=256))
    v.body("kind -1 (negative fixint)", EnvelopeRange, leave(game, _p(3), kind=-1))
    v.body(
        "nonce 1 with a non-zero prev",
        EnvelopeRange,
        leave(game, _p(3), nonce=1, prev=_PREV),
    )
    v.body(
        "nonce 2 with an all-zero prev",
        EnvelopeRange,
        leave(game, _p(3), nonce=2, prev=ZERO_PREV),
    )

    # -- BadSignature -----------------------------------------------------------------------
    v.frame(
        "the valid single bet with the lowest bit of the signature's first byte flipped",
        BadSignature,
        valid[:-64] + bytes((valid[-64] ^ 0x01,)) + valid[-63:],
    )
    v.frame(
        "the valid single bet with the come point changed from 6 to 8 after signing",
        BadSignature,
        valid[:-65] + b"\x08" + valid_sig,
    )
    v.frame(
        "the single bet's body (sender alice) signed by bob",
        BadSignature,
        _frame(network_id, valid_body, _sign("bob", network_id, valid_body)),
    )
    v.frame(
        "the single bet signed for the 'other' network but framed with this network's prefix",
        BadSignature,
        _frame(network_id, valid_body, _sign("alice", other_id, valid_body)),
    )
    v.frame(
        "the single bet signed without the network id (b'BCM/v1' || body)",
        BadSignature,
        _frame(
            network_id, valid_body, signing_key("alice").sign(SIGN_DOMAIN + valid_body).signature
        ),
    )
    v.frame(
        "the single bet signed over the bare body",
        BadSignature,
        _frame(network_id, valid_body, signing_key("alice").sign(valid_body).signature),
    )
    s = int.from_bytes(valid_sig[32:], "little")
    v.frame(
        "the valid single bet's signature with S replaced by S + L (non-canonical S: libsodium "
        "refuses it)",
        BadSignature,
        valid[:-32] + (s + ED25519_L).to_bytes(32, "little"),
    )
    v.frame(
        "a signature whose R is the identity (small order) and S = h*a: the verification "
        "equation holds, but libsodium refuses small-order R",
        BadSignature,
        _frame(
            network_id,
            valid_body,
            _small_order_r_signature("alice", SIGN_DOMAIN + network_id + valid_body),
        ),
    )
    v.frame(
        "the valid single bet with an all-zero signature",
        BadSignature,
        valid[:-64] + bytes(64),
    )

    # -- ForbiddenSender --------------------------------------------------------------------
    mixed = nacl.bindings.crypto_core_ed25519_add(alice, TORSION_8)
    p_encoding = (2**255 - 19).to_bytes(32, "little")
    for what, key in (
        ("the treasury key (0xff x 32)", TREASURY_KEY),
        ("the sink key (0xfe x 32)", SINK_KEY),
        ("the identity point (small order)", b"\x01" + bytes(31)),
        ("all zeros (a point of order 4)", bytes(32)),
        ("a point of order 8", TORSION_8),
        ("y = p (a non-canonical encoding)", p_encoding),
        ("alice's key plus a point of order 8 (mixed order, outside the prime subgroup)", mixed),
    ):
        body = leave(game, _p(3), sender=key)
        v.frame(
            f"sender is {what}; signed by alice's key",
            ForbiddenSender,
            _frame(network_id, body, _sign("alice", network_id, body)),
        )

    # -- UnknownKind (refused: valid signatures from here on) --------------------------------
    v.body("kind 0", UnknownKind, leave(game, _p(3), kind=0))
    v.body("kind 13 (one past game_end)", UnknownKind, leave(game, _p(3), kind=13))
    v.body("kind 255 with no fields", UnknownKind, leave(kind=255))
    v.body(
        "a 1,200-byte frame (exactly the limit) of kind 200",
        UnknownKind,
        filler_body(200, MAX_FRAME - 70),
    )

    # -- FieldCount -------------------------------------------------------------------------
    v.body("leave with 1 field", FieldCount, leave(game))
    v.body("leave with 3 fields", FieldCount, leave(game, _p(3), _p(3)))
    v.body("ack with no fields", FieldCount, _array(_env(kind=int(Kind.ACK))))
    v.body(
        "a 1,200-byte frame (exactly the limit): transfer with 1 field",
        FieldCount,
        filler_body(int(Kind.TRANSFER), MAX_FRAME - 70),
    )
    v.body(
        "bet entry Pass with a come point",
        FieldCount,
        bet(_array([_p(int(BetType.Pass)), _p(10 * CRAP), _p(6)])),
    )
    v.body(
        "bet entry OddsCome without its come point",
        FieldCount,
        bet(_array([_p(int(BetType.OddsCome)), _p(10 * CRAP)])),
    )
    v.body(
        "bet entry with 1 element",
        FieldCount,
        bet(_array([_p(int(BetType.Pass))])),
    )
    v.body(
        "bet entry [99] (one value): the entry's count is checked before its code",
        FieldCount,
        bet(_array([_p(99)])),
    )
    v.body(
        "bet entry [99, 10 CRAP, 4, 0] (four values): the count before the code",
        FieldCount,
        bet(_array([_p(99), _p(10 * CRAP), _p(4), _p(0)])),
    )
    v.body(
        "ack whose ext ref has 2 values, the first a string: the count before the fields",
        FieldCount,
        _array([*_env(kind=int(Kind.ACK)), _array([_array([_p("a"), _p(1)])])]),
    )
    v.body(
        "ack whose ext ref has 2 elements",
        FieldCount,
        _array([*_env(kind=int(Kind.ACK)), _array([_array([_p(alice), _p(1)])])]),
    )

    # -- FieldType --------------------------------------------------------------------------
    v.body("leave: game is the string of its hex", FieldType, leave(_p("00" * 8), _p(3)))
    v.body("leave: game is nil", FieldType, leave(b"\xc0", _p(3)))
    v.body("leave: table is true", FieldType, leave(game, b"\xc3"))
    v.body("leave: table is a float 32", FieldType, leave(game, b"\xca" + bytes(4)))
    v.body("leave: table is a fixext 1", FieldType, leave(game, b"\xd4\x01\x03"))
    v.body("leave: table is an empty map", FieldType, leave(game, b"\x80"))
    v.body("leave: table is a bin 1", FieldType, leave(game, _p(b"\x03")))
    v.body(
        "leave: table is a str 8 holding '3' (the encoding of a str is not examined)",
        FieldType,
        leave(game, b"\xd9\x01\x33"),
    )
    v.body(
        "leave: table is a fixstr of invalid UTF-8 (a1 ff): a str, whatever its bytes",
        FieldType,
        leave(game, b"\xa1\xff"),
    )
    v.body(
        "leave: game is a fixstr holding the byte 0xc1: payload bytes, not a msgpack value",
        FieldType,
        leave(b"\xa1\xc1", _p(3)),
    )
    v.body(
        "leave: table is a fixext 1 holding the byte 0xc1",
        FieldType,
        leave(game, b"\xd4\x01\xc1"),
    )
    v.body(
        "bet: the bet list is a single entry, not a list of them",
        FieldType,
        _array([*_env(kind=int(Kind.BET)), game, _p(3), _p(int(BetType.Pass))]),
    )
    v.body("bet: an entry is an integer, not an array", FieldType, bet(_p(0)))
    v.body(
        "bet: an entry's amount is a string",
        FieldType,
        bet(_array([_p(int(BetType.Pass)), _p("10")])),
    )

    # -- FieldRange -------------------------------------------------------------------------
    v.body("leave: table 0", FieldRange, leave(game, _p(0)))
    v.body("leave: table 2**32 (uint 64)", FieldRange, leave(game, _p(MAX_NONCE + 1)))
    v.body("leave: table -1 (negative fixint)", FieldRange, leave(game, b"\xff"))
    v.body("leave: game is a bin 9", FieldRange, leave(_p(bytes(9)), _p(3)))
    v.body("leave: game is a bin 7", FieldRange, leave(_p(bytes(7)), _p(3)))
    v.body("bet: code 7 (no such bet)", FieldRange, bet(_array([_p(7), _p(10 * CRAP)])))
    v.body(
        "bet: OddsCome on come point 7",
        FieldRange,
        bet(_array([_p(int(BetType.OddsCome)), _p(10 * CRAP), _p(7)])),
    )
    v.body(
        "bet: code 99 with its amount as uint 64: the bet-code table is consulted at the code, "
        "before the amount is read",
        FieldRange,
        bet(_array([_p(99), _u64(10 * CRAP)])),
    )
    v.body(
        "bet: code 99 with a come point: the unknown code before the come-point rule",
        FieldRange,
        bet(_array([_p(99), _p(10 * CRAP), _p(4)])),
    )
    v.body(
        "bet: Pass with a come point of 300: the point's own u8 range before the come-point rule",
        FieldRange,
        bet(_array([_p(int(BetType.Pass)), _p(10 * CRAP), _p(300)])),
    )
    v.body(
        "bet: OddsCome of amount 0 without its come point: the amount before the come-point rule",
        FieldRange,
        bet(_array([_p(int(BetType.OddsCome)), _p(0)])),
    )
    v.body(
        "bet: entry 0 of code 99, entry 1 of one value: entry 0's fault is found first",
        FieldRange,
        bet(_array([_p(99), _p(CRAP)]), _array([_p(int(BetType.Pass))])),
    )
    v.body(
        "leave: game is a bin 1 holding the byte 0xc1 (payload bytes, not a msgpack value)",
        FieldRange,
        leave(b"\xc4\x01\xc1", _p(3)),
    )
    v.body("bet: amount 0", FieldRange, bet(_array([_p(int(BetType.Pass)), _p(0)])))
    v.body("bet: an empty bet list", FieldRange, bet())
    v.body(
        "bet: 9 entries (one over the limit)",
        FieldRange,
        bet(*[_array([_p(int(BetType.Field)), _p(CRAP)])] * 9),
    )
    v.body(
        "bet: 9 entries, the first of one value: the list's item count before its items",
        FieldRange,
        bet(_array([_p(int(BetType.Pass))]), *[_array([_p(int(BetType.Field)), _p(CRAP)])] * 8),
    )
    ext = _array([_p(alice), _p(1), _p(_PREV)])
    v.body(
        "ack with 17 ext refs (one over the limit)",
        FieldRange,
        _array([*_env(kind=int(Kind.ACK)), _array([ext] * 17)]),
    )
    v.body(
        "transfer with 5 acks (one over the limit)",
        FieldRange,
        _array([*_env(kind=int(Kind.TRANSFER)), _p(alice), _p(CRAP), _array([ext] * 5)]),
    )
    v.body(
        "seat: a join answer's chain_N over a u16 (65,536)",
        FieldRange,
        _array(
            [
                *_env(kind=int(Kind.SEAT)),
                game,
                _array([]),
                _array([]),
                _array([_array([_p(alice), _p(1), _p(_PREV), _p(_digest("h")), _p(65_536)])]),
                _array([]),
            ]
        ),
    )
    v.body(
        "ack: an ext ref with nonce 0",
        FieldRange,
        _array([*_env(kind=int(Kind.ACK)), _array([_array([_p(alice), _p(0), _p(_PREV)])])]),
    )
    params = [
        _p(1 * CRAP),
        _p(100 * CRAP),
        _p(1_000 * CRAP),
        _p(24_000 * CRAP),
        _p(8),
        _p(33),
        _p(1024),
    ]
    create_tail = [_p(50_000 * CRAP), _p(_digest("host chain head"))]
    create = _env(kind=int(Kind.CREATE))
    v.body(
        "create: bank 2 (only 0 own and 1 treasury exist)",
        FieldRange,
        _array([*create, _array(params), *create_tail, _p(2)]),
    )
    v.body(
        "create: max_players 256 (over a u8)",
        FieldRange,
        _array([*create, _array([*params[:4], _p(256), *params[5:]]), *create_tail, _p(0)]),
    )
    v.body(
        "roll_open: an included entry with 7 fields",
        FieldCount,
        _array(
            [
                *_env(kind=int(Kind.ROLL_OPEN)),
                game,
                _p(1),
                _p(_digest("host preimage 1")),
                _array([]),
                _array([]),
                _array([]),
                _array([]),
                _array([]),
                _array([_array([_p(1), _p(2), _p(0), _p(0), _p(CRAP), _p(6), _p(0)])]),
                _array([]),
            ]
        ),
    )

    # -- FieldNotCanonical ------------------------------------------------------------------
    v.body("leave: table 3 as uint 32", FieldNotCanonical, leave(game, _u32(3)))
    v.body(
        "leave: table 0 as uint 32 (the encoding is checked before the range)",
        FieldNotCanonical,
        leave(game, _u32(0)),
    )
    v.body("leave: table -1 as int 8 (0xd0 ff)", FieldNotCanonical, leave(game, b"\xd0\xff"))
    v.body(
        "leave: game as bin 16",
        FieldNotCanonical,
        leave(_bin16(_digest("invalid game")[:HASH_LEN]), _p(3)),
    )
    v.body(
        "bet: amount 10 CRAP as uint 64",
        FieldNotCanonical,
        bet(_array([_p(int(BetType.Pass)), _u64(10 * CRAP)])),
    )
    v.body(
        "bet: the bet list as array 16",
        FieldNotCanonical,
        _array(
            [
                *_env(kind=int(Kind.BET)),
                game,
                _p(3),
                _array16([_array([_p(int(BetType.Pass)), _p(CRAP)])]),
            ]
        ),
    )
    v.body(
        "bet: an entry as array 16",
        FieldNotCanonical,
        bet(_array16([_p(int(BetType.Pass)), _p(CRAP)])),
    )
    v.body(
        "bet: code 0 as uint 8",
        FieldNotCanonical,
        bet(_array([_u8(0), _p(CRAP)])),
    )
    v.body(
        "leave: table is a bin 16 of 1 byte: the wrong type and not shortest (the encoding first)",
        FieldNotCanonical,
        leave(game, _bin16(b"\x03")),
    )
    v.body(
        "leave: game is an array 16 of 8 values: the wrong type and not shortest",
        FieldNotCanonical,
        leave(_array16([_p(0)] * 8), _p(3)),
    )
    v.body(
        "bet: Pass with a come point 6 as uint 8: the point's encoding before the come-point rule",
        FieldNotCanonical,
        bet(_array([_p(int(BetType.Pass)), _p(10 * CRAP), _u8(6)])),
    )
    v.body(
        "ack: an ext ref's nonce 1 as uint 16",
        FieldNotCanonical,
        _array([*_env(kind=int(Kind.ACK)), _array([_array([_p(alice), _u16(1), _p(_PREV)])])]),
    )

    names = {e.__name__ for e in ALL_ERRORS}
    assert all(vec["error"] in names for vec in v.vectors)
    return v.vectors


# --------------------------------------------------------------------------- fragments


def _fragment_vectors(frame: bytes, other: bytes) -> dict[str, Any]:
    return {
        "reassembly": _reassembly_vectors(frame, other),
        "description": "the realistic single bet (a 149-byte frame) cut by protocol.fragment.split",
        "frame_hex": frame.hex(),
        "frame_id": FRAGMENT_FRAME_ID,
        "link": 0,
        "splits": [
            {
                "payload_size": size,
                "fragments": [fragment.hex() for fragment in split(frame, size, FRAGMENT_FRAME_ID)],
            }
            for size in FRAGMENT_SIZES
        ],
    }


_FRAGMENT_HEADER: Final = ">HBBH"


def _fragment(frame_id: int, index: int, count: int, data: bytes, link: int = 0) -> bytes:
    """One fragment, by hand: frame id u16, index u8, count u8, link u16 (big-endian), data."""
    return struct.pack(_FRAGMENT_HEADER, frame_id, index, count, link) + data


def _reassembly_vectors(frame: bytes, other: bytes) -> list[dict[str, Any]]:
    """Fragments pushed in order from one source (all at time 0, default limits) and what the
    receiver gives for each: None, the completed frame, or the error class."""
    fid = FRAGMENT_FRAME_ID
    cases: list[tuple[str, list[tuple[bytes, bytes | str | None]]]] = []
    a, b, c = frame[:1], frame[1:61], frame[61:]
    cases.append(
        (
            "fragments shorter than the others before the last (1, 60 and 88 data bytes), "
            "pushed 2, 0, 1: the receiver does not need full fragments; the data is joined in "
            "index order",
            [
                (_fragment(fid, 2, 3, c), None),
                (_fragment(fid, 0, 3, a), None),
                (_fragment(fid, 1, 3, b), frame),
            ],
        )
    )
    half = len(frame) // 2
    cases.append(
        (
            "link 0xbeef: accepted (0 is what a sender writes today); the link is part of the "
            "reassembly key",
            [
                (_fragment(fid, 0, 2, frame[:half], 0xBEEF), None),
                (_fragment(fid, 1, 2, frame[half:], 0xBEEF), frame),
            ],
        )
    )
    split_other = len(other) // 2
    cases.append(
        (
            "one frame id on links 0 and 1, interleaved: two reassemblies, two frames",
            [
                (_fragment(fid, 0, 2, frame[:half], 0), None),
                (_fragment(fid, 0, 2, other[:split_other], 1), None),
                (_fragment(fid, 1, 2, frame[half:], 0), frame),
                (_fragment(fid, 1, 2, other[split_other:], 1), other),
            ],
        )
    )
    for description, raw in (
        ("5 bytes: shorter than the header", _fragment(fid, 0, 1, b"")[:5]),
        ("a header and no data", _fragment(fid, 0, 1, b"")),
        ("count 0", _fragment(fid, 0, 0, b"x")),
        ("index equal to its count", _fragment(fid, 2, 2, b"x")),
        ("1,201 data bytes", _fragment(fid, 0, 1, bytes(MAX_FRAME + 1))),
        (
            "the first of 255 fragments carrying 1,000 bytes: 1,000 + 254 missing > 1,200",
            _fragment(fid, 0, 255, bytes(1000)),
        ),
    ):
        cases.append((f"a fragment refused alone: {description}", [(raw, "FragmentError")]))
    cases.append(
        (
            "600 data bytes held of 3, then 600 more: 1,200 + 1 missing > 1,200; the "
            "reassembly is discarded",
            [
                (_fragment(fid, 0, 3, bytes(600)), None),
                (_fragment(fid, 1, 3, bytes(600)), "FragmentError"),
                (_fragment(fid, 2, 3, b"x"), None),
            ],
        )
    )
    cases.append(
        (
            "a count that contradicts the count held: the reassembly is discarded, so the "
            "fragments that follow start again",
            [
                (_fragment(fid, 0, 2, frame[:half]), None),
                (_fragment(fid, 1, 3, frame[half:]), "FragmentError"),
                (_fragment(fid, 1, 2, frame[half:]), None),
                (_fragment(fid, 0, 2, frame[:half]), frame),
            ],
        )
    )
    cases.append(
        (
            "different data for an index already held: the reassembly is discarded",
            [
                (_fragment(fid, 0, 2, frame[:half]), None),
                (_fragment(fid, 0, 2, frame[1 : half + 1]), "FragmentError"),
            ],
        )
    )
    cases.append(
        (
            "an identical fragment already held is ignored, and so is a fragment of a frame "
            "just completed with the same count; another count reuses the id for a new frame",
            [
                (_fragment(fid, 0, 2, frame[:half]), None),
                (_fragment(fid, 0, 2, frame[:half]), None),
                (_fragment(fid, 1, 2, frame[half:]), frame),
                (_fragment(fid, 1, 2, frame[half:]), None),
                (_fragment(fid, 0, 1, other), other),
            ],
        )
    )
    return [
        {
            "description": description,
            "pushes": [
                {
                    "fragment_hex": raw.hex(),
                    "result": (
                        None
                        if result is None
                        else result
                        if isinstance(result, str)
                        else {"frame_hex": result.hex()}
                    ),
                }
                for raw, result in pushes
            ],
        }
        for description, pushes in cases
    ]


def _datagram_vectors(single_bet: bytes) -> dict[str, Any]:
    """First bytes at the datagram entry (``classify_datagram``), the frame vectors' bytes."""
    rows: list[tuple[str, bytes, str | None]] = [
        ("an empty datagram", b"", None),
        ("the valid single bet: first byte 0x01, a ledger frame", single_bet, "ledger"),
    ]
    for first, result in ((0x00, None), (0x02, None), (0x7F, None), (0x80, "link"), (0xFF, "link")):
        rows.append(
            (
                f"the single bet with first byte {first:#04x}",
                bytes((first,)) + single_bet[1:],
                result,
            )
        )
    return {
        "entry": "datagram",
        "vectors": [
            {
                "description": description,
                "datagram_hex": data.hex(),
                "carries": result,
                "error": None if result else UnknownDatagram.__name__,
                "code": None if result else UnknownDatagram.code,
            }
            for description, data, result in rows
        ],
    }


# --------------------------------------------------------------------------- files


def build() -> dict[str, Any]:
    """Every vector file's JSON document, by file name."""
    network_id = LOCAL.network_id
    other_id = OTHER.network_id
    packets = _valid_vectors(network_id)
    (single_bet,) = [bytes.fromhex(p["packet_hex"]) for p in packets if p["nonce"] == MAX_NONCE]
    return {
        "packets.json": {
            "network_id_hex": network_id.hex(),
            "genesis": genesis_to_json(LOCAL),
            "key_seed": "SHA-256(b'BCM/test-vector-key/' + name)",
            "vectors": packets,
        },
        "invalid.json": {
            "entry": "frame",
            "network_id_hex": network_id.hex(),
            "other_network_id_hex": other_id.hex(),
            "vectors": _invalid_vectors(network_id, other_id, single_bet),
        },
        "genesis.json": _genesis_vectors(),
        "fragments.json": _fragment_vectors(single_bet, bytes.fromhex(packets[0]["packet_hex"])),
        "datagrams.json": _datagram_vectors(single_bet),
    }


def render(document: Any) -> str:
    """The file text of a document: indent 2, sorted keys, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the vector files; with ``--check``, exit 1 if any on disk differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk, write nothing"
    )
    args = parser.parse_args(argv)
    documents = build()
    stale = []
    for name in FILES:
        path = VECTOR_DIR / name
        text = render(documents[name])
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    counts = ", ".join(
        f"{name}: {len(documents[name].get('vectors', documents[name].get('splits', [])))}"
        for name in FILES
    )
    if args.check:
        if stale:
            print(f"stale vector files (run python scripts/gen_vectors.py): {', '.join(stale)}")
            return 1
        print(f"vector files are up to date ({counts})")
        return 0
    print(f"wrote {len(stale)} of {len(FILES)} vector files ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
