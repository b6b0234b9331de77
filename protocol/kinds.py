"""Packet kinds and their bodies: the one place where body schemas live.

Each kind's body is a frozen dataclass whose ``SCHEMA`` lists the wire spec of every field after
the envelope (positions 4 onward), in wire order.  ``body_from_wire`` / ``body_to_wire`` are the
only conversions; ``references`` lists what a packet depends on.  The table kinds' bodies are
TABLES.md §2's; after changing a schema, regenerate ``protocol/checkers.py``
(``scripts/gen_checkers.py``) and the vectors (``scripts/gen_vectors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
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
from protocol.errors import FieldCount, FieldRange, Malformed, UnknownKind
from protocol.schema import Bin, Choice, ListOf, Spec, Struct, UInt, check_fields

__all__ = [
    "BODY_TYPES",
    "MAX_ACKS_PER_ACK",
    "MAX_ACKS_PER_TRANSFER",
    "MAX_LIST",
    "Ack",
    "Bank",
    "Bet",
    "BetEntry",
    "Body",
    "Cancel",
    "Create",
    "Decline",
    "ExtRef",
    "GameEnd",
    "HostRef",
    "Included",
    "Join",
    "JoinCopy",
    "Kind",
    "Leave",
    "NonceRef",
    "Reference",
    "Released",
    "Reveal",
    "RevealCopy",
    "RollOpen",
    "Seat",
    "SeatDep",
    "TableParams",
    "Transfer",
    "Void",
    "body_from_wire",
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
MAX_LIST: Final = 255
"""Wire cap of every list of a table body; the frame size (1,200 B) and the table's
``max_players`` and ``max_entries`` bound them far below it (TABLES.md §5)."""

_U8: Final = UInt(8)
_U16: Final = UInt(16)
_U32: Final = UInt(32)
_U32_POS: Final = UInt(32, lo=1)
_U64: Final = UInt(64)
_U64_POS: Final = UInt(64, lo=1)
_BIN8: Final = Bin(HASH_LEN)
_BIN32: Final = Bin(PUBLIC_KEY_LEN)
_HASH32: Final = Bin(FULL_HASH_LEN)


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class ExtRef:
    """A reference to any sender's packet: ``[sender 32, nonce, h 8]``."""

    sender: bytes
    nonce: int
    h: bytes


@dataclass(frozen=True, slots=True)
class TableParams:
    """``[min_bet, max_bet, bond, host_bond, max_players, max_entries, chain_N]`` of a create."""

    min_bet: int
    max_bet: int
    bond: int
    host_bond: int
    max_players: int
    max_entries: int
    chain_n: int


@dataclass(frozen=True, slots=True)
class BetEntry:
    """``[code u8, amount u64 (, come point u8)]``; the come point only for OddsCome/DontCome."""

    code: BetType
    amount: int
    come_point: int | None = None


class _BetEntrySpec(Struct):
    def validate(self, result: Any) -> None:
        entry: BetEntry = result
        if entry.come_point is None:
            if entry.code in _NEEDS_POINT:
                raise FieldCount(f": {entry.code.name} needs its come point")
        elif entry.code not in _NEEDS_POINT:
            raise FieldCount(f": {entry.code.name} takes no come point")
        elif entry.come_point not in COME_POINTS:
            raise FieldRange(f": come point {entry.come_point} is not 4-6 or 8-10")


_NEEDS_POINT: Final = frozenset(b for b in BetType if needs_come_point(b))


@dataclass(frozen=True, slots=True)
class Decline:
    """A host's decline of a join request: ``[key 32, nonce u32]``."""

    key: bytes
    nonce: int


@dataclass(frozen=True, slots=True)
class JoinCopy:
    """A host's acceptance of a join, with the copy it seats: ``[key 32, nonce, h 8, head 32,
    chain_N u16]``."""

    key: bytes
    nonce: int
    h: bytes
    head: bytes
    chain_n: int


@dataclass(frozen=True, slots=True)
class Released:
    """A bet released by the host: ``[seat u8, nonce u32, index u8]``."""

    seat: int
    nonce: int
    index: int


@dataclass(frozen=True, slots=True)
class Included:
    """A bet included by the host, with the copy the table state uses: ``[seat, nonce, index,
    code u8, amount u64 (, point u8)]``.  Fields that fit the schema but contradict each other
    (an unknown code, a point on a bet without one, an index ≥ 8) make a malformed copy, which
    the table ignores (TABLES.md §1)."""

    seat: int
    nonce: int
    index: int
    code: int
    amount: int
    point: int | None = None


@dataclass(frozen=True, slots=True)
class RevealCopy:
    """A seat's preimage a host packet copies: ``[seat u8, nonce u32, preimage 32]``."""

    seat: int
    nonce: int
    preimage: bytes


EXT_REF: Final = Struct(ExtRef, (_BIN32, _U32_POS, _BIN8))
TABLE_PARAMS: Final = Struct(
    TableParams,
    (_U64_POS, _U64_POS, _U64, _U64, _U8, _U16, _U16),
)
BET_ENTRY: Final = _BetEntrySpec(
    BetEntry,
    (Choice(BetType, list(BetType), "bet code"), _U64_POS, _U8),
    optional=1,
)
_BANK: Final = Choice(Bank, list(Bank), "bank")
DECLINE: Final = Struct(Decline, (_BIN32, _U32_POS))
JOIN_COPY: Final = Struct(JoinCopy, (_BIN32, _U32_POS, _BIN8, _HASH32, _U16))
RELEASED: Final = Struct(Released, (_U8, _U32_POS, _U8))
INCLUDED: Final = Struct(Included, (_U8, _U32_POS, _U8, _U8, _U64_POS, _U8), optional=1)
REVEAL_COPY: Final = Struct(RevealCopy, (_U8, _U32_POS, _HASH32))
_SEATS: Final = ListOf(_U8, hi=MAX_LIST)
_DECLINES: Final = ListOf(DECLINE, hi=MAX_LIST)
_JOINS: Final = ListOf(JOIN_COPY, hi=MAX_LIST)
_RELEASED: Final = ListOf(RELEASED, hi=MAX_LIST)
_INCLUDED: Final = ListOf(INCLUDED, hi=MAX_LIST)
_REVEALS: Final = ListOf(REVEAL_COPY, hi=MAX_LIST)


# --------------------------------------------------------------------------- bodies


class Body:
    """Base class of packet bodies."""

    KIND: ClassVar[Kind]
    SCHEMA: ClassVar[tuple[Spec, ...]]

    def references(self) -> tuple[Reference, ...]:
        """What this packet names (its dependencies), in wire order."""
        return ()


@dataclass(frozen=True, slots=True)
class NonceRef:
    """Dependency on ``sender``'s packet ``nonce``, whatever its version (a host named in a
    join, a declined join)."""

    sender: bytes
    nonce: int


@dataclass(frozen=True, slots=True)
class HostRef:
    """Dependency on the table reference T of game ``game``: a nonce of the host named in the
    sender's latest earlier join for that game (the table engine resolves it)."""

    game: bytes
    nonce: int


@dataclass(frozen=True, slots=True)
class SeatDep:
    """Dependency on the packet ``nonce`` of whoever holds ``seat`` at the sender's table
    ``game`` when the host packet's step reads it (the table engine resolves it)."""

    game: bytes
    seat: int
    nonce: int


Reference = ExtRef | NonceRef | HostRef | SeatDep


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
    host: bytes
    table: int
    chain_head: bytes
    chain_n: int

    KIND: ClassVar[Kind] = Kind.JOIN
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _BIN32, _U32_POS, _HASH32, _U16)

    def references(self) -> tuple[Reference, ...]:
        return (NonceRef(self.host, self.table),)


@dataclass(frozen=True, slots=True)
class Leave(Body):
    game: bytes
    table: int

    KIND: ClassVar[Kind] = Kind.LEAVE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS)

    def references(self) -> tuple[Reference, ...]:
        return (HostRef(self.game, self.table),)


@dataclass(frozen=True, slots=True)
class Cancel(Body):
    game: bytes
    table: int
    upto: int

    KIND: ClassVar[Kind] = Kind.CANCEL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS)

    def references(self) -> tuple[Reference, ...]:
        return (HostRef(self.game, self.table),)


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
        return (HostRef(self.game, self.table),)


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
        return (HostRef(self.game, self.table),)


@dataclass(frozen=True, slots=True)
class Seat(Body):
    game: bytes
    leaves: tuple[int, ...]
    declines: tuple[Decline, ...]
    joins: tuple[JoinCopy, ...]
    released: tuple[Released, ...]

    KIND: ClassVar[Kind] = Kind.SEAT
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _SEATS, _DECLINES, _JOINS, _RELEASED)

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (
            *(NonceRef(d.key, d.nonce) for d in self.declines),
            *(ExtRef(j.key, j.nonce, j.h) for j in self.joins),
            *(SeatDep(g, r.seat, r.nonce) for r in self.released),
        )


@dataclass(frozen=True, slots=True)
class RollOpen(Body):
    game: bytes
    k: int
    preimage: bytes
    reveals: tuple[RevealCopy, ...]
    leaves: tuple[int, ...]
    declines: tuple[Decline, ...]
    joins: tuple[JoinCopy, ...]
    released: tuple[Released, ...]
    included: tuple[Included, ...]
    listed: tuple[int, ...]

    KIND: ClassVar[Kind] = Kind.ROLL_OPEN
    SCHEMA: ClassVar[tuple[Spec, ...]] = (
        _BIN8,
        _U32_POS,
        _HASH32,
        _REVEALS,
        _SEATS,
        _DECLINES,
        _JOINS,
        _RELEASED,
        _INCLUDED,
        _SEATS,
    )

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return (
            *(SeatDep(g, r.seat, r.nonce) for r in self.reveals),
            *(NonceRef(d.key, d.nonce) for d in self.declines),
            *(ExtRef(j.key, j.nonce, j.h) for j in self.joins),
            *(SeatDep(g, r.seat, r.nonce) for r in self.released),
            *(SeatDep(g, e.seat, e.nonce) for e in self.included),
        )


@dataclass(frozen=True, slots=True)
class Void(Body):
    game: bytes
    k: int
    withheld: tuple[int, ...]
    present: tuple[RevealCopy, ...]

    KIND: ClassVar[Kind] = Kind.VOID
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _SEATS, _REVEALS)

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return tuple(SeatDep(g, r.seat, r.nonce) for r in self.present)


@dataclass(frozen=True, slots=True)
class GameEnd(Body):
    game: bytes
    k: int
    reveals: tuple[RevealCopy, ...]

    KIND: ClassVar[Kind] = Kind.GAME_END
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32, _REVEALS)

    def references(self) -> tuple[Reference, ...]:
        g = self.game
        return tuple(SeatDep(g, r.seat, r.nonce) for r in self.reveals)


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


def body_from_wire(kind: int, fields: Sequence[object]) -> Body:
    """Check the fields after position 3 of a body of ``kind``; raise a Malformed subclass.

    The exact checks, which name the first fault; the receive path first tries the generated
    checkers of :mod:`protocol.checkers` (see :func:`protocol.frame.decode_body`)."""
    cls = BODY_TYPES.get(kind)
    if cls is None:
        raise UnknownKind(f"kind {kind} is not a packet kind of protocol version 1")
    try:
        values = check_fields(cls.SCHEMA, fields, 0, _field_names(cls))
    except Malformed as exc:
        message = str(exc.args[0]) if exc.args else ""
        sep = "" if message.startswith(":") else ": "
        exc.args = (f"{cls.KIND.name.lower()} body{sep}{message}",)
        raise
    return cls(*values)


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
