"""Packet kinds and their bodies: the one place where body schemas live.

Each kind's body is a frozen dataclass whose ``SCHEMA`` lists the wire spec of every field after
the envelope (positions 4 onward), in wire order; the checks generated from it
(``protocol/checkers.py``) read bodies, ``body_to_wire`` writes them, and ``references`` lists
what a packet depends on.  These are the first drafts of
DESIGN.md section 3: the ledger and table issues may refine fields (regenerating the vectors with
``python scripts/gen_vectors.py``), never the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, Final

from protocol.bets import COME_POINTS, BetType, needs_come_point
from protocol.constants import (
    FULL_HASH_LEN,
    HASH_LEN,
    MAX_BETS_PER_PACKET,
    PUBLIC_KEY_LEN,
)
from protocol.errors import FieldCount, FieldRange
from protocol.schema import Bin, Choice, ListOf, Spec, Struct, UInt

__all__ = [
    "BODY_TYPES",
    "MAX_ACKS_PER_ACK",
    "MAX_ACKS_PER_TRANSFER",
    "MAX_ANSWERS",
    "MAX_SEATS",
    "Ack",
    "Answer",
    "Bank",
    "Bet",
    "BetEntry",
    "Body",
    "Cancel",
    "Create",
    "EntryRef",
    "ExtRef",
    "GameEnd",
    "Join",
    "Kind",
    "Leave",
    "Reveal",
    "RollOpen",
    "Seat",
    "SeatRef",
    "TableParams",
    "Transfer",
    "Void",
    "body_to_wire",
]


class Kind(IntEnum):
    """The kind byte at body position 0. Closed within protocol version 1."""

    CREATE = 1
    JOIN = 2
    LEAVE = 3
    CANCEL = 4
    BET = 5
    TRANSFER = 6
    ACK = 7
    REVEAL = 8
    SEAT = 9
    ROLL_OPEN = 10
    VOID = 11
    GAME_END = 12


class Bank(IntEnum):
    """Who banks a table: the host's own balance, or the treasury (house key only)."""

    OWN = 0
    TREASURY = 1


MAX_ACKS_PER_TRANSFER: Final = 4
MAX_ACKS_PER_ACK: Final = 16
MAX_ANSWERS: Final = 8
"""Requests one host packet may answer (more wait for the next one)."""
MAX_SEATS: Final = 255
"""Seats 1..255 for players; lists indexed by seat hold at most this many entries."""
MAX_ENTRIES_WIRE: Final = 255
"""Wire cap on ``included`` + ``released``; a table's ``max_entries`` is smaller (see budget)."""

_U8: Final = UInt(8)
_U16_POS: Final = UInt(16, lo=1)
_U32_POS: Final = UInt(32, lo=1)
_U64: Final = UInt(64)
_U64_POS: Final = UInt(64, lo=1)
_BIN8: Final = Bin(HASH_LEN)
_BIN32: Final = Bin(PUBLIC_KEY_LEN)
_HASH32: Final = Bin(FULL_HASH_LEN)
_SEAT: Final = UInt(8, lo=0)
_FLAG: Final = UInt(8, hi=1)


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class ExtRef:
    """A reference to any sender's packet: ``[sender 32, nonce, h 8]``."""

    sender: bytes
    nonce: int
    h: bytes


@dataclass(frozen=True, slots=True)
class SeatRef:
    """A reference to a seated player's packet: ``[seat u8, nonce u32]``."""

    seat: int
    nonce: int


@dataclass(frozen=True, slots=True)
class EntryRef:
    """One bet of a seat's bet packet: ``[seat u8, nonce u32, index u8]``."""

    seat: int
    nonce: int
    index: int


@dataclass(frozen=True, slots=True)
class Answer:
    """A host's answer to a join or leave request: ``[ext ref, accept 0/1]``."""

    request: ExtRef
    accept: int


@dataclass(frozen=True, slots=True)
class TableParams:
    """``[min_bet, max_bet, bond, max_players, max_entries, chain_N]`` of a create."""

    min_bet: int
    max_bet: int
    bond: int
    max_players: int
    max_entries: int
    chain_n: int


@dataclass(frozen=True, slots=True)
class BetEntry:
    """``[code u8, amount u64 (, come point u8)]``; the come point only for OddsCome/DontCome."""

    code: BetType
    amount: int
    come_point: int | None = None


def _come_point_rule(entry: BetEntry) -> None:
    """A come point exactly for the bets that need one (OddsCome, OddsDontCome), and valid."""
    if entry.come_point is None:
        if entry.code in _NEEDS_POINT:
            raise FieldCount(f": {entry.code.name} needs its come point")
    elif entry.code not in _NEEDS_POINT:
        raise FieldCount(f": {entry.code.name} takes no come point")
    elif entry.come_point not in COME_POINTS:
        raise FieldRange(f": come point {entry.come_point} is not 4-6 or 8-10")


_NEEDS_POINT: Final = frozenset(b for b in BetType if needs_come_point(b))


EXT_REF: Final = Struct(ExtRef, (_BIN32, _U32_POS, _BIN8))
SEAT_REF: Final = Struct(SeatRef, (_SEAT, _U32_POS))
ENTRY_REF: Final = Struct(EntryRef, (_SEAT, _U32_POS, UInt(8, hi=MAX_BETS_PER_PACKET - 1)))
ANSWER: Final = Struct(Answer, (EXT_REF, _FLAG))
TABLE_PARAMS: Final = Struct(
    TableParams,
    (_U64_POS, _U64_POS, _U64, UInt(8, lo=1), UInt(16), _U16_POS),
)
BET_ENTRY: Final = Struct(
    BetEntry,
    (Choice(BetType, list(BetType), "bet code"), _U64_POS, UInt(8)),
    optional=1,
    rule=_come_point_rule,
)
_BANK: Final = Choice(Bank, list(Bank), "bank")


# --------------------------------------------------------------------------- bodies


class Body:
    """Base class of packet bodies."""

    KIND: ClassVar[Kind]
    SCHEMA: ClassVar[tuple[Spec, ...]]

    def references(self) -> tuple[Reference, ...]:
        """What this packet names (its dependencies), in wire order."""
        return ()


@dataclass(frozen=True, slots=True)
class GameRef:
    """Dependency on the create whose game id is ``game``."""

    game: bytes


@dataclass(frozen=True, slots=True)
class HostRef:
    """Dependency on the host of game ``game`` at nonce ``nonce`` (the table reference T)."""

    game: bytes
    nonce: int


@dataclass(frozen=True, slots=True)
class OwnRef:
    """Dependency on the sender's own packet ``nonce`` (a cancel's target)."""

    nonce: int


@dataclass(frozen=True, slots=True)
class SeatDep:
    """Dependency on the packet ``nonce`` of whoever holds ``seat`` in game ``game``."""

    game: bytes
    seat: int
    nonce: int


Reference = ExtRef | GameRef | HostRef | OwnRef | SeatDep


@dataclass(frozen=True, slots=True)
class Create(Body):
    params: TableParams
    bankroll: int
    chain_head: bytes
    bank: Bank

    KIND: ClassVar[Kind] = Kind.CREATE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (TABLE_PARAMS, _U64, _HASH32, _BANK)


@dataclass(frozen=True, slots=True)
class Join(Body):
    game: bytes
    table: int
    bond: int
    chain_head: bytes
    chain_n: int

    KIND: ClassVar[Kind] = Kind.JOIN
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U64, _HASH32, _U16_POS)

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


@dataclass(frozen=True, slots=True)
class Leave(Body):
    game: bytes
    table: int

    KIND: ClassVar[Kind] = Kind.LEAVE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS)

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


@dataclass(frozen=True, slots=True)
class Cancel(Body):
    game: bytes
    table: int
    target: int

    KIND: ClassVar[Kind] = Kind.CANCEL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS)

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table), OwnRef(self.target))


@dataclass(frozen=True, slots=True)
class Bet(Body):
    game: bytes
    table: int
    bets: tuple[BetEntry, ...]

    KIND: ClassVar[Kind] = Kind.BET
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        ListOf(BET_ENTRY, hi=MAX_BETS_PER_PACKET, lo=1),
    )

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


@dataclass(frozen=True, slots=True)
class Transfer(Body):
    to: bytes
    amount: int
    acks: tuple[ExtRef, ...]

    KIND: ClassVar[Kind] = Kind.TRANSFER
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN32,
        _U64_POS,
        ListOf(EXT_REF, hi=MAX_ACKS_PER_TRANSFER),
    )

    def references(self) -> tuple[Reference, ...]:
        return self.acks


@dataclass(frozen=True, slots=True)
class Ack(Body):
    acks: tuple[ExtRef, ...]

    KIND: ClassVar[Kind] = Kind.ACK
    SCHEMA: ClassVar[tuple[Spec, ...]] = (ListOf(EXT_REF, hi=MAX_ACKS_PER_ACK, lo=1),)

    def references(self) -> tuple[Reference, ...]:
        return self.acks


@dataclass(frozen=True, slots=True)
class Reveal(Body):
    game: bytes
    k: int
    table: int
    preimage: bytes

    KIND: ClassVar[Kind] = Kind.REVEAL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS, _HASH32)

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


@dataclass(frozen=True, slots=True)
class Seat(Body):
    game: bytes
    answers: tuple[Answer, ...]

    KIND: ClassVar[Kind] = Kind.SEAT
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, ListOf(ANSWER, hi=MAX_ANSWERS, lo=1))

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), *(a.request for a in self.answers))


@dataclass(frozen=True, slots=True)
class RollOpen(Body):
    game: bytes
    k: int
    preimage: bytes
    reveals: tuple[SeatRef, ...]
    included: tuple[EntryRef, ...]
    released: tuple[EntryRef, ...]
    answers: tuple[Answer, ...]

    KIND: ClassVar[Kind] = Kind.ROLL_OPEN
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        _HASH32,
        ListOf(SEAT_REF, hi=MAX_SEATS),
        ListOf(ENTRY_REF, hi=MAX_ENTRIES_WIRE),
        ListOf(ENTRY_REF, hi=MAX_ENTRIES_WIRE),
        ListOf(ANSWER, hi=MAX_ANSWERS),
    )

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (
            GameRef(g),
            *(SeatDep(g, r.seat, r.nonce) for r in self.reveals),
            *(SeatDep(g, e.seat, e.nonce) for e in self.included),
            *(SeatDep(g, e.seat, e.nonce) for e in self.released),
            *(a.request for a in self.answers),
        )


@dataclass(frozen=True, slots=True)
class Void(Body):
    game: bytes
    k: int
    withheld: tuple[int, ...]
    present: tuple[SeatRef, ...]

    KIND: ClassVar[Kind] = Kind.VOID
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        ListOf(_SEAT, hi=MAX_SEATS, lo=1),
        ListOf(SEAT_REF, hi=MAX_SEATS),
    )

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (GameRef(g), *(SeatDep(g, r.seat, r.nonce) for r in self.present))


@dataclass(frozen=True, slots=True)
class GameEnd(Body):
    game: bytes
    reveals: tuple[SeatRef, ...]

    KIND: ClassVar[Kind] = Kind.GAME_END
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, ListOf(SEAT_REF, hi=MAX_SEATS))

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (GameRef(g), *(SeatDep(g, r.seat, r.nonce) for r in self.reveals))


BODY_TYPES: Final[dict[int, type[Body]]] = {
    cls.KIND: cls
    for cls in (
        Create,
        Join,
        Leave,
        Cancel,
        Bet,
        Transfer,
        Ack,
        Reveal,
        Seat,
        RollOpen,
        Void,
        GameEnd,
    )
}
"""Kind byte → body class; a kind byte not in here is Refused(malformed)."""


def body_to_wire(body: Body) -> list[Any]:
    """The wire values of ``body``'s fields, in order (positions 4 onward)."""
    return [
        spec.to_wire(getattr(body, name))
        for spec, name in zip(body.SCHEMA, _field_names(type(body)), strict=True)
    ]


def _field_names(cls: type[Body]) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        _NAMES[cls] = names
    return names


_NAMES: dict[type[Body], tuple[str, ...]] = {}
