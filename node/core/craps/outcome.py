"""What one roll does to one bet (:class:`Step`) and how a bet ends (:class:`Settlement`).

A bet ends in one of four ways a player sees: win (stake back plus profit), lose (stake to the
bank), push (stake back) or returned at stake (voids, an exhausted chain, an early end).  The
family modules build steps; :mod:`.settle` turns them into settlements.  Values only.
"""

from __future__ import annotations

import enum
from typing import Final

from .table import LiveBet

__all__ = ["Outcome", "Settlement", "Step", "lose", "push", "stay", "win"]


class Outcome(enum.Enum):
    """How a bet ended; the value is the name players and JSON see."""

    WIN = "win"
    LOSE = "lose"
    PUSH = "push"
    RETURNED = "returned"


class Step:
    """One bet after one roll: still live (``outcome`` None) but changed, or settled.  A family
    module returns None instead for a bet the roll leaves as it was, most of them: nothing is
    built for it.

    Plain classes with ``Final`` fields, not frozen dataclasses: a roll makes many steps, and a
    frozen dataclass costs several times as much to build (docs/BUILD.md)."""

    __slots__ = ("bet", "key", "moved", "outcome")

    def __init__(
        self,
        bet: LiveBet,
        outcome: Outcome | None = None,
        key: int = 0,
        moved: bool = False,
    ) -> None:
        self.bet: Final = bet
        self.outcome: Final = outcome
        self.key: Final = key
        """On a win, the key of the bet's pay table (``BetSpec.pays``) it is paid at."""
        self.moved: Final = moved
        """A travelling Come/DontCome that moved to its come point on this roll."""

    def __repr__(self) -> str:
        return (
            f"Step(bet={self.bet!r}, outcome={self.outcome!r}, key={self.key!r}, "
            f"moved={self.moved!r})"
        )


def stay(bet: LiveBet) -> Step:
    """The bet stays live, changed (its tracker counted): as given."""
    return Step(bet)


def win(bet: LiveBet, key: int) -> Step:
    """The bet wins and pays the ratio at ``key`` of its pay table."""
    return Step(bet, Outcome.WIN, key)


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
