"""Placement: the inclusion checks of one bet in BET_RULES' order, and a passing bet made live.

Order (TABLES.md §4 step 6): seated (the table layer's) → phase (a missing bet to back
included) → limits (the odds minimum included) → duplicate → odds cap → risk cap → cover; the
first failure is the :class:`Release` reason.  The balance is the ledger's check, not this one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.bets import COME_POINTS, BetType, may_place, needs_come_point

from .bettypes import ODDS_MIN, SPECS, Family
from .exposure import Totals, exposure
from .numbers import fresh_repeater
from .odds import backed_bet, cap, odds_number
from .series import SERIES, fresh_tracker
from .table import BetId, LiveBet, TableState

__all__ = ["BetRequest", "Limits", "Release", "check", "place"]


class Release(enum.IntEnum):
    """Why an included bet was released; the first failing check in this order wins.

    The value orders the checks; ``label`` is the stable name players, JSON and the state digest
    see.  SEATED is never returned here: the table layer checks it before calling :func:`place`.
    """

    SEATED = 0
    PHASE = 1
    LIMITS = 2
    DUPLICATE = 3
    ODDS_CAP = 4
    RISK_CAP = 5
    COVER = 6

    @property
    def label(self) -> str:
        """``"seated"``, ``"phase"``, ``"limits"``, ``"duplicate"``, ``"odds_cap"``, …"""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class BetRequest:
    """One bet as a player asks for it: type, stake and, for OddsCome/OddsDontCome, the come
    point it backs (the wire entry ``[code, amount(, come point)]``)."""

    type: BetType
    amount: int
    come_point: int | None = None

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount <= 0:
            raise ValueError(f"a stake is a positive number of base units, not {self.amount!r}")
        if needs_come_point(self.type):
            if self.come_point not in COME_POINTS:
                raise ValueError(f"{self.type.name} needs a come point, not {self.come_point!r}")
        elif self.come_point is not None:
            raise ValueError(f"{self.type.name} takes no come point")


@dataclass(frozen=True, slots=True)
class Limits:
    """The table's game parameters the checks read (base units): ``min_bet`` ≤ stake ≤
    ``max_bet`` for every bet but odds."""

    min_bet: int
    max_bet: int

    def __post_init__(self) -> None:
        if not 0 < self.min_bet <= self.max_bet:
            raise ValueError(f"need 0 < min_bet ≤ max_bet, got {self.min_bet}, {self.max_bet}")


def _duplicate(state: TableState, owner: int, bet_type: BetType, number: int | None) -> bool:
    """One open bet per (owner, type, number): the come point for Come/DontCome (None while
    travelling), the backed come point for OddsCome/OddsDontCome; one per type otherwise."""
    keyed = bet_type in (BetType.Come, BetType.DontCome, BetType.OddsCome, BetType.OddsDontCome)
    for bet in state.bets:
        if bet.owner == owner and bet.type is bet_type and (not keyed or bet.number == number):
            return True
    return False


def _candidate(
    state: TableState, bet_id: BetId, owner: int, request: BetRequest, limits: Limits
) -> LiveBet | Release:
    """The bet as it would go live, or the first of phase → limits → duplicate → odds cap that
    fails."""
    bet_type, amount = request.type, request.amount
    odds = SPECS[bet_type].family is Family.ODDS
    if not may_place(bet_type, state.point):
        return Release.PHASE
    backed = backed_bet(state, owner, bet_type, request.come_point) if odds else None
    if odds and backed is None:
        return Release.PHASE
    if odds:
        if amount < ODDS_MIN:
            return Release.LIMITS
    elif not limits.min_bet <= amount <= limits.max_bet:
        return Release.LIMITS
    if _duplicate(state, owner, bet_type, request.come_point):
        return Release.DUPLICATE
    number: int | None = None
    tracker: tuple[int, ...] = ()
    if backed is not None:
        number = odds_number(state, backed)
        if amount > cap(number, backed.stake):
            return Release.ODDS_CAP
    if SPECS[bet_type].family is Family.REPEATER:
        tracker = fresh_repeater()
    elif bet_type in SERIES:
        tracker = fresh_tracker(bet_type)
    backs = None if backed is None else backed.id
    return LiveBet(bet_id, owner, bet_type, amount, state.next_seq, number, backs, tracker)


def check(state: TableState, owner: int, request: BetRequest, limits: Limits) -> Release | None:
    """The first of phase → limits → duplicate → odds cap that ``request`` fails, else None."""
    found = _candidate(state, (), owner, request, limits)
    return found if isinstance(found, Release) else None


def place(
    state: TableState,
    bet_id: BetId,
    owner: int,
    request: BetRequest,
    limits: Limits,
    *,
    bond: int | None = None,
    cover: int | None = None,
    totals: Totals | None = None,
) -> LiveBet | Release:
    """Include one bet: run every check in order and, when all pass, make it live.

    ``bond`` caps the table-wide risk (None: no risk cap); ``cover`` is the bank's K (None: no
    cover check).  ``totals``, when given, are the state's risk and exposure (:class:`Totals`),
    read instead of summing the live bets and kept up to date.  Returns the live bet (also
    appended to ``state``) or the release reason.
    """
    if state.find(bet_id) is not None:
        raise ValueError(f"bet {bet_id!r} is already live at this table")
    found = _candidate(state, bet_id, owner, request, limits)
    if isinstance(found, Release):
        return found
    added = exposure(found)
    if bond is not None or cover is not None:
        sums = totals if totals is not None else Totals.of(state)
        if bond is not None and sums.risk + found.stake + added > bond:
            return Release.RISK_CAP
        if cover is not None and sums.exposure + added > cover:
            return Release.COVER
    state.bets.append(found)
    state.next_seq += 1
    if totals is not None:
        totals.add(found, added)
    return found
