"""Series bets and their trackers: Fire, the Bonus bets, HotRoller, TwiceHard, RideLine, Muggsy,

Replay and DifferentDoubles.  Each counts the table's events from its next roll in its tracker,
then settles: at once at its top tier, else on its ending roll (a tier reached pays, short of
the lowest loses).  Muggsy is a two-roll bet settled in step 1.  Never touches the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from protocol.bets import COME_POINTS, BetType

from .bettypes import BetSpec, by_code
from .dice import Roll
from .outcome import Step, lose, stay, win
from .phase import Event, event
from .table import LiveBet

__all__ = ["SERIES", "fresh_tracker", "step"]

_POINTS: Final = tuple(sorted(COME_POINTS))
_SMALL: Final = frozenset({2, 3, 4, 5, 6})
_TALL: Final = frozenset({8, 9, 10, 11, 12})
_HARD: Final = frozenset({4, 6, 8, 10})
_MUGGSY_LOSES: Final = frozenset({2, 3, 11, 12})
_HOT_ROLLER_TOP: Final = 41

_FRESH: Final[Mapping[BetType, tuple[int, ...]]] = MappingProxyType(
    {
        BetType.Fire: (),  # the different points made, ascending
        BetType.BonusSmall: (),  # the totals rolled, ascending
        BetType.BonusTall: (),
        BetType.BonusAll: (),
        BetType.HotRoller: (0,),  # rolls, the seven-out roll excluded
        BetType.TwiceHard: (),  # the pending hard numbers, ascending
        BetType.RideLine: (0,),  # pass-line wins
        BetType.Muggsy: (0,),  # 0 before its next roll, 1 once that roll set a point
        BetType.Replay: (0,) * len(_POINTS),  # times each point 4, 5, 6, 8, 9, 10 was made
        BetType.DifferentDoubles: (),  # the kinds of double rolled (1 for 1-1 … 6 for 6-6)
    }
)

SERIES: Final = frozenset(_FRESH)
"""The series bet types (Muggsy included)."""
_FRESH_BY_CODE: Final = by_code(_FRESH, None)


def fresh_tracker(bet_type: BetType) -> tuple[int, ...]:
    """A series bet's tracker at placement: nothing counted yet."""
    code: int = bet_type  # a plain int indexes the tuple directly when compiled
    fresh = _FRESH_BY_CODE[code]
    if fresh is None:
        raise KeyError(bet_type)
    return fresh


def step(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    """What ``roll`` does to a series bet, whose type's data is ``spec``, at a table whose point
    is ``point``."""
    series_step = _STEPS[bet.code]
    if series_step is None:
        raise KeyError(bet.type)
    return series_step(bet, spec, point, roll)


def _track(bet: LiveBet, tracker: tuple[int, ...]) -> LiveBet:
    return bet if tracker == bet.tracker else bet.tracking(tracker)


def _added(tracker: tuple[int, ...], value: int) -> tuple[int, ...]:
    return tracker if value in tracker else tuple(sorted((*tracker, value)))


def _ends(bet: LiveBet, spec: BetSpec, count: int) -> Step:
    """The ending roll: the tier ``count`` reaches pays, short of the lowest tier loses."""
    key = spec.reached(count)
    return lose(bet) if key is None else win(bet, key)


def _fire(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    happened = event(point, roll.total)
    if happened is Event.POINT_MADE and point is not None:
        bet = _track(bet, _added(bet.tracker, point))
    made = len(bet.tracker)
    if made == spec.top:
        return win(bet, made)
    if happened is Event.SEVEN_OUT:
        return _ends(bet, spec, made)
    return stay(bet)


def _bonus(wanted: frozenset[int]) -> Callable[[LiveBet, BetSpec, int | None, Roll], Step]:
    def bonus(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
        total = roll.total
        if total in wanted:
            bet = _track(bet, _added(bet.tracker, total))
            if len(bet.tracker) == spec.top:
                return win(bet, spec.top)
            return stay(bet)
        return lose(bet) if total == 7 else stay(bet)

    return bonus


def _hot_roller(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    rolls = bet.tracker[0]
    if event(point, roll.total) is Event.SEVEN_OUT:
        return _ends(bet, spec, rolls)
    bet = _track(bet, (rolls + 1,))
    if rolls + 1 == spec.top:
        return win(bet, spec.top)
    return stay(bet)


def _twice_hard(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    total = roll.total
    if roll.hard:
        if total in bet.tracker:  # a second hard N while that hard N is pending
            return win(bet, spec.top)
        return stay(_track(bet, _added(bet.tracker, total)))
    if total in _HARD:  # the easy way cancels a pending hard N
        return stay(_track(bet, tuple(n for n in bet.tracker if n != total)))
    return lose(bet) if total == 7 else stay(bet)


def _ride_line(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    happened = event(point, roll.total)
    wins = bet.tracker[0]
    if happened in (Event.NATURAL, Event.POINT_MADE):
        wins += 1
        bet = _track(bet, (wins,))
        if wins == spec.top:
            return win(bet, spec.top)
    if happened is Event.SEVEN_OUT:
        return _ends(bet, spec, wins)
    return stay(bet)


def _muggsy(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    total = roll.total
    if bet.tracker == (0,):  # its next roll, a come-out roll
        if total == 7:
            return win(bet, 1)
        if total in _MUGGSY_LOSES:
            return lose(bet)
        return stay(_track(bet, (1,)))  # a point was set
    return win(bet, 2) if total == 7 else lose(bet)


def _replay(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    happened = event(point, roll.total)
    if happened is Event.POINT_MADE:
        at = _POINTS.index(roll.total)
        counts = list(bet.tracker)
        counts[at] += 1
        bet = _track(bet, tuple(counts))
    highest = max(bet.tracker)
    if highest == spec.top:
        return win(bet, spec.top)
    if happened is Event.SEVEN_OUT:
        return _ends(bet, spec, highest)
    return stay(bet)


def _different_doubles(bet: LiveBet, spec: BetSpec, point: int | None, roll: Roll) -> Step:
    if roll.double:
        bet = _track(bet, _added(bet.tracker, roll.die1))
        if len(bet.tracker) == spec.top:
            return win(bet, spec.top)
    if roll.total == 7:
        return _ends(bet, spec, len(bet.tracker))
    return stay(bet)


_STEPS: Final = by_code(
    {
        BetType.Fire: _fire,
        BetType.BonusSmall: _bonus(_SMALL),
        BetType.BonusTall: _bonus(_TALL),
        BetType.BonusAll: _bonus(_SMALL | _TALL),
        BetType.HotRoller: _hot_roller,
        BetType.TwiceHard: _twice_hard,
        BetType.RideLine: _ride_line,
        BetType.Muggsy: _muggsy,
        BetType.Replay: _replay,
        BetType.DifferentDoubles: _different_doubles,
    },
    None,
)
"""Each series bet's step, by wire code (None at the other codes)."""
