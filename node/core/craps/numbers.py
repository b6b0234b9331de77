"""Number bets: Field and NextN (one roll), YesN, NoN, HardN and RepeaterN (until N or a 7).

Each reads only the dice and the bet itself (never the table phase: every bet is always
working, so a come-out 7 settles them too).  A Repeater counts its hits of N in its tracker.
Each function decides one bet on one roll; it never touches the table.
"""

from __future__ import annotations

from .bettypes import BetSpec, Family
from .dice import Roll
from .outcome import Step, lose, stay, win
from .table import LiveBet

__all__ = ["fresh_repeater", "step"]


def fresh_repeater() -> tuple[int, ...]:
    """A Repeater's tracker at placement: no hit of N yet."""
    return (0,)


def step(bet: LiveBet, spec: BetSpec, roll: Roll) -> Step | None:
    """What ``roll`` does to a number bet, whose type's data is ``spec`` (None: it stays as it
    is)."""
    total = roll.total
    family = spec.family
    if family is Family.FIELD:
        return win(bet, total) if total in spec.pays else lose(bet)
    n = spec.number
    if n is None:
        raise ValueError(f"{bet.type.name} is not a number bet")
    if family is Family.NEXT:
        return win(bet, n) if total == n else lose(bet)
    if family is Family.YES:
        return win(bet, n) if total == n else lose(bet) if total == 7 else None
    if family is Family.NO:
        return win(bet, n) if total == 7 else lose(bet) if total == n else None
    if family is Family.HARD:
        if total == n:
            return win(bet, n) if roll.hard else lose(bet)
        return lose(bet) if total == 7 else None
    if family is Family.REPEATER:
        if total == n:
            hits = bet.tracker[0] + 1
            counted = bet.tracking((hits,))
            return win(counted, spec.hits) if hits == spec.hits else stay(counted)
        return lose(bet) if total == 7 else None
    raise ValueError(f"{bet.type.name} is not a number bet")
