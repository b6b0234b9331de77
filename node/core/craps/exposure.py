"""Exposure, risk and cover: what the bank can still owe, and the two table-wide caps.

A bet's exposure is the largest profit it can still pay (stake × its largest ratio, rounded down
like a payout; never rising).  Risk = Σ (stake + exposure) over live bets ≤ ``bond``
(TABLES.md §4); cover: Σ exposure ≤ K (§5).  Pure functions, and :class:`Totals`: the two sums
kept while bets are included one after another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from protocol.bets import BetType

from .bettypes import ODDS_MIN, SPECS, WHOLE_PAYS, Family, by_code, profit
from .table import LiveBet, TableState

__all__ = [
    "EXPOSURE_RATIOS",
    "Totals",
    "exposure",
    "exposure_ratio",
    "least_risk",
    "risk",
    "total_exposure",
    "within_cover",
    "within_risk_cap",
]


def _largest_ratios() -> dict[BetType, Fraction]:
    return {bet: max(spec.pays.values()) for bet, spec in SPECS.items()}


EXPOSURE_RATIOS: Final[Mapping[BetType, Fraction]] = MappingProxyType(_largest_ratios())
"""Every bet type's largest profit ratio, from its pay table (odds: over every number)."""


def exposure_ratio(bet_type: BetType, number: int | None = None) -> Fraction:
    """The largest profit ratio a bet can pay; an odds bet's depends on the number it backs."""
    spec = SPECS[bet_type]
    if spec.family is Family.ODDS:
        if number is None:
            raise ValueError(f"the exposure of {bet_type.name} depends on its number")
        return spec.pays[number]
    return EXPOSURE_RATIOS[bet_type]


def _largest(part: int) -> tuple[int, ...]:
    return by_code(
        {
            bet: ratio.as_integer_ratio()[part]
            for bet, ratio in EXPOSURE_RATIOS.items()
            if SPECS[bet].family is not Family.ODDS
        },
        0,
    )


_NUMERATOR: Final = _largest(0)
_DENOMINATOR: Final = _largest(1)
""":func:`exposure_ratio` as numerator and denominator by wire code, for the sums over live
bets: the same exact ratios, read as plain ints without a :class:`~fractions.Fraction` (0 for an
odds bet, whose ratio is its pay table's at its number, :data:`~.bettypes.WHOLE_PAYS`)."""


def exposure(bet: LiveBet) -> int:
    """The largest profit ``bet`` can still pay, in base units: ``profit(stake,
    exposure_ratio(type, number))``."""
    code = bet.code
    denominator = _DENOMINATOR[code]
    if denominator != 0:
        return bet.stake * _NUMERATOR[code] // denominator
    number = bet.number  # an odds bet: by the number it backs
    ratio = WHOLE_PAYS[code].get(number) if number is not None else None
    if ratio is None:
        return profit(bet.stake, exposure_ratio(bet.type, bet.number))  # raises
    numerator, denominator = ratio
    return bet.stake * numerator // denominator


def _risk_of(bets: Iterable[LiveBet]) -> int:
    return sum(bet.stake + exposure(bet) for bet in bets)


def risk(state: TableState) -> int:
    """Σ over the live bets of stake + exposure: the most one roll can move (table-wide)."""
    return _risk_of(state.bets)


def total_exposure(state: TableState) -> int:
    """Σ over the live bets of exposure: what cover holds against K."""
    return sum(exposure(bet) for bet in state.bets)


class Totals:
    """A table's risk and total exposure, made once from the state (:meth:`of`) and kept up to
    date by a caller that adds bets to it (:class:`~.placement.LiveIndex`)."""

    __slots__ = ("exposure", "risk")

    def __init__(self, risk: int, exposure: int) -> None:
        self.risk = risk
        self.exposure = exposure

    @classmethod
    def of(cls, state: TableState) -> Totals:
        stakes = exposures = 0
        for bet in state.bets:
            stakes += bet.stake
            exposures += exposure(bet)
        return cls(stakes + exposures, exposures)

    def add(self, bet: LiveBet, bet_exposure: int) -> None:
        """``bet`` went live; ``bet_exposure`` is its :func:`exposure`."""
        self.risk += bet.stake + bet_exposure
        self.exposure += bet_exposure


def within_risk_cap(state: TableState, bet: LiveBet, bond: int) -> bool:
    """Whether the table's risk with ``bet`` added stays ≤ ``bond``."""
    return risk(state) + bet.stake + exposure(bet) <= bond


def within_cover(state: TableState, bet: LiveBet, k: int) -> bool:
    """Whether the table's exposure with ``bet`` added stays ≤ K."""
    return total_exposure(state) + exposure(bet) <= k


def least_risk(bet_type: BetType, min_bet: int) -> int:
    """The smallest risk one bet of this type adds (at ``min_bet``; odds at 1 CRAP on their
    cheapest number): above ``bond`` the type is unavailable at that table (TABLES.md §9)."""
    spec = SPECS[bet_type]
    if spec.family is Family.ODDS:
        return min(ODDS_MIN + profit(ODDS_MIN, ratio) for ratio in spec.pays.values())
    return min_bet + profit(min_bet, EXPOSURE_RATIOS[bet_type])
