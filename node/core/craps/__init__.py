"""The craps rules engine and the dice, sans-IO: BET_RULES.md (v1.3) and TABLES.md §3.

Over a plain :class:`TableState` value the table layer includes bets (:func:`place`), settles
rolls (:func:`settle_roll`), returns bets at stake (:func:`return_bet`, …) and caps risk and
cover (:mod:`.exposure`).  No clock, socket or randomness; imports from outside: ``protocol.*``.
"""

from __future__ import annotations

from .bettypes import ODDS_CAP, ODDS_MIN, SPECS, WAYS, BetSpec, Family, profit
from .dice import Roll, WalletChain, dice_from_seed, dice_seed, roll_dice
from .exposure import (
    EXPOSURE_RATIOS,
    Totals,
    exposure,
    exposure_ratio,
    least_risk,
    risk,
    total_exposure,
    within_cover,
    within_risk_cap,
)
from .outcome import Outcome, Settlement
from .phase import Event, next_shooter
from .placement import BetRequest, Limits, LiveIndex, Release, check, place
from .settle import (
    RollResult,
    return_all,
    return_bet,
    return_bets,
    return_owner,
    seats_changed,
    settle_roll,
    settlement_order,
)
from .table import BetId, LiveBet, TableState

__all__ = [
    "EXPOSURE_RATIOS",
    "ODDS_CAP",
    "ODDS_MIN",
    "SPECS",
    "WAYS",
    "BetId",
    "BetRequest",
    "BetSpec",
    "Event",
    "Family",
    "Limits",
    "LiveBet",
    "LiveIndex",
    "Outcome",
    "Release",
    "Roll",
    "RollResult",
    "Settlement",
    "TableState",
    "Totals",
    "WalletChain",
    "check",
    "dice_from_seed",
    "dice_seed",
    "exposure",
    "exposure_ratio",
    "least_risk",
    "next_shooter",
    "place",
    "profit",
    "return_all",
    "return_bet",
    "return_bets",
    "return_owner",
    "risk",
    "roll_dice",
    "seats_changed",
    "settle_roll",
    "settlement_order",
    "total_exposure",
    "within_cover",
    "within_risk_cap",
]
