"""The engine's table state: the phase, the shooter and the live bets, as one plain value.

Cheap to copy, compared with ``==``, encoded canonically for the state digest (msgpack-ready).
Bets are :class:`LiveBet` values, identified by an id the caller supplies and owned by a seat.
Data only: the rules live in the modules beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from protocol.acyclic import untracked as _untracked_imported
from protocol.bets import BetType

__all__ = ["BetId", "LiveBet", "TableState"]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""

BetId: TypeAlias = tuple[int | bytes, ...]
"""The caller's id of a bet (the table layer uses ``(seat, key, nonce, index)``)."""

Encoded: TypeAlias = list[object]


class LiveBet:
    """One live bet.  Values only: a roll that changes it replaces it (:meth:`moved_to`,
    :meth:`tracking`).

    A plain class with an explicit ``__init__`` and ``Final`` fields rather than a frozen
    dataclass: rolls and inclusions build many, and a frozen dataclass's generated ``__init__``
    costs several times as much, interpreted or compiled (docs/BUILD.md)."""

    __slots__ = ("backs", "code", "id", "number", "owner", "seq", "stake", "tracker", "type")

    def __init__(
        self,
        id: BetId,
        owner: int,
        type: BetType,
        stake: int,
        seq: int,
        number: int | None = None,
        backs: BetId | None = None,
        tracker: tuple[int, ...] = (),
    ) -> None:
        self.id: Final = id
        self.owner: Final = owner
        """The owner's seat: duplicates are counted per owner."""
        self.type: Final = type
        self.stake: Final = stake
        self.seq: Final = seq
        """Placement order at this table (the order of the host listings that included the
        bets)."""
        self.number: Final = number
        """Come/DontCome: its come point once it has moved (None while travelling); odds bets:
        the number they back, bound at inclusion (the table point, or the come point)."""
        self.backs: Final = backs
        """Odds bets: the id of the bet they are bound to (TABLES.md §1, odds binding)."""
        self.tracker: Final = tracker
        """Repeater and series bets: what they have counted since placement (series.py)."""
        self.code: Final[int] = type
        """Its type's wire code: compiled, a plain int indexes a tuple or a list directly, a
        bet type (an interpreted enum) through the generic protocol.  (A field, not a
        property: the rules read it several times per bet and roll.)"""
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)

    def moved_to(self, number: int) -> LiveBet:
        """This bet with its come point set to ``number``."""
        return LiveBet(
            self.id, self.owner, self.type, self.stake, self.seq, number, self.backs, self.tracker
        )

    def tracking(self, tracker: tuple[int, ...]) -> LiveBet:
        """This bet with ``tracker`` counted."""
        return LiveBet(
            self.id, self.owner, self.type, self.stake, self.seq, self.number, self.backs, tracker
        )

    def _values(self) -> tuple[object, ...]:
        return (self.id, self.owner, self.type, self.stake, self.seq, self.number, self.backs,
                self.tracker)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LiveBet) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"LiveBet(id={self.id!r}, owner={self.owner!r}, type={self.type!r}, "
            f"stake={self.stake!r}, seq={self.seq!r}, number={self.number!r}, "
            f"backs={self.backs!r}, tracker={self.tracker!r})"
        )

    def encode(self) -> Encoded:
        """``[id, owner, code, stake, seq, number, backs, tracker]`` (None as nil)."""
        return [
            list(self.id),
            self.owner,
            int(self.type),
            self.stake,
            self.seq,
            self.number,
            None if self.backs is None else list(self.backs),
            list(self.tracker),
        ]


@dataclass(slots=True, init=False)
class TableState:
    """The table as the rules see it: mutated in place by placement and settlement.  (A
    dataclass with an explicit ``__init__``: a compiled dataclass's generated one runs
    interpreted, docs/BUILD.md, and every host packet copies its table's.)"""

    point: int | None
    """The table point; None in the come-out phase."""
    shooter: int | None
    """The shooter's seat; None while no player is seated (phase.next_shooter)."""
    bets: list[LiveBet]
    """Live bets in placement order."""
    next_seq: int
    """The placement order the next included bet takes."""

    def __init__(
        self,
        point: int | None = None,
        shooter: int | None = None,
        bets: list[LiveBet] | None = None,
        next_seq: int = 0,
    ) -> None:
        self.point = point
        self.shooter = shooter
        self.bets = [] if bets is None else bets
        self.next_seq = next_seq

    def copy(self) -> TableState:
        """An independent copy (bets are immutable values, so the list is copied, not them)."""
        return TableState(self.point, self.shooter, list(self.bets), self.next_seq)

    def encode(self) -> Encoded:
        """``[point, shooter, next_seq, [bet…]]``: canonical, msgpack-ready, equal iff equal."""
        return [self.point, self.shooter, self.next_seq, [bet.encode() for bet in self.bets]]

    def find(self, bet_id: BetId) -> LiveBet | None:
        """The live bet with this id, if any."""
        for bet in self.bets:
            if bet.id == bet_id:
                return bet
        return None

    def owned(self, owner: int) -> list[LiveBet]:
        """The live bets of one seat, in placement order."""
        return [bet for bet in self.bets if bet.owner == owner]
