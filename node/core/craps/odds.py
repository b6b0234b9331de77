"""Odds bets and their binding: what an odds bet backs, its cap, its true odds, how it settles.

Bound at inclusion (TABLES.md §1) to its owner's Pass/DontPass (number: the table point) or to
the Come/DontCome on the come point it names, it settles on the same roll and the same way as
that bet, whatever bet later moves to the same number.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from protocol.bets import BetType

from .bettypes import BACKS, ODDS_CAP, spec_of
from .outcome import Outcome, Step, lose, push, win
from .table import LiveBet, TableState

__all__ = ["backed_bet", "cap", "odds_number", "ratio", "step"]

_BACKS: Final[dict[BetType, BetType]] = dict(BACKS)
"""BACKS as a plain dict, which compiled code reads directly (a mapping proxy through the
generic mapping protocol)."""
# constants: compiled code reads a member of protocol.bets' BetType (an interpreted enum)
# through its class's attribute hook on every use (docs/BUILD.md)
_PASS: Final = BetType.Pass
_DONT_PASS: Final = BetType.DontPass


def backed_bet(
    state: TableState,
    owner: int,
    odds_type: BetType,
    come_point: int | None,
    among: list[LiveBet] | None = None,
) -> LiveBet | None:
    """The live bet of ``owner`` that a new odds bet of ``odds_type`` would be bound to, if any.

    OddsPass/OddsDontPass back the owner's Pass/DontPass (only in the point phase: no odds on a
    come-out roll); OddsCome/OddsDontCome back the owner's Come/DontCome on ``come_point``.
    ``among``: the live bets to look in, in placement order, if not all of them (at least the
    owner's).
    """
    backs = _BACKS.get(odds_type)
    if backs is None:
        raise ValueError(f"{odds_type.name} is not an odds bet")
    if backs is _PASS or backs is _DONT_PASS:
        if state.point is None:
            return None
        number = None
    else:
        number = come_point
    for bet in state.bets if among is None else among:
        if bet.owner == owner and bet.type is backs and bet.number == number:
            return bet
    return None


def odds_number(state: TableState, backed: LiveBet) -> int:
    """The number an odds bet on ``backed`` is bound to: the table point for a line bet, the
    come point for a Come/DontCome."""
    number = backed.number if backed.number is not None else state.point
    if number is None:
        raise ValueError(f"{backed.type.name} has no number to take odds on yet")
    return number


def cap(number: int, backed_stake: int) -> int:
    """The largest odds stake on ``number`` behind a bet of ``backed_stake``: 3×, 4× or 5×."""
    return ODDS_CAP[number] * backed_stake


def _bound_number(odds: LiveBet) -> int:
    """The number an odds bet backs, which is also the key of its pay table."""
    if odds.number is None:
        raise ValueError(f"{odds.type.name} is not bound to a number")
    return odds.number


def ratio(odds: LiveBet) -> Fraction:
    """The true odds an odds bet pays: 2:1, 3:2, 6:5 (or 1:2, 2:3, 5:6 laid) by its number."""
    return spec_of(odds.type).pays[_bound_number(odds)]


def step(odds: LiveBet, backed: Outcome | None) -> Step | None:
    """The odds bet after a roll on which its bound bet ended with ``backed`` (None: still live,
    and so is the odds bet, as it is)."""
    if backed is None:
        return None
    if backed is Outcome.WIN:
        return win(odds, _bound_number(odds))
    if backed is Outcome.LOSE:
        return lose(odds)
    return push(odds)  # not reachable by the rules (no odds on a bet that can still push)
