"""The table phase, the event each roll makes of it, and the shooter (BET_RULES "Table flow").

The phase is come-out (point None) or point(n); a roll's total makes one :class:`Event` of it
(the literal table below) and the event alone decides the next phase.  The shooter passes to
the next occupied seat, ascending and wrapping (TABLES.md §3).  Pure functions, no state.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from protocol.bets import COME_POINTS

__all__ = ["COME_OUT_EVENTS", "Event", "event", "next_point", "next_shooter"]


class Event(enum.Enum):
    """What one roll does to the table phase."""

    NATURAL = "natural"  # come-out 7 or 11: the pass line wins
    CRAPS = "craps"  # come-out 2, 3 or 12: the pass line loses
    POINT_SET = "point set"  # come-out 4, 5, 6, 8, 9 or 10
    POINT_MADE = "point made"  # point phase, the point again: the pass line wins
    SEVEN_OUT = "seven-out"  # point phase, a 7: the pass line loses, the series ends
    NO_DECISION = "no decision"  # point phase, any other total


COME_OUT_EVENTS: Final[Mapping[int, Event]] = MappingProxyType(
    {
        2: Event.CRAPS, 3: Event.CRAPS, 12: Event.CRAPS,
        7: Event.NATURAL, 11: Event.NATURAL,
        4: Event.POINT_SET, 5: Event.POINT_SET, 6: Event.POINT_SET,
        8: Event.POINT_SET, 9: Event.POINT_SET, 10: Event.POINT_SET,
    }
)  # fmt: skip
"""The come-out roll: total → event."""


def event(point: int | None, total: int) -> Event:
    """The event a roll of ``total`` makes at a table whose point is ``point`` (None: come-out)."""
    if point is None:
        return COME_OUT_EVENTS[total]
    if total == point:
        return Event.POINT_MADE
    if total == 7:
        return Event.SEVEN_OUT
    return Event.NO_DECISION


def next_point(point: int | None, total: int) -> int | None:
    """The table point after a roll of ``total`` (None: come-out)."""
    happened = event(point, total)
    if happened is Event.POINT_SET:
        return total
    if happened in (Event.POINT_MADE, Event.SEVEN_OUT):
        return None
    return point


def next_shooter(current: int | None, occupied: Iterable[int]) -> int | None:
    """The seat after ``current`` among the occupied player seats, ascending and wrapping.

    With ``current`` None (no shooter yet) it is the lowest occupied seat; with no seat occupied
    there is no shooter.  ``current`` need not be occupied (its seat was just vacated).
    """
    seats = sorted(set(occupied))
    if not seats:
        return None
    if current is None:
        return seats[0]
    for seat in seats:
        if seat > current:
            return seat
    return seats[0]


def _check_points() -> None:
    set_points = {total for total, e in COME_OUT_EVENTS.items() if e is Event.POINT_SET}
    if set_points != COME_POINTS:  # pragma: no cover - guards the literal table above
        raise AssertionError("come-out table disagrees with protocol.bets.COME_POINTS")


_check_points()
