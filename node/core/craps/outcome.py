"""What one roll does to one bet (:class:`Step`) and how a bet ends (:class:`Settlement`).

A bet ends in one of four ways a player sees: win (stake back plus profit), lose (stake to the
bank), push (stake back) or returned at stake (voids, an exhausted chain, an early end).  The
family modules build steps; :mod:`.settle` turns them into settlements.  Values only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from .table import LiveBet

__all__ = ["Outcome", "Settlement", "Step", "lose", "push", "stay", "win"]

_NOTHING: Final = Fraction(0)


class Outcome(enum.Enum):
    """How a bet ended; the value is the name players and JSON see."""

    WIN = "win"
    LOSE = "lose"
    PUSH = "push"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)
class Step:
    """One bet after one roll: still live (``outcome`` None, perhaps changed), or settled."""

    bet: LiveBet
    outcome: Outcome | None = None
    ratio: Fraction = _NOTHING
    """The profit ratio paid, on a win."""
    moved: bool = False
    """A travelling Come/DontCome that moved to its come point on this roll."""


def stay(bet: LiveBet) -> Step:
    """The bet stays live (as given: pass the updated bet when its tracker changed)."""
    return Step(bet)


def win(bet: LiveBet, ratio: Fraction) -> Step:
    """The bet wins and pays ``ratio``:1."""
    return Step(bet, Outcome.WIN, ratio)


def lose(bet: LiveBet) -> Step:
    """The bet loses its stake."""
    return Step(bet, Outcome.LOSE)


def push(bet: LiveBet) -> Step:
    """The bet closes and its stake returns."""
    return Step(bet, Outcome.PUSH)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A bet that ended: as it stood when it ended, how, and the profit paid (wins only)."""

    bet: LiveBet
    outcome: Outcome
    profit: int = 0

    @property
    def amount(self) -> int:
        """What the player won or lost: the profit of a win, the stake of a loss, else 0."""
        if self.outcome is Outcome.WIN:
            return self.profit
        if self.outcome is Outcome.LOSE:
            return self.bet.stake
        return 0

    @property
    def credit(self) -> int:
        """What comes back to the owner: stake + profit on a win, the stake on a push or a
        return, nothing on a loss."""
        if self.outcome is Outcome.LOSE:
            return 0
        return self.bet.stake + self.profit
