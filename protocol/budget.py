"""The byte budget: the largest and smallest valid body of every kind, and their frame sizes.

Sizes are measured, not computed by hand: each body is sealed with a fixed test key by
:meth:`protocol.frame.FrameCodec.seal` on the ``local`` network.  ``max_entries_for`` gives the
table default ``max_entries`` (DESIGN.md section 9).  Sans-IO; ``python -m protocol.budget``
prints the markdown table of docs/PROTOCOL.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nacl.signing

from protocol.bets import BetType
from protocol.constants import (
    DEFAULT_MAX_PLAYERS,
    FULL_HASH_LEN,
    HASH_LEN,
    HEADER_LEN,
    MAX_BETS_PER_PACKET,
    MAX_FRAME,
    MAX_NONCE,
    MAX_U64,
    PUBLIC_KEY_LEN,
    SIGNATURE_LEN,
    ZERO_PREV,
)
from protocol.frame import FrameCodec, encode_body
from protocol.genesis import LOCAL
from protocol.kinds import (
    MAX_ACKS_PER_ACK,
    MAX_ACKS_PER_TRANSFER,
    MAX_LIST,
    Ack,
    Bank,
    Bet,
    BetEntry,
    Body,
    Cancel,
    Create,
    ExtRef,
    GameEnd,
    Included,
    Join,
    JoinCopy,
    Kind,
    Leave,
    Reveal,
    RevealCopy,
    RollOpen,
    Seat,
    TableParams,
    Transfer,
    Void,
)

__all__ = [
    "CODEC",
    "TEST_KEY",
    "BudgetRow",
    "budget_table",
    "forced_roll_open",
    "frame_size",
    "largest_bodies",
    "largest_single_bet",
    "markdown_table",
    "max_entries_for",
    "seat_joins",
    "smallest_bodies",
]

TEST_KEY: Final = nacl.signing.SigningKey(bytes(range(32)))
"""The fixed key every budget frame is signed with (key bytes never change a frame's size)."""
CODEC: Final = FrameCodec(LOCAL.network_id)
"""Frames are measured on the built-in ``local`` network (the network never changes a size)."""

_U16_MAX: Final = 0xFFFF
_U8_MAX: Final = 0xFF
_COME_POINT_MAX: Final = 10

_G: Final = b"\xff" * HASH_LEN
_KEY: Final = b"\xfe" * PUBLIC_KEY_LEN
_HASH: Final = b"\xff" * FULL_HASH_LEN
_PREV: Final = b"\xff" * HASH_LEN


@dataclass(frozen=True, slots=True)
class BudgetRow:
    """One kind's frame sizes: the largest (and what bounds it) and the smallest."""

    kind: str
    largest: int
    bound: str
    smallest: int


# --------------------------------------------------------------------------- measuring


def frame_size(body: Body, nonce: int = MAX_NONCE) -> int:
    """Bytes of the frame carrying ``body`` at ``nonce`` (``prev`` zero exactly for nonce 1).

    A body that fits is sealed and its frame measured; for one over ``MAX_FRAME`` (which ``seal``
    refuses to produce) the size it would have is returned.  Raises ``ValueError`` for a body a
    receiver would not accept.
    """
    prev = ZERO_PREV if nonce == 1 else _PREV
    sender = bytes(TEST_KEY.verify_key)
    size = HEADER_LEN + len(encode_body(sender, nonce, prev, body)) + SIGNATURE_LEN
    if size <= MAX_FRAME:
        sealed = len(CODEC.seal(TEST_KEY, nonce, prev, body))
        if sealed != size:  # pragma: no cover - the frame layout itself would be wrong
            raise AssertionError(f"sealed frame has {sealed} bytes, layout says {size}")
    return size


# --------------------------------------------------------------------------- largest bodies


def _ext_ref(i: int = 0) -> ExtRef:
    return ExtRef(_KEY, MAX_NONCE - i, _G)


def _player_seats(max_players: int) -> tuple[int, ...]:
    return tuple(range(1, max_players))


def _reveals(max_players: int) -> tuple[RevealCopy, ...]:
    return tuple(RevealCopy(seat, MAX_NONCE, _HASH) for seat in _player_seats(max_players))


def _join_copy(i: int = 0) -> JoinCopy:
    return JoinCopy(_KEY, MAX_NONCE - i, _G, _HASH, _U16_MAX)


def _included(count: int, max_players: int) -> tuple[Included, ...]:
    """``count`` distinct included entries of the worst size (19 bytes: an amount of 2**64-1
    and a come point), at the top seat."""
    seat = max_players - 1
    return tuple(
        Included(
            seat,
            MAX_NONCE - i // MAX_BETS_PER_PACKET,
            i % MAX_BETS_PER_PACKET,
            int(BetType.OddsCome),
            MAX_U64,
            _COME_POINT_MAX,
        )
        for i in range(count)
    )


def _check_max_players(max_players: int) -> None:
    if not 2 <= max_players <= MAX_LIST:
        raise ValueError(
            f"max_players {max_players} is outside 2..{MAX_LIST} (a table needs a player seat)"
        )


def forced_roll_open(max_players: int, entries: int = 0) -> RollOpen:
    """The ``roll_open`` of TABLES.md §5 at ``max_players``: reveals, leaves and listed full for
    every player seat, one join answer, and ``entries`` included entries of the worst size."""
    _check_max_players(max_players)
    if not 0 <= entries <= MAX_LIST:
        raise ValueError(f"entries {entries} is outside 0..{MAX_LIST}")
    seats = _player_seats(max_players)
    return RollOpen(
        game=_G,
        k=MAX_NONCE,
        preimage=_HASH,
        reveals=_reveals(max_players),
        leaves=seats,
        declines=(),
        joins=(_join_copy(),),
        released=(),
        included=_included(entries, max_players),
        listed=seats,
    )


def largest_single_bet() -> Bet:
    """The single-bet packet of DESIGN.md section 3: one OddsCome of 2**64-1 at T = 2**32-1."""
    return Bet(_G, MAX_NONCE, (BetEntry(BetType.OddsCome, MAX_U64, _COME_POINT_MAX),))


def largest_bodies(
    max_players: int = DEFAULT_MAX_PLAYERS, max_entries: int | None = None
) -> dict[Kind, Body]:
    """The largest body of every kind a table of ``max_players`` (2..255) sends.

    Integers are at their wire maximum; a list of seats holds every player seat; ``roll_open``
    is :func:`forced_roll_open` with ``max_entries`` entries (default: :func:`max_entries_for`),
    ``seat`` holds as many join answers as fit one frame.
    """
    _check_max_players(max_players)
    if max_entries is None:
        max_entries = max_entries_for(max_players)
    seats = _player_seats(max_players)
    bodies: list[Body] = [
        Create(
            TableParams(MAX_U64, MAX_U64, MAX_U64, MAX_U64, _U8_MAX, _U16_MAX, _U16_MAX),
            MAX_U64,
            _HASH,
            Bank.TREASURY,
        ),
        Join(_G, _KEY, MAX_NONCE, _HASH, _U16_MAX),
        Leave(_G, MAX_NONCE),
        Cancel(_G, MAX_NONCE, MAX_NONCE),
        Bet(
            _G,
            MAX_NONCE,
            tuple(
                BetEntry(BetType.OddsCome, MAX_U64 - i, _COME_POINT_MAX)
                for i in range(MAX_BETS_PER_PACKET)
            ),
        ),
        Transfer(_KEY, MAX_U64, tuple(_ext_ref(i) for i in range(MAX_ACKS_PER_TRANSFER))),
        Ack(tuple(_ext_ref(i) for i in range(MAX_ACKS_PER_ACK))),
        Reveal(_G, MAX_NONCE, MAX_NONCE, _HASH),
        Seat(_G, seats, (), tuple(_join_copy(i) for i in range(seat_joins(seats))), ()),
        forced_roll_open(max_players, max_entries),
        Void(_G, MAX_NONCE, seats, _reveals(max_players)),
        GameEnd(_G, MAX_NONCE, _reveals(max_players)),
    ]
    return {body.KIND: body for body in bodies}


def max_entries_for(max_players: int) -> int:
    """``MAX_ENTRIES(P)`` of TABLES.md §5: the most included entries that keep
    :func:`forced_roll_open` within one frame.  Raises ``ValueError`` when even none fit."""
    _check_max_players(max_players)

    def fits(entries: int) -> bool:
        return frame_size(forced_roll_open(max_players, entries)) <= MAX_FRAME

    if not fits(0):
        raise ValueError(
            f"a roll_open at max_players {max_players} exceeds {MAX_FRAME} bytes with no entries"
        )
    lo, hi = 0, MAX_LIST + 1  # fits(lo); hi is past the wire limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def seat_joins(leaves: tuple[int, ...] = ()) -> int:
    """How many join answers one ``seat`` holds beside ``leaves`` (TABLES.md §5: 12 alone)."""
    count = 0
    while (
        frame_size(Seat(_G, leaves, (), tuple(_join_copy(i) for i in range(count + 1)), ()))
        <= MAX_FRAME
    ):
        count += 1
    return count


# --------------------------------------------------------------------------- smallest bodies


def smallest_bodies() -> dict[Kind, Body]:
    """The smallest valid body of every kind (sealed at nonce 1 for the smallest frame)."""
    one = ExtRef(_KEY, 1, _G)
    bodies: list[Body] = [
        Create(TableParams(1, 1, 0, 0, 0, 0, 0), 0, _HASH, Bank.OWN),
        Join(_G, _KEY, 1, _HASH, 0),
        Leave(_G, 1),
        Cancel(_G, 1, 1),
        Bet(_G, 1, (BetEntry(BetType.Pass, 1),)),
        Transfer(_KEY, 1, ()),
        Ack((one,)),
        Reveal(_G, 1, 1, _HASH),
        Seat(_G, (), (), (), ()),
        RollOpen(_G, 1, _HASH, (), (), (), (), (), (), ()),
        Void(_G, 1, (), ()),
        GameEnd(_G, 0, ()),
    ]
    return {body.KIND: body for body in bodies}


# --------------------------------------------------------------------------- the table


def _bounds(max_players: int, max_entries: int) -> dict[Kind, str]:
    seats = max_players - 1
    return {
        Kind.CREATE: "no lists; every integer at its wire maximum",
        Kind.JOIN: "no lists",
        Kind.LEAVE: "no lists",
        Kind.CANCEL: "no lists",
        Kind.BET: f"{MAX_BETS_PER_PACKET} bets (MAX_BETS_PER_PACKET), each an OddsCome entry",
        Kind.TRANSFER: f"{MAX_ACKS_PER_TRANSFER} acks (MAX_ACKS_PER_TRANSFER)",
        Kind.ACK: f"{MAX_ACKS_PER_ACK} acks (MAX_ACKS_PER_ACK)",
        Kind.REVEAL: "no lists",
        Kind.SEAT: (
            f"{seats} leaves and {seat_joins(tuple(range(1, max_players)))} join answers "
            "(as many as fit beside them)"
        ),
        Kind.ROLL_OPEN: (
            f"{seats} reveals, leaves and listed seats, one join answer, "
            f"{max_entries} included entries (MAX_ENTRIES)"
        ),
        Kind.VOID: f"{seats} voided seats and {seats} present reveals",
        Kind.GAME_END: f"{seats} reveals",
    }


def budget_table(max_players: int = DEFAULT_MAX_PLAYERS) -> list[BudgetRow]:
    """One row per kind, in kind order, at a table of ``max_players`` and its ``max_entries``."""
    max_entries = max_entries_for(max_players)
    largest = largest_bodies(max_players, max_entries)
    smallest = smallest_bodies()
    bounds = _bounds(max_players, max_entries)
    return [
        BudgetRow(
            kind=kind.name.lower(),
            largest=frame_size(largest[kind]),
            bound=bounds[kind],
            smallest=frame_size(smallest[kind], nonce=1),
        )
        for kind in Kind
    ]


def markdown_table(max_players: int = DEFAULT_MAX_PLAYERS) -> str:
    """The budget of every kind at ``max_players`` as a markdown table, with its headline sizes."""
    rows = budget_table(max_players)
    lines = [
        f"Byte budget at max_players = {max_players}, "
        f"max_entries = {max_entries_for(max_players)} (frame limit {MAX_FRAME} bytes):",
        "",
        "| kind | byte | largest frame | bounded by | smallest frame |",
        "|---|---:|---:|---|---:|",
    ]
    lines += [
        f"| `{row.kind}` | {int(Kind[row.kind.upper()])} | {row.largest} | {row.bound} "
        f"| {row.smallest} |"
        for row in rows
    ]
    lines += [
        "",
        f"Single-bet packet (one OddsCome, amount 2**64-1, nonce and T 2**32-1): "
        f"{frame_size(largest_single_bet())} bytes.",
    ]
    return "\n".join(lines)


def _max_entries_table(players: range) -> str:
    lines = ["| max_players | max_entries |", "|---:|---:|"]
    for count in players:
        try:
            entries = str(max_entries_for(count))
        except ValueError:
            entries = "roll_open does not fit"
        lines.append(f"| {count} | {entries} |")
    return "\n".join(lines)


def main(argv: list[str], write: Callable[[str], object] = print) -> int:
    """``python -m protocol.budget [max_players]``: print the budget table."""
    if len(argv) > 1:
        write("usage: python -m protocol.budget [max_players]")
        return 2
    try:
        max_players = int(argv[0]) if argv else DEFAULT_MAX_PLAYERS
        table = markdown_table(max_players)
    except ValueError as exc:
        write(f"error: {exc}")
        return 2
    write(table)
    write("")
    write(_max_entries_table(range(2, 17)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
