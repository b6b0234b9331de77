"""Packet kinds and their bodies: the one place where body schemas live.

Each kind's body is a :class:`Record` whose ``SCHEMA`` lists the wire spec of every field after
the envelope (positions 4 onward), in wire order; the checks generated from it
(``protocol/checkers.py``) read bodies, ``body_to_wire`` writes them, and ``references`` lists
what a packet depends on.  These are the first drafts of DESIGN.md section 3: the ledger and
table issues may refine fields (regenerating the vectors with ``python scripts/gen_vectors.py``),
never the envelope.
"""

from __future__ import annotations

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
from protocol.schema import Bin, Choice, ListOf, Spec, Struct, UInt, field_names

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
    "Record",
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


class Record:
    """An immutable wire value.  Its fields are its ``__init__`` parameters, in wire order, each
    set once (``Final``); equal and hashed by type and fields, shown as ``Cls(field=value, …)``.

    Plain classes with an explicit ``__init__`` rather than dataclasses: compiled by mypyc, the
    checks of every received packet build them in one native call (a dataclass keeps its
    interpreted generated ``__init__``, docs/BUILD.md)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and _values(self) == _values(other)

    def __hash__(self) -> int:
        return hash(_values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in field_names(type(self)))
        return f"{type(self).__name__}({shown})"


def _values(record: Record) -> tuple[object, ...]:
    return tuple([getattr(record, name) for name in field_names(type(record))])


class ExtRef(Record):
    """A reference to any sender's packet: ``[sender 32, nonce, h 8]``."""

    def __init__(self, sender: bytes, nonce: int, h: bytes) -> None:
        self.sender: Final = sender
        self.nonce: Final = nonce
        self.h: Final = h


class SeatRef(Record):
    """A reference to a seated player's packet: ``[seat u8, nonce u32]``."""

    def __init__(self, seat: int, nonce: int) -> None:
        self.seat: Final = seat
        self.nonce: Final = nonce


class EntryRef(Record):
    """One bet of a seat's bet packet: ``[seat u8, nonce u32, index u8]``."""

    def __init__(self, seat: int, nonce: int, index: int) -> None:
        self.seat: Final = seat
        self.nonce: Final = nonce
        self.index: Final = index


class Answer(Record):
    """A host's answer to a join or leave request: ``[ext ref, accept 0/1]``."""

    def __init__(self, request: ExtRef, accept: int) -> None:
        self.request: Final = request
        self.accept: Final = accept


class TableParams(Record):
    """``[min_bet, max_bet, bond, max_players, max_entries, chain_N]`` of a create."""

    def __init__(
        self,
        min_bet: int,
        max_bet: int,
        bond: int,
        max_players: int,
        max_entries: int,
        chain_n: int,
    ) -> None:
        self.min_bet: Final = min_bet
        self.max_bet: Final = max_bet
        self.bond: Final = bond
        self.max_players: Final = max_players
        self.max_entries: Final = max_entries
        self.chain_n: Final = chain_n


class BetEntry(Record):
    """``[code u8, amount u64 (, come point u8)]``; the come point only for OddsCome/DontCome."""

    def __init__(self, code: BetType, amount: int, come_point: int | None = None) -> None:
        self.code: Final = code
        self.amount: Final = amount
        self.come_point: Final = come_point


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


class Body(Record):
    """Base class of packet bodies."""

    KIND: ClassVar[Kind]
    SCHEMA: ClassVar[tuple[Spec, ...]]

    def references(self) -> tuple[Reference, ...]:
        """What this packet names (its dependencies), in wire order."""
        return ()


class GameRef(Record):
    """Dependency on the create whose game id is ``game``."""

    def __init__(self, game: bytes) -> None:
        self.game: Final = game


class HostRef(Record):
    """Dependency on the host of game ``game`` at nonce ``nonce`` (the table reference T)."""

    def __init__(self, game: bytes, nonce: int) -> None:
        self.game: Final = game
        self.nonce: Final = nonce


class OwnRef(Record):
    """Dependency on the sender's own packet ``nonce`` (a cancel's target)."""

    def __init__(self, nonce: int) -> None:
        self.nonce: Final = nonce


class SeatDep(Record):
    """Dependency on the packet ``nonce`` of whoever holds ``seat`` in game ``game``."""

    def __init__(self, game: bytes, seat: int, nonce: int) -> None:
        self.game: Final = game
        self.seat: Final = seat
        self.nonce: Final = nonce


Reference = ExtRef | GameRef | HostRef | OwnRef | SeatDep


class Create(Body):
    KIND: ClassVar[Kind] = Kind.CREATE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (TABLE_PARAMS, _U64, _HASH32, _BANK)

    def __init__(self, params: TableParams, bankroll: int, chain_head: bytes, bank: Bank) -> None:
        self.params: Final = params
        self.bankroll: Final = bankroll
        self.chain_head: Final = chain_head
        self.bank: Final = bank


class Join(Body):
    KIND: ClassVar[Kind] = Kind.JOIN
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U64, _HASH32, _U16_POS)

    def __init__(self, game: bytes, table: int, bond: int, chain_head: bytes, chain_n: int) -> None:
        self.game: Final = game
        self.table: Final = table
        self.bond: Final = bond
        self.chain_head: Final = chain_head
        self.chain_n: Final = chain_n

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


class Leave(Body):
    KIND: ClassVar[Kind] = Kind.LEAVE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS)

    def __init__(self, game: bytes, table: int) -> None:
        self.game: Final = game
        self.table: Final = table

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


class Cancel(Body):
    KIND: ClassVar[Kind] = Kind.CANCEL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS)

    def __init__(self, game: bytes, table: int, target: int) -> None:
        self.game: Final = game
        self.table: Final = table
        self.target: Final = target

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table), OwnRef(self.target))


class Bet(Body):
    KIND: ClassVar[Kind] = Kind.BET
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        ListOf(BET_ENTRY, hi=MAX_BETS_PER_PACKET, lo=1),
    )

    def __init__(self, game: bytes, table: int, bets: tuple[BetEntry, ...]) -> None:
        self.game: Final = game
        self.table: Final = table
        self.bets: Final = bets

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


class Transfer(Body):
    KIND: ClassVar[Kind] = Kind.TRANSFER
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN32,
        _U64_POS,
        ListOf(EXT_REF, hi=MAX_ACKS_PER_TRANSFER),
    )

    def __init__(self, to: bytes, amount: int, acks: tuple[ExtRef, ...]) -> None:
        self.to: Final = to
        self.amount: Final = amount
        self.acks: Final = acks

    def references(self) -> tuple[Reference, ...]:
        return self.acks


class Ack(Body):
    KIND: ClassVar[Kind] = Kind.ACK
    SCHEMA: ClassVar[tuple[Spec, ...]] = (ListOf(EXT_REF, hi=MAX_ACKS_PER_ACK, lo=1),)

    def __init__(self, acks: tuple[ExtRef, ...]) -> None:
        self.acks: Final = acks

    def references(self) -> tuple[Reference, ...]:
        return self.acks


class Reveal(Body):
    KIND: ClassVar[Kind] = Kind.REVEAL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS, _HASH32)

    def __init__(self, game: bytes, k: int, table: int, preimage: bytes) -> None:
        self.game: Final = game
        self.k: Final = k
        self.table: Final = table
        self.preimage: Final = preimage

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), HostRef(self.game, self.table))


class Seat(Body):
    KIND: ClassVar[Kind] = Kind.SEAT
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, ListOf(ANSWER, hi=MAX_ANSWERS, lo=1))

    def __init__(self, game: bytes, answers: tuple[Answer, ...]) -> None:
        self.game: Final = game
        self.answers: Final = answers

    def references(self) -> tuple[Reference, ...]:
        return (GameRef(self.game), *(a.request for a in self.answers))


class RollOpen(Body):
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

    def __init__(
        self,
        game: bytes,
        k: int,
        preimage: bytes,
        reveals: tuple[SeatRef, ...],
        included: tuple[EntryRef, ...],
        released: tuple[EntryRef, ...],
        answers: tuple[Answer, ...],
    ) -> None:
        self.game: Final = game
        self.k: Final = k
        self.preimage: Final = preimage
        self.reveals: Final = reveals
        self.included: Final = included
        self.released: Final = released
        self.answers: Final = answers

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (
            GameRef(g),
            *(SeatDep(g, r.seat, r.nonce) for r in self.reveals),
            *(SeatDep(g, e.seat, e.nonce) for e in self.included),
            *(SeatDep(g, e.seat, e.nonce) for e in self.released),
            *(a.request for a in self.answers),
        )


class Void(Body):
    KIND: ClassVar[Kind] = Kind.VOID
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        ListOf(_SEAT, hi=MAX_SEATS, lo=1),
        ListOf(SEAT_REF, hi=MAX_SEATS),
    )

    def __init__(
        self,
        game: bytes,
        k: int,
        withheld: tuple[int, ...],
        present: tuple[SeatRef, ...],
    ) -> None:
        self.game: Final = game
        self.k: Final = k
        self.withheld: Final = withheld
        self.present: Final = present

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (GameRef(g), *(SeatDep(g, r.seat, r.nonce) for r in self.present))


class GameEnd(Body):
    KIND: ClassVar[Kind] = Kind.GAME_END
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, ListOf(SEAT_REF, hi=MAX_SEATS))

    def __init__(self, game: bytes, reveals: tuple[SeatRef, ...]) -> None:
        self.game: Final = game
        self.reveals: Final = reveals

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
        for spec, name in zip(body.SCHEMA, field_names(type(body)), strict=True)
    ]
