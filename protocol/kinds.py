"""Packet kinds and their bodies: the one place where body schemas live.

Each kind's body is a :class:`Record` whose ``SCHEMA`` lists the wire spec of every field after
the envelope (positions 4 onward), in wire order; the checks generated from it
(``protocol/checkers.py``) read bodies, ``body_to_wire`` writes them, and ``references`` lists
what a packet depends on.  The table kinds' bodies are TABLES.md §2's; after changing a schema,
regenerate ``protocol/checkers.py`` (``scripts/gen_checkers.py``) and the vectors
(``scripts/gen_vectors.py``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Final, TypeVar

from protocol.acyclic import untracked as _untracked_imported
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
    "Included",
    "Join",
    "JoinCopy",
    "Kind",
    "Leave",
    "NonceRef",
    "Record",
    "Reference",
    "Released",
    "Reveal",
    "RevealCopy",
    "RollOpen",
    "Seat",
    "TableParams",
    "Transfer",
    "Void",
    "body_to_wire",
    "replace",
]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""


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


class TableParams(Record):
    """``[min_bet, max_bet, bond, host_bond, max_players, max_entries, chain_N]`` of a create."""

    def __init__(
        self,
        min_bet: int,
        max_bet: int,
        bond: int,
        host_bond: int,
        max_players: int,
        max_entries: int,
        chain_n: int,
    ) -> None:
        self.min_bet: Final = min_bet
        self.max_bet: Final = max_bet
        self.bond: Final = bond
        self.host_bond: Final = host_bond
        self.max_players: Final = max_players
        self.max_entries: Final = max_entries
        self.chain_n: Final = chain_n


class BetEntry(Record):
    """``[code u8, amount u64 (, come point u8)]``; the come point only for OddsCome/DontCome."""

    def __init__(self, code: BetType, amount: int, come_point: int | None = None) -> None:
        self.code: Final = code
        self.amount: Final = amount
        self.come_point: Final = come_point
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)


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


class Decline(Record):
    """A host's decline of a join request: ``[key 32, nonce u32]``."""

    def __init__(self, key: bytes, nonce: int) -> None:
        self.key: Final = key
        self.nonce: Final = nonce


class JoinCopy(Record):
    """A host's acceptance of a join, with the copy it seats: ``[key 32, nonce, h 8, head 32,
    chain_N u16]``."""

    def __init__(self, key: bytes, nonce: int, h: bytes, head: bytes, chain_n: int) -> None:
        self.key: Final = key
        self.nonce: Final = nonce
        self.h: Final = h
        self.head: Final = head
        self.chain_n: Final = chain_n


class Released(Record):
    """A bet released by the host: ``[seat u8, nonce u32, index u8]``."""

    def __init__(self, seat: int, nonce: int, index: int) -> None:
        self.seat: Final = seat
        self.nonce: Final = nonce
        self.index: Final = index


class Included(Record):
    """A bet included by the host, with the copy the table state uses: ``[seat, nonce, index,
    code u8, amount u64 (, point u8)]``.  Fields that fit the schema but contradict each other
    (an unknown code, a point on a bet without one, an index ≥ 8) make a malformed copy, which
    the table ignores (TABLES.md §1)."""

    def __init__(
        self,
        seat: int,
        nonce: int,
        index: int,
        code: int,
        amount: int,
        point: int | None = None,
    ) -> None:
        self.seat: Final = seat
        self.nonce: Final = nonce
        self.index: Final = index
        self.code: Final = code
        self.amount: Final = amount
        self.point: Final = point


class RevealCopy(Record):
    """A seat's preimage a host packet copies: ``[seat u8, nonce u32, preimage 32]``."""

    def __init__(self, seat: int, nonce: int, preimage: bytes) -> None:
        self.seat: Final = seat
        self.nonce: Final = nonce
        self.preimage: Final = preimage


EXT_REF: Final = Struct(ExtRef, (_BIN32, _U32_POS, _BIN8))
TABLE_PARAMS: Final = Struct(
    TableParams,
    (_U64_POS, _U64_POS, _U64, _U64, _U8, _U16, _U16),
)
BET_ENTRY: Final = Struct(
    BetEntry,
    (Choice(BetType, list(BetType), "bet code"), _U64_POS, _U8),
    optional=1,
    rule=_come_point_rule,
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


class Body(Record):
    """Base class of packet bodies."""

    KIND: ClassVar[Kind]
    SCHEMA: ClassVar[tuple[Spec, ...]]

    def references(self) -> tuple[Reference, ...]:
        """The packets this one names by key (its dependencies the ledger resolves itself), in
        wire order."""
        return ()

    def names_by_state(self) -> bool:
        """Whether it also names packets through game state (a player packet's T on the host
        of its binding, a host packet's seat refs): the table engine resolves those."""
        return False


class NonceRef(Record):
    """Dependency on ``sender``'s packet ``nonce``, whatever its version (a host named in a
    join, a declined join)."""

    def __init__(self, sender: bytes, nonce: int) -> None:
        self.sender: Final = sender
        self.nonce: Final = nonce


Reference = ExtRef | NonceRef


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
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _BIN32, _U32_POS, _HASH32, _U16)

    def __init__(
        self,
        game: bytes,
        host: bytes,
        table: int,
        chain_head: bytes,
        chain_n: int,
    ) -> None:
        self.game: Final = game
        self.host: Final = host
        self.table: Final = table
        self.chain_head: Final = chain_head
        self.chain_n: Final = chain_n

    def references(self) -> tuple[Reference, ...]:
        return (NonceRef(self.host, self.table),)


class Leave(Body):
    KIND: ClassVar[Kind] = Kind.LEAVE
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS)

    def __init__(self, game: bytes, table: int) -> None:
        self.game: Final = game
        self.table: Final = table

    def names_by_state(self) -> bool:
        return True


class Cancel(Body):
    KIND: ClassVar[Kind] = Kind.CANCEL
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _U32_POS)

    def __init__(self, game: bytes, table: int, upto: int) -> None:
        self.game: Final = game
        self.table: Final = table
        self.upto: Final = upto

    def names_by_state(self) -> bool:
        return True


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

    def names_by_state(self) -> bool:
        return True


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

    def names_by_state(self) -> bool:
        return True


def _answers(declines: tuple[Decline, ...], joins: tuple[JoinCopy, ...]) -> tuple[Reference, ...]:
    """A host packet's join answers as references: a declined join whatever its version, an
    accepted one by its h."""
    if not declines and not joins:
        return ()
    return (
        *(NonceRef(d.key, d.nonce) for d in declines),
        *(ExtRef(j.key, j.nonce, j.h) for j in joins),
    )


class Seat(Body):
    KIND: ClassVar[Kind] = Kind.SEAT
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _SEATS, _DECLINES, _JOINS, _RELEASED)

    def __init__(
        self,
        game: bytes,
        leaves: tuple[int, ...],
        declines: tuple[Decline, ...],
        joins: tuple[JoinCopy, ...],
        released: tuple[Released, ...],
    ) -> None:
        self.game: Final = game
        self.leaves: Final = leaves
        self.declines: Final = declines
        self.joins: Final = joins
        self.released: Final = released

    def references(self) -> tuple[Reference, ...]:
        return _answers(self.declines, self.joins)

    def names_by_state(self) -> bool:
        return True


class RollOpen(Body):
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

    def __init__(
        self,
        game: bytes,
        k: int,
        preimage: bytes,
        reveals: tuple[RevealCopy, ...],
        leaves: tuple[int, ...],
        declines: tuple[Decline, ...],
        joins: tuple[JoinCopy, ...],
        released: tuple[Released, ...],
        included: tuple[Included, ...],
        listed: tuple[int, ...],
    ) -> None:
        self.game: Final = game
        self.k: Final = k
        self.preimage: Final = preimage
        self.reveals: Final = reveals
        self.leaves: Final = leaves
        self.declines: Final = declines
        self.joins: Final = joins
        self.released: Final = released
        self.included: Final = included
        self.listed: Final = listed

    def references(self) -> tuple[Reference, ...]:
        return _answers(self.declines, self.joins)

    def names_by_state(self) -> bool:
        return True


class Void(Body):
    KIND: ClassVar[Kind] = Kind.VOID
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32_POS, _SEATS, _REVEALS)

    def __init__(
        self,
        game: bytes,
        k: int,
        withheld: tuple[int, ...],
        present: tuple[RevealCopy, ...],
    ) -> None:
        self.game: Final = game
        self.k: Final = k
        self.withheld: Final = withheld
        self.present: Final = present

    def names_by_state(self) -> bool:
        return True


class GameEnd(Body):
    KIND: ClassVar[Kind] = Kind.GAME_END
    SCHEMA: ClassVar[tuple[Spec, ...]] = (_BIN8, _U32, _REVEALS)

    def __init__(self, game: bytes, k: int, reveals: tuple[RevealCopy, ...]) -> None:
        self.game: Final = game
        self.k: Final = k
        self.reveals: Final = reveals

    def names_by_state(self) -> bool:
        return True


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


R = TypeVar("R", bound=Record)


def replace(record: R, **changes: Any) -> R:
    """A copy of ``record`` with ``changes`` to some of its fields (records are immutable)."""
    values = {name: getattr(record, name) for name in field_names(type(record))}
    unknown = changes.keys() - values.keys()
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {', '.join(sorted(unknown))}")
    values.update(changes)
    return type(record)(**values)
