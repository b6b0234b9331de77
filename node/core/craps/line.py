"""Line bets: Pass and DontPass on the table point, Come and DontCome on their own come point.

A Come/DontCome reads its next roll, then its come point whatever the phase (a come-out 7
settles it too); a point number on its next roll moves it there (``Step.moved``).  Each
function decides one bet on one roll and never touches the table.
"""

from __future__ import annotations

from typing import Final

from protocol.bets import COME_POINTS, BetType

from .dice import Roll
from .outcome import Step, lose, push, win
from .phase import Event, event
from .table import LiveBet

__all__ = ["step"]

_EVEN: Final = 1
"""The key of a line bet's pay table: even money."""
_NATURAL: Final = frozenset({7, 11})
_CRAPS: Final = frozenset({2, 3, 12})
_DONT_WINS: Final = frozenset({2, 3})  # 12 pushes

# The bet types as constants: compiled code reads a member of protocol.bets' BetType (an
# interpreted enum) through its class's attribute hook on every use (docs/BUILD.md).
_PASS: Final = BetType.Pass
_DONT_PASS: Final = BetType.DontPass
_COME: Final = BetType.Come
_DONT_COME: Final = BetType.DontCome


def step(bet: LiveBet, point: int | None, roll: Roll) -> Step | None:
    """What ``roll`` does to a line bet at a table whose point is ``point`` (None: it stays as it
    is)."""
    bet_type = bet.type
    if bet_type is _PASS:
        return _pass(bet, event(point, roll.total))
    if bet_type is _DONT_PASS:
        return _dont_pass(bet, event(point, roll.total), roll.total)
    if bet_type is _COME:
        return _come(bet, roll.total)
    if bet_type is _DONT_COME:
        return _dont_come(bet, roll.total)
    raise ValueError(f"{bet_type.name} is not a line bet")


def _pass(bet: LiveBet, happened: Event) -> Step | None:
    if happened in (Event.NATURAL, Event.POINT_MADE):
        return win(bet, _EVEN)
    if happened in (Event.CRAPS, Event.SEVEN_OUT):
        return lose(bet)
    return None


def _dont_pass(bet: LiveBet, happened: Event, total: int) -> Step | None:
    if happened is Event.CRAPS:
        return win(bet, _EVEN) if total in _DONT_WINS else push(bet)
    if happened is Event.SEVEN_OUT:
        return win(bet, _EVEN)
    if happened in (Event.NATURAL, Event.POINT_MADE):
        return lose(bet)
    return None


def _come(bet: LiveBet, total: int) -> Step | None:
    number = bet.number  # narrowed below: compiled, compared as a plain int
    if number is None:  # its next roll
        if total in _NATURAL:
            return win(bet, _EVEN)
        if total in _CRAPS:
            return lose(bet)
        return _move(bet, total)
    if total == number:
        return win(bet, _EVEN)
    if total == 7:
        return lose(bet)
    return None


def _dont_come(bet: LiveBet, total: int) -> Step | None:
    number = bet.number  # narrowed below: compiled, compared as a plain int
    if number is None:  # its next roll
        if total in _DONT_WINS:
            return win(bet, _EVEN)
        if total == 12:
            return push(bet)
        if total in _NATURAL:
            return lose(bet)
        return _move(bet, total)
    if total == 7:
        return win(bet, _EVEN)
    if total == number:
        return lose(bet)
    return None


def _move(bet: LiveBet, total: int) -> Step:
    if total not in COME_POINTS:  # pragma: no cover - every other total settled above
        raise AssertionError(f"a Come cannot move to {total}")
    return Step(bet.moved_to(total), moved=True)
