"""Settlement of one roll (BET_RULES steps 1–5), and bets returned at stake.

Every live bet is decided on the phase before the roll, in order step, wire code, placement;
odds follow their bound bet, decided earlier in step 2; a travelling Come moves after the whole
of step 2.  Then the phase moves and, at a seven-out, the shooter.  Changes the state in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from protocol.bets import BetType

from .bettypes import SPECS, Family, profit
from .dice import Roll
from .line import step as line_step
from .numbers import step as number_step
from .odds import step as odds_step
from .outcome import Outcome, Settlement, Step
from .phase import Event, event, next_point, next_shooter
from .series import step as series_step
from .table import BetId, LiveBet, TableState

__all__ = [
    "RollResult",
    "return_all",
    "return_bet",
    "return_bets",
    "return_owner",
    "seats_changed",
    "settle_roll",
    "settlement_order",
]


@dataclass(frozen=True, slots=True)
class RollResult:
    """What one roll did: the table event, the bets that ended (in settlement order) and the
    Come/DontCome bets that moved to their come point (as they now are)."""

    roll: Roll
    event: Event
    settlements: tuple[Settlement, ...]
    moved: tuple[LiveBet, ...]


_RANK: Final[dict[BetType, int]] = {bet: spec.step * 256 + int(bet) for bet, spec in SPECS.items()}
"""(step, wire code) as one number (a code is below 256), for the sort."""


def settlement_order(bet: LiveBet) -> tuple[int, int]:
    """The sort key of BET_RULES' settlement order: step, then wire code (together, as
    ``step × 256 + code``), then placement order."""
    return (_RANK[bet.type], bet.seq)


_ORDER: Final[dict[BetType, int]] = {
    bet: place for place, bet in enumerate(sorted(_RANK, key=_RANK.__getitem__))
}
"""Each bet type's place in settlement order (step, then wire code), numbered densely."""


def _in_settlement_order(bets: list[LiveBet]) -> list[LiveBet]:
    """``bets`` sorted by :func:`settlement_order`: a counting sort over the bet types' places
    in that order, stable, so that each type keeps placement order when the list is in
    placement order, as a table's live bets are (a list that is not is sorted)."""
    starts = [0] * (len(_ORDER) + 1)
    places: list[int] = []
    seq = -1
    for bet in bets:
        if bet.seq <= seq:
            return sorted(bets, key=settlement_order)
        seq = bet.seq
        place = _ORDER[bet.type]
        places.append(place)
        starts[place + 1] += 1
    for i in range(1, len(starts)):
        starts[i] += starts[i - 1]
    ordered = list(bets)
    for i, place in enumerate(places):
        ordered[starts[place]] = bets[i]
        starts[place] += 1
    return ordered


def _decide(bet: LiveBet, point: int | None, roll: Roll, ended: dict[BetId, Outcome]) -> Step:
    family = SPECS[bet.type].family
    if family is Family.LINE:
        return line_step(bet, point, roll)
    if family is Family.ODDS:
        return odds_step(bet, ended.get(bet.backs) if bet.backs is not None else None)
    if family is Family.SERIES:
        return series_step(bet, point, roll)
    return number_step(bet, roll)


def settle_roll(state: TableState, roll: Roll, seats: Iterable[int] = ()) -> RollResult:
    """Settle ``roll`` against ``state`` (BET_RULES steps 1–5) and return what it did.

    ``seats`` are the occupied player seats, which the shooter passes among at a seven-out.
    """
    point = state.point
    happened = event(point, roll.total)
    ended: dict[BetId, Outcome] = {}
    settled: list[Settlement] = []
    moved: list[LiveBet] = []
    still: dict[int, LiveBet] = {}  # placement order → the bet after the roll
    for bet in _in_settlement_order(state.bets):
        step = _decide(bet, point, roll, ended)
        if step.outcome is None:
            still[bet.seq] = step.bet
            if step.moved:
                moved.append(step.bet)
            continue
        ended[bet.id] = step.outcome
        paid = profit(bet.stake, step.ratio) if step.outcome is Outcome.WIN else 0
        settled.append(Settlement(step.bet, step.outcome, paid))
    state.bets = [still[bet.seq] for bet in state.bets if bet.seq in still]
    state.point = next_point(point, roll.total)
    if happened is Event.SEVEN_OUT:
        state.shooter = next_shooter(state.shooter, seats)
    return RollResult(roll, happened, tuple(settled), tuple(moved))


def seats_changed(state: TableState, seats: Iterable[int]) -> None:
    """After seats are taken or vacated: the lowest seat shoots if nobody did, the next one if
    the shooter's seat was vacated, and nobody if no player is seated (TABLES.md §3)."""
    occupied = set(seats)
    if state.shooter is None or state.shooter not in occupied:
        state.shooter = next_shooter(state.shooter, occupied)


def _return(state: TableState, chosen: Callable[[LiveBet], bool]) -> tuple[Settlement, ...]:
    ids = {bet.id for bet in state.bets if chosen(bet)}
    ids |= {bet.id for bet in state.bets if bet.backs in ids}  # its odds go with it
    returned = tuple(Settlement(bet, Outcome.RETURNED) for bet in state.bets if bet.id in ids)
    state.bets = [bet for bet in state.bets if bet.id not in ids]
    return returned


def return_bet(state: TableState, bet_id: BetId) -> tuple[Settlement, ...]:
    """Return one live bet at stake, with any odds bound to it; empty if it is not live."""
    return _return(state, lambda bet: bet.id == bet_id)


def return_bets(state: TableState, bet_ids: Iterable[BetId]) -> tuple[Settlement, ...]:
    """Return each of ``bet_ids`` still live, in that order, each with any odds bound to it:
    what :func:`return_bet` of each in turn returns, in one pass over the live bets."""
    live: dict[BetId, LiveBet] = {}
    odds: dict[BetId, list[LiveBet]] = {}
    for bet in state.bets:
        live[bet.id] = bet
        if bet.backs is not None:
            odds.setdefault(bet.backs, []).append(bet)
    returned: list[Settlement] = []
    gone: set[BetId] = set()
    for bet_id in bet_ids:
        chosen = live.get(bet_id)
        if chosen is None or bet_id in gone:
            continue
        # the bet, then its odds (placed after it): in placement order, as return_bet does
        for each in (chosen, *odds.get(bet_id, ())):
            if each.id not in gone:
                gone.add(each.id)
                returned.append(Settlement(each, Outcome.RETURNED))
    if gone:
        state.bets = [bet for bet in state.bets if bet.id not in gone]
    return tuple(returned)


def return_owner(state: TableState, owner: int) -> tuple[Settlement, ...]:
    """Return every live bet of one seat at stake (its seat voided or its chain run out)."""
    return _return(state, lambda bet: bet.owner == owner)


def return_all(state: TableState) -> tuple[Settlement, ...]:
    """Return every live bet at stake (an early end of the table)."""
    return _return(state, lambda bet: True)
