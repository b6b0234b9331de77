"""What one roll does to one bet (:class:`Step`) and how a bet ends (:class:`Settlement`).

A bet ends in one of four ways a player sees: win (stake back plus profit), lose (stake to the
bank), push (stake back) or returned at stake (voids, an exhausted chain, an early end).  The
family modules build steps; :mod:`.settle` turns them into settlements.  Values only.
"""

from __future__ import annotations

import enum
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


class Step:
    """One bet after one roll: still live (``outcome`` None, perhaps changed), or settled.

    Plain classes with ``Final`` fields, not frozen dataclasses: a roll makes one step per live
    bet, and a frozen dataclass costs several times as much to build (docs/BUILD.md)."""

    __slots__ = ("bet", "moved", "outcome", "ratio")

    def __init__(
        self,
        bet: LiveBet,
        outcome: Outcome | None = None,
        ratio: Fraction = _NOTHING,
        moved: bool = False,
    ) -> None:
        self.bet: Final = bet
        self.outcome: Final = outcome
        self.ratio: Final = ratio
        """The profit ratio paid, on a win."""
        self.moved: Final = moved
        """A travelling Come/DontCome that moved to its come point on this roll."""

    def __repr__(self) -> str:
        return (
            f"Step(bet={self.bet!r}, outcome={self.outcome!r}, ratio={self.ratio!r}, "
            f"moved={self.moved!r})"
        )


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


class Settlement:
    """A bet that ended: as it stood when it ended, how, and the profit paid (wins only)."""

    __slots__ = ("bet", "outcome", "profit")

    def __init__(self, bet: LiveBet, outcome: Outcome, profit: int = 0) -> None:
        self.bet: Final = bet
        self.outcome: Final = outcome
        self.profit: Final = profit

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Settlement)
            and self.bet == other.bet
            and self.outcome is other.outcome
            and self.profit == other.profit
        )

    def __hash__(self) -> int:
        return hash((self.bet, self.outcome, self.profit))

    def __repr__(self) -> str:
        return f"Settlement(bet={self.bet!r}, outcome={self.outcome!r}, profit={self.profit!r})"

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
