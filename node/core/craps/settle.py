"""Settlement of one roll (BET_RULES steps 1–5), and bets returned at stake.

Every live bet is decided on the phase before the roll, and settled in order step, wire code,
placement.  A decision reads the dice, the phase and the bet alone, but for odds, which follow
their bound bet (decided before them, in step 2, whatever their placement); a travelling
Come moves after the whole of step 2.  Then the phase moves and, at a seven-out, the shooter.
Changes the state in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from .bettypes import BACKS, SPECS, Family, by_code, paid, spec_of
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


class RollResult:
    """What one roll did: the table event, the bets that ended (in settlement order) and the
    Come/DontCome bets that moved to their come point (as they now are).  A value (``Final``
    fields; a plain class rather than a frozen dataclass, which costs several times as much to
    build: docs/BUILD.md)."""

    __slots__ = ("event", "moved", "roll", "settlements")

    def __init__(
        self,
        roll: Roll,
        event: Event,
        settlements: tuple[Settlement, ...],
        moved: tuple[LiveBet, ...],
    ) -> None:
        self.roll: Final = roll
        self.event: Final = event
        self.settlements: Final = settlements
        self.moved: Final = moved

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RollResult)
            and self.roll == other.roll
            and self.event is other.event
            and self.settlements == other.settlements
            and self.moved == other.moved
        )

    def __hash__(self) -> int:
        return hash((self.roll, self.event, self.settlements, self.moved))

    def __repr__(self) -> str:
        return (
            f"RollResult(roll={self.roll!r}, event={self.event!r}, "
            f"settlements={self.settlements!r}, moved={self.moved!r})"
        )


_RANK: Final = by_code(
    {
        bet: place
        for place, bet in enumerate(sorted(SPECS, key=lambda bet: (SPECS[bet].step, int(bet))))
    },
    -1,
)
"""Each bet type's place in BET_RULES' settlement order of types (step, then wire code), 0 …
63, by wire code: a small int, which Python keeps cached, so sorting builds no int per item."""


def settlement_order(bet: LiveBet) -> tuple[int, int]:
    """The sort key of BET_RULES' settlement order: step, then wire code (together, as the
    type's place in :data:`_RANK`), then placement order."""
    return (_RANK[bet.code], bet.seq)


def _rank(bet: LiveBet) -> int:
    return _RANK[bet.code]


def _settled_rank(settlement: Settlement) -> int:
    return _RANK[settlement.bet.code]


def _decision_order(bets: list[LiveBet]) -> list[int]:
    """The positions in ``bets`` in placement order (list order, as a table's live bets are; a
    list that is not is sorted), every bet bound to another (odds) moved after the others: it
    reads the outcome of the bet it backs, so that bet is decided first whatever their
    placement."""
    first: list[int] = []
    odds: list[int] = []
    ordered = True
    seq = -1
    for position, bet in enumerate(bets):
        if bet.seq <= seq:
            ordered = False
        seq = bet.seq
        if bet.backs is not None:
            odds.append(position)
        else:
            first.append(position)
    if not ordered:
        seqs = [each.seq for each in bets]
        first.sort(key=seqs.__getitem__)
        odds.sort(key=seqs.__getitem__)
    first.extend(odds)
    return first


_BACKED: Final = by_code(dict.fromkeys(BACKS.values(), True), False)
"""Whether an odds bet can be bound to a bet of this type (the line bets), by wire code."""


def _decide(
    bet: LiveBet, point: int | None, roll: Roll, ended: dict[BetId, Outcome]
) -> Step | None:
    """What ``roll`` does to ``bet`` (None: it stays as it is)."""
    spec = spec_of(bet.type)
    family = spec.family
    if family is Family.LINE:
        return line_step(bet, point, roll)
    if family is Family.ODDS:
        return odds_step(bet, ended.get(bet.backs) if bet.backs is not None else None)
    if family is Family.SERIES:
        return series_step(bet, spec, point, roll)
    return number_step(bet, spec, roll)


def settle_roll(state: TableState, roll: Roll, seats: Iterable[int] = ()) -> RollResult:
    """Settle ``roll`` against ``state`` (BET_RULES steps 1–5) and return what it did.

    ``seats`` are the occupied player seats, which the shooter passes among at a seven-out.
    The bets are decided in placement order, odds after the rest (:func:`_decision_order`), and
    listed in settlement order: a stable sort by step and wire code (odds and the bets they
    back have codes of their own, so the deferral leaves that order as it was).
    """
    point = state.point
    happened = event(point, roll.total)
    bets = state.bets
    after: list[LiveBet | None] = list(bets)  # each bet after the roll, None once it ended
    ended: dict[BetId, Outcome] = {}  # the bets odds can back that ended, for those odds
    settled: list[Settlement] = []
    moved: list[LiveBet] = []
    for position in _decision_order(bets):
        bet = bets[position]
        step = _decide(bet, point, roll, ended)
        if step is None:
            continue
        outcome = step.outcome
        if outcome is None:
            after[position] = step.bet
            if step.moved:
                moved.append(step.bet)
            continue
        after[position] = None
        code = bet.code
        if _BACKED[code]:
            ended[bet.id] = outcome
        profit = paid(code, step.key, bet.stake) if outcome is Outcome.WIN else 0
        settled.append(Settlement(step.bet, outcome, profit))
    state.bets = [bet for bet in after if bet is not None]
    state.point = next_point(point, roll.total)
    if happened is Event.SEVEN_OUT:
        state.shooter = next_shooter(state.shooter, seats)
    settled.sort(key=_settled_rank)
    moved.sort(key=_rank)
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
