"""The table engine's part of the replicated state, in two layers kept apart.

**Table state** (:class:`Table`, :class:`Seat`, and the ``named``, ``released``, ``heads``,
``answered``, ``voided`` maps) comes only from host table packets, the create body and their
copies: it never reads a verdict, so every replica that judged the same host packets holds it
alike, whichever player packets were Applied.  **Money** (:class:`TableMoney`, :class:`Escrow`
items, the records' verdicts) follows that state, clipped to what is backed (TABLES.md §0, §7).

Records of player table packets (:class:`JoinRecord`, :class:`BetRecord`, …) are kept by their
``(key, nonce)``: what a host packet names is read here, in the state its dependencies left.

Everything is held in plain maps keyed by tuples, so that one packet's changes are a list of
``(map, key, old, new)`` (:class:`Change`), made and taken back exactly (:mod:`.journal`).
Tables, seats and money objects are never changed in place once in the state: a packet that
changes one puts a changed copy.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import msgpack

from node.core.craps.dice import chain_next
from node.core.craps.table import LiveBet, TableState
from node.core.verdicts import Reason
from protocol.acyclic import untracked as _untracked_imported
from protocol.bets import BetType
from protocol.kinds import Bank, BetEntry, TableParams
from protocol.kinds import Record as Value  # plain classes with Final fields, equal by value

__all__ = [
    "ANSWERED",
    "BINDINGS",
    "BONDS",
    "ESCROW",
    "FUNDS",
    "HEADS",
    "JOIN_INDEX",
    "MAPS",
    "MAP_INDEX",
    "NAMED",
    "OWNED",
    "RECORDS",
    "RELEASED",
    "REQUESTS",
    "REVEALS",
    "ROLLS",
    "STAKES",
    "TABLES",
    "VOIDED",
    "VOIDS",
    "BetMoney",
    "BetRecord",
    "Escrow",
    "Escrowed",
    "ItemKey",
    "ItemStatus",
    "JoinRecord",
    "Record",
    "RequestKind",
    "RequestRecord",
    "RevealRecord",
    "Seat",
    "SeatMoney",
    "Table",
    "TableKey",
    "TableMoney",
    "Tables",
]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""

TableKey: TypeAlias = tuple[bytes, ...]
"""A table: ``(host key, G)``."""
ItemKey: TypeAlias = tuple[Any, ...]
"""An item: ``(key, nonce, index)`` of a bet, or ``(key, nonce, JOIN_INDEX)`` of a join.

Both are typed as tuples of any length: mypyc keeps a fixed-length tuple type unboxed and
builds a new tuple object each time one is stored or passed on, and these keys are passed to
the maps many times per packet (and the copies kept)."""
JOIN_INDEX: Final = 255
"""The index of a join's bond among items (a bet's index is 0 … 7)."""


# --------------------------------------------------------------------------- table state


@dataclass(slots=True, init=False)
class Seat:
    """An occupied player seat: its copied join and the dice party's chain.

    (Tables, seats and their money are dataclasses for equality, ``repr`` and ``replace``, with
    an explicit ``__init__``: a host packet copies its table, and a compiled dataclass's
    generated ``__init__`` runs interpreted, docs/BUILD.md.)"""

    key: bytes
    join_nonce: int
    join_h: bytes
    head: bytes
    chain_n: int
    current: bytes
    """The party's current chain value: the head, then each preimage a host packet copied."""
    left: int
    """chain_N − the Applied roll_opens that listed this seat."""
    leaving: bool

    def __init__(
        self,
        key: bytes,
        join_nonce: int,
        join_h: bytes,
        head: bytes,
        chain_n: int,
        current: bytes,
        left: int,
        leaving: bool = False,
    ) -> None:
        self.key = key
        self.join_nonce = join_nonce
        self.join_h = join_h
        self.head = head
        self.chain_n = chain_n
        self.current = current
        self.left = left
        self.leaving = leaving
        _untracked(self)  # plain values only, even when changed: never in a cycle

    def copy(self) -> Seat:
        return Seat(
            self.key,
            self.join_nonce,
            self.join_h,
            self.head,
            self.chain_n,
            self.current,
            self.left,
            self.leaving,
        )

    def encode(self) -> list[object]:
        return [
            self.key,
            self.join_nonce,
            self.join_h,
            self.head,
            self.chain_n,
            self.current,
            self.left,
            self.leaving,
        ]

    @classmethod
    def decode(cls, data: list[Any]) -> Seat:
        return cls(*data)


@dataclass(slots=True, init=False)
class Table:
    """One table's state, from its create and its host's Applied table packets."""

    host: bytes
    game: bytes
    create_nonce: int
    params: TableParams
    bankroll: int
    bank: Bank
    cover: int
    """K: the bankroll, less every profit paid in state (TABLES.md §5)."""
    host_bond_left: int
    """The remaining host bond: ``host_bond`` less the void fees in state."""
    host_current: bytes
    host_left: int
    k: int
    """Applied roll_opens so far (the open roll's number while one is open)."""
    open: bool
    listed: tuple[int, ...]
    """The seats listed by the open roll (or the last one)."""
    risk_at_open: int
    """The risk of the open roll when it opened: what a void of it pays beside the bonds."""
    first: frozenset[tuple[int | bytes, ...]]
    """Ids of the bets first included in the open roll."""
    seats: dict[int, Seat]
    craps: TableState
    ended: int
    """The nonce of the Applied game_end (0 while the table runs)."""
    last: int
    """The nonce of the host's last Applied table packet (the create's at first)."""
    named_upto: dict[bytes, int]
    """Per key: the highest nonce an Applied seat/roll_open named (for seen requests)."""
    early: bool
    """The Applied game_end returned live bets at stake (an early end: the host bond is
    forfeited, not returned)."""
    key: TableKey = field(init=False, repr=False, compare=False)
    """``(host, G)``, made once per table object: the escrow items, records and map keys of
    its packets share it."""

    def __init__(
        self,
        host: bytes,
        game: bytes,
        create_nonce: int,
        params: TableParams,
        bankroll: int,
        bank: Bank,
        cover: int,
        host_bond_left: int,
        host_current: bytes,
        host_left: int,
        k: int = 0,
        open: bool = False,
        listed: tuple[int, ...] = (),
        risk_at_open: int = 0,
        first: frozenset[tuple[int | bytes, ...]] = frozenset(),
        seats: dict[int, Seat] | None = None,
        craps: TableState | None = None,
        ended: int = 0,
        last: int = 0,
        named_upto: dict[bytes, int] | None = None,
        early: bool = False,
    ) -> None:
        self.host = host
        self.game = game
        self.create_nonce = create_nonce
        self.params = params
        self.bankroll = bankroll
        self.bank = bank
        self.cover = cover
        self.host_bond_left = host_bond_left
        self.host_current = host_current
        self.host_left = host_left
        self.k = k
        self.open = open
        self.listed = listed
        self.risk_at_open = risk_at_open
        self.first = first
        self.seats = {} if seats is None else seats
        self.craps = TableState() if craps is None else craps
        self.ended = ended
        self.last = last
        self.named_upto = {} if named_upto is None else named_upto
        self.early = early
        self.key = (host, game)

    def copy(self) -> Table:
        other = Table(
            self.host,
            self.game,
            self.create_nonce,
            self.params,
            self.bankroll,
            self.bank,
            self.cover,
            self.host_bond_left,
            self.host_current,
            self.host_left,
            self.k,
            self.open,
            self.listed,
            self.risk_at_open,
            self.first,
            {n: seat.copy() for n, seat in self.seats.items()},
            self.craps.copy(),
            self.ended,
            self.last,
            dict(self.named_upto),
            self.early,
        )
        other.key = self.key
        return other

    def occupied(self) -> list[int]:
        """The occupied player seats, ascending."""
        return sorted(self.seats)

    def seat_of(self, key: bytes) -> int | None:
        for number, seat in self.seats.items():
            if seat.key == key:
                return number
        return None

    def live_at(self, seat: int) -> bool:
        """Whether the seat has a live bet."""
        return any(bet.owner == seat for bet in self.craps.bets)

    def encode(self) -> list[object]:
        p = self.params
        return [
            self.host,
            self.game,
            self.create_nonce,
            [p.min_bet, p.max_bet, p.bond, p.host_bond, p.max_players, p.max_entries, p.chain_n],
            self.bankroll,
            int(self.bank),
            self.cover,
            self.host_bond_left,
            self.host_current,
            self.host_left,
            self.k,
            self.open,
            list(self.listed),
            self.risk_at_open,
            sorted(list(bet_id) for bet_id in self.first),
            [[n, seat.encode()] for n, seat in sorted(self.seats.items())],
            self.craps.encode(),
            self.ended,
            self.last,
            sorted([key, m] for key, m in self.named_upto.items()),
            self.early,
        ]

    @classmethod
    def decode(cls, data: list[Any]) -> Table:
        (host, game, create_nonce, params, bankroll, bank, cover, host_bond_left, host_current,
         host_left, k, is_open, listed, risk_at_open, first, seats, craps, ended, last,
         named_upto, early) = data  # fmt: skip
        return cls(
            host,
            game,
            create_nonce,
            TableParams(*params),
            bankroll,
            Bank(bank),
            cover,
            host_bond_left,
            host_current,
            host_left,
            k,
            is_open,
            tuple(listed),
            risk_at_open,
            frozenset(tuple(bet_id) for bet_id in first),
            {n: Seat.decode(seat) for n, seat in seats},
            _decode_craps(craps),
            ended,
            last,
            dict(named_upto),
            early,
        )


def _decode_craps(data: list[Any]) -> TableState:
    point, shooter, next_seq, bets = data
    return TableState(
        point,
        shooter,
        [
            LiveBet(
                tuple(bet_id),
                owner,
                BetType(code),
                stake,
                seq,
                number,
                None if backs is None else tuple(backs),
                tuple(tracker),
            )
            for bet_id, owner, code, stake, seq, number, backs, tracker in bets
        ],
        next_seq,
    )


# --------------------------------------------------------------------------- money


class SeatMoney(Value):
    """A seat's money: its held bond (what is left of it), and whether its copied join is its
    sender's own (a phantom seat moves no money)."""

    def __init__(self, bond: int, own: bool, freed: bool = False) -> None:
        self.bond: Final = bond
        self.own: Final = own
        self.freed: Final = freed
        """A seen leave the host did not act on: a later void returns the bond (TABLES.md §6)."""

    def encode(self) -> list[object]:
        return [self.bond, self.own, self.freed]


class BetMoney(Value):
    """A live bet's money (in ``stakes``): its held stake, which left escrow when the bet went
    live (0 when none was held), and whether a loss charges its seat's bond (collateral: a
    copied bet Refused for balance)."""

    def __init__(self, stake: int, collateral: bool = False) -> None:
        self.stake: Final = stake
        self.collateral: Final = collateral
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)

    def encode(self) -> list[object]:
        return [self.stake, self.collateral]


@dataclass(slots=True, init=False)
class TableMoney:
    """One table's money, changed only by its host's packets: the bank and the host bond.
    (Seats' held bonds are kept per seat, in ``bonds``, and live bets' money per bet, in
    ``stakes``: a player reclaims its own after a host fork.)"""

    backed: bool
    """The create is Applied: its bankroll and host bond are held."""
    bank_real: int
    host_bond_money: int

    def __init__(self, backed: bool, bank_real: int, host_bond_money: int) -> None:
        self.backed = backed
        self.bank_real = bank_real
        self.host_bond_money = host_bond_money

    def copy(self) -> TableMoney:
        return TableMoney(self.backed, self.bank_real, self.host_bond_money)

    def total(self) -> int:
        """What this table's bank and host bond hold."""
        return self.bank_real + self.host_bond_money

    def encode(self) -> list[object]:
        return [self.backed, self.bank_real, self.host_bond_money]

    @classmethod
    def decode(cls, data: list[Any]) -> TableMoney:
        backed, bank_real, host_bond_money = data
        return cls(backed, bank_real, host_bond_money)


class ItemStatus(enum.IntEnum):
    """Where an escrowed item stands.  An item is escrowed while it is not live: a held stake
    that goes live leaves escrow for ``stakes``, and a held bond for ``bonds``."""

    PENDING = 0
    """Debited, not (or no longer) live at the table."""
    RETURNED = 1
    """Held, returned to pending by a void: held until re-included by its window's end."""


class Escrow(Value):
    """An escrowed item: its amount, the last host nonce of its window, and status."""

    def __init__(self, amount: int, window_end: int, status: ItemStatus) -> None:
        self.amount: Final = amount
        self.window_end: Final = window_end
        self.status: Final = status
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)


_PENDING: Final = ItemStatus.PENDING


class Escrowed(Value):
    """One Applied join's or bet's items still in escrow at a table: a join's bond, or a
    bet's stakes by entry index (None once an entry has left escrow).

    Kept per packet rather than per item: a bet of several entries is one value to write
    when it is debited, and the entries a host packet holds or settles together are one
    change.  A host packet that changes an item puts a new value that shares the other
    items' :class:`Escrow` objects."""

    def __init__(self, table: TableKey, join: bool, items: tuple[Escrow | None, ...]) -> None:
        self.table: Final = table
        self.join: Final = join
        self.items: Final = items
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)

    @staticmethod
    def of(table: TableKey, join: bool, items: Sequence[Escrow | None]) -> Escrowed:
        """The escrow of ``items`` by entry index (a join: its bond alone)."""
        return Escrowed(table, join, tuple(items))

    @staticmethod
    def pending(table: TableKey, join: bool, amounts: Sequence[int], window_end: int) -> Escrowed:
        """A debit's escrow: each of ``amounts`` pending until host nonce ``window_end``."""
        return Escrowed(
            table, join, tuple([Escrow(amount, window_end, _PENDING) for amount in amounts])
        )

    def item(self, index: int) -> Escrow | None:
        """The item at ``index`` (:data:`JOIN_INDEX` for a join's bond), if in escrow."""
        if self.join:
            return self.items[0] if index == JOIN_INDEX else None
        items = self.items
        return items[index] if index < len(items) else None

    def replaced(self, index: int, escrow: Escrow | None) -> Escrowed | None:
        """This packet's escrow with the item at ``index`` replaced (None: it left escrow), or
        None once no item is left.  The items end with the last one in escrow, so equal
        escrow is one value whichever order its items left and came back in."""
        items = self.items
        at = 0 if self.join else index
        if len(items) == 1 and at == 0:  # a join's bond, or a bet of one entry
            return None if escrow is None else Escrowed(self.table, self.join, (escrow,))
        changed = list(items)
        if at >= len(changed):
            changed.extend([None] * (at + 1 - len(changed)))
        changed[at] = escrow
        while changed and changed[-1] is None:
            changed.pop()
        return Escrowed(self.table, self.join, tuple(changed)) if changed else None

    def held(self) -> list[tuple[int, Escrow]]:
        """``(index, item)`` of each item in escrow, by index."""
        if self.join:
            bond = self.items[0]
            return [] if bond is None else [(JOIN_INDEX, bond)]
        return [(index, escrow) for index, escrow in enumerate(self.items) if escrow is not None]

    def amount(self) -> int:
        return sum(escrow.amount for escrow in self.items if escrow is not None)

    def encode(self) -> list[object]:
        return [
            list(self.table),
            self.join,
            [None if e is None else [e.amount, e.window_end, int(e.status)] for e in self.items],
        ]

    @classmethod
    def decode(cls, data: list[Any]) -> Escrowed:
        table, join, items = data
        return cls(
            (table[0], table[1]),
            join,
            tuple([None if e is None else Escrow(e[0], e[1], ItemStatus(e[2])) for e in items]),
        )


# --------------------------------------------------------------------------- records


class RequestKind(enum.IntEnum):
    LEAVE = 0
    CANCEL = 1


class JoinRecord(Value):
    """A judged join (any verdict but malformed)."""

    def __init__(
        self,
        game: bytes,
        host: bytes,
        table: int,
        head: bytes,
        chain_n: int,
        h: bytes,
        reason: Reason,
    ) -> None:
        self.game: Final = game
        self.host: Final = host
        self.table: Final = table
        self.head: Final = head
        self.chain_n: Final = chain_n
        self.h: Final = h
        self.reason: Final = reason


class BetRecord(Value):
    """A judged bet: the host it is bound to (None: not joined), its entries and verdict."""

    def __init__(
        self,
        game: bytes,
        host: bytes | None,
        table: int,
        entries: tuple[BetEntry, ...],
        reason: Reason,
    ) -> None:
        self.game: Final = game
        self.host: Final = host
        self.table: Final = table
        self.entries: Final = entries
        self.reason: Final = reason
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)


class RequestRecord(Value):
    """A judged leave or cancel."""

    def __init__(
        self,
        kind: RequestKind,
        game: bytes,
        host: bytes | None,
        table: int,
        upto: int,
        reason: Reason,
    ) -> None:
        self.kind: Final = kind
        self.game: Final = game
        self.host: Final = host
        self.table: Final = table
        self.upto: Final = upto
        self.reason: Final = reason


class RevealRecord(Value):
    """A judged reveal."""

    def __init__(
        self, game: bytes, host: bytes | None, table: int, k: int, preimage: bytes, reason: Reason
    ) -> None:
        self.game: Final = game
        self.host: Final = host
        self.table: Final = table
        self.k: Final = k
        self.preimage: Final = preimage
        self.reason: Final = reason
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)


Record: TypeAlias = JoinRecord | BetRecord | RequestRecord | RevealRecord


def _encode_record(record: Record) -> list[object]:
    if isinstance(record, JoinRecord):
        return [0, record.game, record.host, record.table, record.head, record.chain_n,
                record.h, int(record.reason)]  # fmt: skip
    if isinstance(record, BetRecord):
        entries = [_encode_entry(e) for e in record.entries]
        return [1, record.game, record.host, record.table, entries, int(record.reason)]
    if isinstance(record, RequestRecord):
        return [2, int(record.kind), record.game, record.host, record.table, record.upto,
                int(record.reason)]  # fmt: skip
    return [3, record.game, record.host, record.table, record.k, record.preimage,
            int(record.reason)]  # fmt: skip


def _encode_entry(entry: BetEntry) -> list[object]:
    if entry.come_point is None:
        return [int(entry.code), entry.amount]
    return [int(entry.code), entry.amount, entry.come_point]


def _decode_record(data: list[Any]) -> Record:
    tag = data[0]
    if tag == 0:
        game, host, table, head, chain_n, h, reason = data[1:]
        return JoinRecord(game, host, table, head, chain_n, h, Reason(reason))
    if tag == 1:
        game, host, table, entries, reason = data[1:]
        return BetRecord(
            game,
            host,
            table,
            tuple(BetEntry(BetType(e[0]), *e[1:]) for e in entries),
            Reason(reason),
        )
    if tag == 2:
        kind, game, host, table, upto, reason = data[1:]
        return RequestRecord(RequestKind(kind), game, host, table, upto, Reason(reason))
    game, host, table, k, preimage, reason = data[1:]
    return RevealRecord(game, host, table, k, preimage, Reason(reason))


# --------------------------------------------------------------------------- the whole


def _ident(value: Any) -> Any:
    return value


def _listed(value: Any) -> Any:
    return list(value)


def _tupled(value: Any) -> Any:
    return tuple(value)


def _rows(value: Any) -> Any:
    return [list(row) for row in value]


def _tuples(value: Any) -> Any:
    return tuple(tuple(row) for row in value)


def _table_item_key(value: Any) -> Any:
    """``((host, G), rest…)`` keys: a list on the wire, a tuple of a tuple in memory."""
    return ((value[0][0], value[0][1]), *value[1:])


def _table_item_list(value: Any) -> Any:
    return [list(value[0]), *value[1:]]


_Codec: TypeAlias = tuple[
    Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]
]
"""(encode key, encode value, decode key, decode value)."""


def _codec(
    keys: tuple[Callable[[Any], Any], Callable[[Any], Any]],
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
) -> _Codec:
    return (keys[0], encode, keys[1], decode)


_TABLE_KEY: Final = (_listed, _tupled)
_TABLE_ITEM: Final = (_table_item_list, _table_item_key)


MAPS: Final[dict[str, _Codec]] = {
    "tables": _codec(_TABLE_KEY, lambda t: t.encode(), Table.decode),
    "funds": _codec(_TABLE_KEY, lambda m: m.encode(), TableMoney.decode),
    "records": _codec(_TABLE_KEY, _encode_record, _decode_record),
    "bindings": _codec(_TABLE_KEY, _ident, _ident),
    "escrow": _codec(_TABLE_KEY, lambda e: e.encode(), Escrowed.decode),
    "owned": _codec(_TABLE_ITEM, sorted, set),
    "bonds": _codec(_TABLE_ITEM, lambda m: m.encode(), lambda m: SeatMoney(*m)),
    "requests": _codec(_TABLE_ITEM, _rows, _tuples),
    "named": _codec(_TABLE_ITEM, _ident, _ident),
    "released": _codec(_TABLE_ITEM, _ident, _ident),
    "heads": _codec(_TABLE_ITEM, _ident, _ident),
    "answered": _codec(_TABLE_ITEM, _ident, _ident),
    "voided": _codec(_TABLE_ITEM, _ident, _ident),
    "reveals": _codec(_TABLE_ITEM, _listed, _tupled),
    "rolls": _codec(_TABLE_ITEM, _ident, _ident),
    "voids": _codec((_listed, _tupled), _ident, _ident),
    "stakes": _codec((_listed, _tupled), lambda m: m.encode(), lambda m: BetMoney(*m)),
}
"""Every map of :class:`Tables`, with its codec for the digest and snapshots."""

MAP_INDEX: Final[dict[str, int]] = {name: index for index, name in enumerate(MAPS)}
"""Each map's index in :attr:`Tables.maps`, by name."""

# The same indices as constants: compiled, the engine's hot paths read a map by index (a list
# item), where a name costs a string-keyed dict lookup.
TABLES: Final = 0
FUNDS: Final = 1
RECORDS: Final = 2
BINDINGS: Final = 3
ESCROW: Final = 4
OWNED: Final = 5
BONDS: Final = 6
REQUESTS: Final = 7
NAMED: Final = 8
RELEASED: Final = 9
HEADS: Final = 10
ANSWERED: Final = 11
VOIDED: Final = 12
REVEALS: Final = 13
ROLLS: Final = 14
VOIDS: Final = 15
STAKES: Final = 16


class Tables:
    """The engine's state: the :data:`MAPS`, each a plain dict.

    - ``tables`` / ``funds``: :class:`Table` / :class:`TableMoney` by table.
    - ``records``: player table packets by ``(key, nonce)``; ``bindings``: by ``(key, G)``, the
      host named in the key's latest join for G.
    - ``escrow``: by ``(key, nonce)``, the :class:`Escrowed` items of that join or bet (read
      one item with :meth:`escrow_of`); ``owned``: by ``(table, key)``, the nonces of that
      key's packets with items escrowed there (:meth:`escrowed`); ``stakes``: by the bet
      ``(key, nonce, index)``, a live bet's :class:`BetMoney`; ``bonds``: by
      ``(table, seat)``, the seat's :class:`SeatMoney`; ``requests``: by ``(table, key)``,
      its Applied requests ``(nonce, kind, upto)`` in nonce order.
    - state sets, keyed ``(table, …)``: ``named`` (key, nonce) → the bet's entries named and
      not returned to pending, as a bit mask of their indices (:meth:`is_named`): a host
      packet names a bet's entries together, and this keeps one value per bet, not per entry;
      ``released`` (key, nonce, index) → release reason; ``heads`` ever accepted; ``answered`` joins
      (True accepted, False declined); ``voided`` (k, key) → the voided seat's chain value;
      ``reveals`` (key, k) → the distinct preimages of its Applied reveals of roll k, in
      the order signed; ``rolls`` k → the nonce of
      the Applied roll_open(k).  A late reveal (a voided
      key's valid reveal of that roll, in either order) is read from the two (:meth:`late`).
    - ``voids``: voids counted, by ``(0, host)`` per host and ``(1, key)`` per key in S.
    """

    __slots__ = ("maps",)

    def __init__(self) -> None:
        self.maps: Final[list[dict[Any, Any]]] = [{} for _ in MAPS]
        """Every map, in :data:`MAPS` order (:data:`MAP_INDEX`); :meth:`map` reads one by name."""

    def map(self, name: str) -> dict[Any, Any]:
        return self.maps[MAP_INDEX[name]]

    def copy(self) -> Tables:
        other = Tables()
        for index, found in enumerate(self.maps):
            other.maps[index] = dict(found)
        other.maps[OWNED].update((key, set(items)) for key, items in self.maps[OWNED].items())
        return other

    def encode(self) -> list[object]:
        """Canonical: every map, sorted by its encoded key."""
        if not any(self.map(name) for name in MAPS):
            return []
        out: list[object] = []
        for name, (enc_key, enc_value, _, _) in MAPS.items():
            items = sorted(
                ([enc_key(k), enc_value(v)] for k, v in self.map(name).items()),
                key=lambda kv: _sort_key(kv[0]),
            )
            out.append(items)
        out.append(sorted([list(key), k, voided] for key, k, voided in self.late()))
        return out

    @classmethod
    def decode(cls, encoded: list[object]) -> Tables:
        tables = cls()
        if not encoded:
            return tables
        if len(encoded) != len(MAPS) + 1:  # the maps, then the late reveals (derived)
            raise ValueError("not a table-engine state")
        for (name, (_, _, dec_key, dec_value)), items in zip(
            MAPS.items(), encoded[:-1], strict=True
        ):
            assert isinstance(items, list)
            target = tables.map(name)
            for k, v in items:
                target[dec_key(k)] = dec_value(v)
        return tables

    def is_named(self, table: TableKey, item: ItemKey) -> bool:
        """Whether the bet entry ``item`` ``(key, nonce, index)`` is named at ``table`` (and
        not returned to pending since)."""
        mask: int = self.maps[NAMED].get((table, item[0], item[1]), 0)
        return bool(mask >> item[2] & 1)

    def escrow_of(self, item: ItemKey) -> Escrow | None:
        """The escrowed item ``(key, nonce, index)``, if it is in escrow."""
        found: Escrowed | None = self.maps[ESCROW].get((item[0], item[1]))
        return None if found is None else found.item(item[2])

    def escrowed(self, table: TableKey, key: bytes) -> list[tuple[ItemKey, Escrow]]:
        """``key``'s items in escrow at ``table``, by item."""
        escrow: dict[tuple[Any, ...], Escrowed] = self.maps[ESCROW]
        found: list[tuple[ItemKey, Escrow]] = []
        for nonce in sorted(self.maps[OWNED].get((table, key), ())):
            for index, item in escrow[(key, nonce)].held():
                found.append(((key, nonce, index), item))
        return found

    def late(self) -> list[tuple[TableKey, int, bytes]]:
        """Late reveals ``(table, k, key)``: a logged Applied reveal of roll k by a key the void
        of k withheld, valid for the value its seat had (counted without blame, TABLES.md §4)."""
        reveals: dict[tuple[TableKey, bytes, int], tuple[bytes, ...]] = self.map("reveals")
        found = []
        for (table, k, key), value in self.map("voided").items():
            if any(chain_next(pre) == value for pre in reveals.get((table, key, k), ())):
                found.append((table, k, key))
        return sorted(found)

    def money(self) -> int:
        """Everything the tables hold that no account does: escrowed items, live stakes, held
        bonds, the banks' real money and the host bonds' money (the supply audit adds it)."""
        escrow: dict[tuple[Any, ...], Escrowed] = self.maps[ESCROW]
        stakes: dict[tuple[Any, ...], BetMoney] = self.maps[STAKES]
        funds: dict[TableKey, TableMoney] = self.maps[FUNDS]
        bonds: dict[tuple[TableKey, int], SeatMoney] = self.maps[BONDS]
        return (
            sum(e.amount() for e in escrow.values())
            + sum(m.stake for m in stakes.values())
            + sum(m.total() for m in funds.values())
            + sum(b.bond for b in bonds.values())
        )


def _sort_key(value: object) -> bytes:
    """A total order over encoded keys (bytes, ints, lists of them): their msgpack bytes."""
    packed: bytes = msgpack.packb(value)
    return packed
