"""The engine's table state: the phase, the shooter and the live bets, as one plain value.

Cheap to copy, compared with ``==``, encoded canonically for the state digest (msgpack-ready).
Bets are :class:`LiveBet` values, identified by an id the caller supplies and owned by a seat.
Data only: the rules live in the modules beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from protocol.bets import BetType

__all__ = ["BetId", "LiveBet", "TableState"]

BetId: TypeAlias = tuple[int | bytes, ...]
"""The caller's id of a bet (the table layer uses ``(seat, key, nonce, index)``)."""

Encoded: TypeAlias = list[object]


@dataclass(frozen=True, slots=True)
class LiveBet:
    """One live bet.  Values only: a roll that changes it replaces it."""

    id: BetId
    owner: int
    """The owner's seat: duplicates are counted per owner."""
    type: BetType
    stake: int
    seq: int
    """Placement order at this table (the order of the host listings that included the bets)."""
    number: int | None = None
    """Come/DontCome: its come point once it has moved (None while travelling); odds bets: the
    number they back, bound at inclusion (the table point, or the come point)."""
    backs: BetId | None = None
    """Odds bets: the id of the bet they are bound to (TABLES.md §1, odds binding)."""
    tracker: tuple[int, ...] = ()
    """Repeater and series bets: what they have counted since placement (series.py)."""

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


@dataclass(slots=True)
class TableState:
    """The table as the rules see it: mutated in place by placement and settlement."""

    point: int | None = None
    """The table point; None in the come-out phase."""
    shooter: int | None = None
    """The shooter's seat; None while no player is seated (phase.next_shooter)."""
    bets: list[LiveBet] = field(default_factory=list)
    """Live bets in placement order."""
    next_seq: int = 0
    """The placement order the next included bet takes."""

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
