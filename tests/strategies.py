"""Hypothesis strategies for signing keys, packet bodies and whole packets of the ledger wire.

Every strategy draws values inside the schema limits of protocol.kinds (and list sizes that keep
each frame within MAX_FRAME), so what it produces seals with FrameCodec.seal and decodes back to an
equal packet.  Factories are cached (each returns one shared strategy object, which keeps
drawing fast).  Shared by the wire-format tests and the ledger tests; no assertions here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

import nacl.signing
from hypothesis import strategies as st

from protocol.bets import COME_POINTS, BetType, needs_come_point
from protocol.constants import (
    FULL_HASH_LEN,
    HASH_LEN,
    MAX_BETS_PER_PACKET,
    MAX_NONCE,
    MAX_U64,
    PUBLIC_KEY_LEN,
    ZERO_PREV,
)
from protocol.kinds import (
    MAX_ACKS_PER_ACK,
    MAX_ACKS_PER_TRANSFER,
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
    "BODY_STRATEGIES",
    "GAME_END_MAX_REVEALS",
    "ROLL_OPEN_MAX_ENTRIES",
    "ROLL_OPEN_MAX_REVEALS",
    "VOID_MAX_SEATS",
    "Packet4",
    "acks",
    "amounts",
    "bet_entries",
    "bets",
    "bodies",
    "cancels",
    "creates",
    "ext_refs",
    "game_ends",
    "game_ids",
    "included",
    "join_copies",
    "joins",
    "keys",
    "leaves",
    "nonces",
    "packets",
    "prevs",
    "released",
    "reveal_copies",
    "reveals",
    "roll_opens",
    "seats",
    "transfers",
    "uints",
    "voids",
]

# List sizes chosen so the largest body of each kind still fits one frame (<= MAX_FRAME); the
# worst case of each is sealed by tests/test_frame.py.
ROLL_OPEN_MAX_REVEALS = 4
ROLL_OPEN_MAX_ENTRIES = 12
"""Per list (``included`` and ``released``); seats, declines and joins at most 2 each."""
VOID_MAX_SEATS = 8
"""Per list (``withheld`` and ``present``)."""
GAME_END_MAX_REVEALS = 16

T = TypeVar("T")

Packet4 = tuple[nacl.signing.SigningKey, int, bytes, Body]
"""What :func:`packets` draws: (signing key, nonce, prev, body)."""

_MSGPACK_EDGES = (
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0xFFFF,
    0x1_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    MAX_U64,
)


@cache
def uints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in ``[lo, hi]``, with the ends and msgpack width boundaries drawn often."""
    edges = sorted({lo, hi, *(e for e in _MSGPACK_EDGES if lo <= e <= hi)})
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


@cache
def keys() -> st.SearchStrategy[nacl.signing.SigningKey]:
    """Ed25519 signing keys from a 32-byte seed."""
    return st.binary(min_size=32, max_size=32).map(nacl.signing.SigningKey)


@cache
def nonces() -> st.SearchStrategy[int]:
    """Packet nonces (and other u32 >= 1 references such as T and k)."""
    return uints(1, MAX_NONCE)


@cache
def amounts() -> st.SearchStrategy[int]:
    """Positive u64 amounts in base units, up to 2**64 - 1."""
    return uints(1, MAX_U64)


@cache
def _bin(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


@cache
def game_ids() -> st.SearchStrategy[bytes]:
    """8-byte game ids (and wire hashes h)."""
    return _bin(HASH_LEN)


@cache
def prevs() -> st.SearchStrategy[bytes]:
    """A ``prev`` for a nonce above 1: 8 bytes, not all zero."""
    return _bin(HASH_LEN).filter(lambda b: b != ZERO_PREV)


@cache
def ext_refs() -> st.SearchStrategy[ExtRef]:
    return st.builds(ExtRef, _bin(PUBLIC_KEY_LEN), nonces(), game_ids())


@cache
def reveal_copies() -> st.SearchStrategy[RevealCopy]:
    return st.builds(RevealCopy, uints(0, 0xFF), nonces(), _bin(FULL_HASH_LEN))


@cache
def released() -> st.SearchStrategy[Released]:
    return st.builds(Released, uints(0, 0xFF), nonces(), uints(0, 0xFF))


@cache
def included() -> st.SearchStrategy[Included]:
    """Included copies as the wire allows them: any code and index byte, a point or none
    (contradictions are the table's business, not the decoder's)."""
    return st.builds(
        Included,
        uints(0, 0xFF),
        nonces(),
        uints(0, 0xFF),
        uints(0, 0xFF),
        amounts(),
        st.none() | uints(0, 0xFF),
    )


@cache
def join_copies() -> st.SearchStrategy[JoinCopy]:
    return st.builds(
        JoinCopy, _bin(PUBLIC_KEY_LEN), nonces(), game_ids(), _bin(FULL_HASH_LEN), uints(0, 0xFFFF)
    )


@cache
def _declines() -> st.SearchStrategy[Decline]:
    return st.builds(Decline, _bin(PUBLIC_KEY_LEN), nonces())


@cache
def bet_entries() -> st.SearchStrategy[BetEntry]:
    """Bet entries: the come point present exactly for OddsCome/OddsDontCome."""
    plain = st.builds(
        BetEntry, st.sampled_from([b for b in BetType if not needs_come_point(b)]), amounts()
    )
    with_point = st.builds(
        BetEntry,
        st.sampled_from([b for b in BetType if needs_come_point(b)]),
        amounts(),
        st.sampled_from(sorted(COME_POINTS)),
    )
    return st.one_of(plain, with_point)


def _tuples(items: st.SearchStrategy[T], lo: int, hi: int) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(items, min_size=lo, max_size=hi).map(tuple)


@cache
def creates() -> st.SearchStrategy[Create]:
    params = st.builds(
        TableParams,
        amounts(),
        amounts(),
        uints(0, MAX_U64),
        uints(0, MAX_U64),
        uints(0, 0xFF),
        uints(0, 0xFFFF),
        uints(0, 0xFFFF),
    )
    return st.builds(
        Create, params, uints(0, MAX_U64), _bin(FULL_HASH_LEN), st.sampled_from(list(Bank))
    )


@cache
def joins() -> st.SearchStrategy[Join]:
    return st.builds(
        Join, game_ids(), _bin(PUBLIC_KEY_LEN), nonces(), _bin(FULL_HASH_LEN), uints(0, 0xFFFF)
    )


@cache
def leaves() -> st.SearchStrategy[Leave]:
    return st.builds(Leave, game_ids(), nonces())


@cache
def cancels() -> st.SearchStrategy[Cancel]:
    return st.builds(Cancel, game_ids(), nonces(), nonces())


@cache
def bets() -> st.SearchStrategy[Bet]:
    return st.builds(Bet, game_ids(), nonces(), _tuples(bet_entries(), 1, MAX_BETS_PER_PACKET))


@cache
def transfers() -> st.SearchStrategy[Transfer]:
    return st.builds(
        Transfer, _bin(PUBLIC_KEY_LEN), amounts(), _tuples(ext_refs(), 0, MAX_ACKS_PER_TRANSFER)
    )


@cache
def acks() -> st.SearchStrategy[Ack]:
    return st.builds(Ack, _tuples(ext_refs(), 1, MAX_ACKS_PER_ACK))


@cache
def reveals() -> st.SearchStrategy[Reveal]:
    return st.builds(Reveal, game_ids(), nonces(), nonces(), _bin(FULL_HASH_LEN))


def _seats(hi: int) -> st.SearchStrategy[tuple[int, ...]]:
    return _tuples(uints(0, 0xFF), 0, hi)


@cache
def seats() -> st.SearchStrategy[Seat]:
    return st.builds(
        Seat,
        game_ids(),
        _seats(8),
        _tuples(_declines(), 0, 4),
        _tuples(join_copies(), 0, 4),
        _tuples(released(), 0, 8),
    )


@cache
def roll_opens() -> st.SearchStrategy[RollOpen]:
    return st.builds(
        RollOpen,
        game_ids(),
        nonces(),
        _bin(FULL_HASH_LEN),
        _tuples(reveal_copies(), 0, ROLL_OPEN_MAX_REVEALS),
        _seats(4),
        _tuples(_declines(), 0, 2),
        _tuples(join_copies(), 0, 2),
        _tuples(released(), 0, ROLL_OPEN_MAX_ENTRIES),
        _tuples(included(), 0, ROLL_OPEN_MAX_ENTRIES),
        _seats(4),
    )


@cache
def voids() -> st.SearchStrategy[Void]:
    return st.builds(
        Void,
        game_ids(),
        nonces(),
        _seats(VOID_MAX_SEATS),
        _tuples(reveal_copies(), 0, VOID_MAX_SEATS),
    )


@cache
def game_ends() -> st.SearchStrategy[GameEnd]:
    return st.builds(
        GameEnd, game_ids(), uints(0, MAX_NONCE), _tuples(reveal_copies(), 0, GAME_END_MAX_REVEALS)
    )


BODY_STRATEGIES: dict[Kind, Callable[[], st.SearchStrategy[Body]]] = {
    Kind.CREATE: creates,
    Kind.JOIN: joins,
    Kind.LEAVE: leaves,
    Kind.CANCEL: cancels,
    Kind.BET: bets,
    Kind.TRANSFER: transfers,
    Kind.ACK: acks,
    Kind.REVEAL: reveals,
    Kind.SEAT: seats,
    Kind.ROLL_OPEN: roll_opens,
    Kind.VOID: voids,
    Kind.GAME_END: game_ends,
}
"""One strategy factory per packet kind; every kind of protocol version 1 is here."""


@cache
def bodies() -> st.SearchStrategy[Body]:
    """A valid body of any kind."""
    return st.one_of([make() for make in BODY_STRATEGIES.values()])


@st.composite
def packets(draw: st.DrawFn, body: st.SearchStrategy[Body] | None = None) -> Packet4:
    """(signing key, nonce, prev, body) with ``prev`` all zero exactly when ``nonce == 1``."""
    key = draw(keys())
    nonce = draw(nonces())
    prev = ZERO_PREV if nonce == 1 else draw(prevs())
    return key, nonce, prev, draw(bodies() if body is None else body)
