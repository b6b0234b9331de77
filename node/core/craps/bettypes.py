"""Bet types and their data: family, settlement step and pay table of each of the 64 bets.

Everything BET_RULES.md (v1.3) says a bet *pays* lives here, once, as exact fractions; when a bet
may be placed and what an odds bet backs come from :mod:`protocol.bets`.  This module holds data
and the one rounding rule (:func:`profit`), never settlement logic.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Final, TypeVar

from protocol.bets import PLACEMENT, BetType, bet_number, may_place, needs_come_point
from protocol.constants import CRAP

__all__ = [
    "BACKS",
    "COME_POINT_BETS",
    "ODDS_CAP",
    "ODDS_MIN",
    "SPECS",
    "WAYS",
    "WHOLE_PAYS",
    "BetSpec",
    "Family",
    "by_code",
    "paid",
    "placeable",
    "profit",
    "spec_of",
]

WAYS: Final[Mapping[int, int]] = MappingProxyType(
    {2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 5, 9: 4, 10: 3, 11: 2, 12: 1}
)
"""``ways(n)``: the dice combinations (of 36) that total n."""

ODDS_MIN: Final = 1 * CRAP
"""An odds stake is at least 1 CRAP, whatever the table's ``min_bet``."""

ODDS_CAP: Final[Mapping[int, int]] = MappingProxyType({4: 3, 10: 3, 5: 4, 9: 4, 6: 5, 8: 5})
"""Largest odds stake, as a multiple of the backed bet's stake, by the number it backs."""


class Family(enum.Enum):
    """How a bet settles; one module of this package settles each family."""

    LINE = "line"  # Pass, DontPass, Come, DontCome (line.py)
    ODDS = "odds"  # the four odds bets (odds.py)
    FIELD = "field"  # numbers.py
    NEXT = "next"
    YES = "yes"
    NO = "no"
    HARD = "hard"
    REPEATER = "repeater"
    SERIES = "series"  # Fire … DifferentDoubles, Muggsy included (series.py)


@dataclass(frozen=True, slots=True)
class BetSpec:
    """One bet type's data.

    ``pays`` maps a key to the profit ratio paid (stake × ratio, rounded down); the key depends
    on the family:

    - LINE: ``{1: 1}`` (even money); ODDS: the number backed → its true odds;
    - FIELD: the winning total; NEXT, YES, NO, HARD: ``{N: ratio}``;
    - REPEATER and the SERIES bets: a count reached → the ratio of that tier (the lowest key is
      the least that wins, the highest the top tier, paid at once).  HotRoller's keys are the
      lowest roll count of each tier (15, 21, 31, 41); Muggsy's are its two ways to win
      (1: a come-out 7, 2: a point set and then a 7).
    """

    type: BetType
    family: Family
    step: int
    """BET_RULES "Settlement order within one roll": 1 one-roll, 2 line/odds, 3 number, 4 series."""
    pays: Mapping[int, Fraction]
    reads_phase: bool
    """Whether its settlement reads the table phase (the point), not only the dice and itself."""
    number: int | None = None
    """The N of a NextN, YesN, NoN, HardN or RepeaterN bet."""
    hits: int = 0
    """RepeaterN: how many times N must be rolled before a 7."""

    @property
    def top(self) -> int:
        """The top tier's key (Repeater and series bets)."""
        return max(self.pays)

    def reached(self, count: int) -> int | None:
        """The key of the highest tier ``count`` reaches, or None below the lowest tier."""
        reached = [key for key in self.pays if key <= count]
        return max(reached) if reached else None

    def tier(self, count: int) -> Fraction | None:
        """The ratio of the highest tier ``count`` reaches, or None below the lowest tier."""
        key = self.reached(count)
        return None if key is None else self.pays[key]


def profit(stake: int, ratio: Fraction) -> int:
    """Stake × ratio, rounded down to a whole base unit (BET_RULES: every product rounds down).

    For the Yes/No/Next family the ratio is ``fair × 98/100`` as one fraction, so this is exactly
    ``stake × fair_numerator × 98 // (fair_denominator × 100)``.
    """
    numerator, denominator = ratio.as_integer_ratio()  # one call: both are properties
    return stake * numerator // denominator


_HOUSE_CUT: Final = Fraction(98, 100)
"""The × 0.98 of the Yes/No/Next family."""

_REPEATER: Final[Mapping[int, tuple[int, int]]] = MappingProxyType(
    {2: (2, 40), 12: (2, 40), 3: (3, 50), 11: (3, 50), 4: (4, 65), 10: (4, 65),
     5: (5, 80), 9: (5, 80), 6: (6, 90), 8: (6, 90)}
)  # fmt: skip
"""RepeaterN: N → (hits k, pays k-th hit P:1)."""

_SERIES_PAYS: Final[Mapping[BetType, Mapping[int, int]]] = MappingProxyType(
    {
        BetType.Fire: {4: 24, 5: 249, 6: 999},
        BetType.BonusSmall: {5: 34},
        BetType.BonusTall: {5: 34},
        BetType.BonusAll: {10: 175},
        BetType.HotRoller: {15: 2, 21: 5, 31: 15, 41: 100},
        BetType.TwiceHard: {2: 15},
        BetType.RideLine: {3: 2, 4: 4, 5: 6, 6: 10},
        BetType.Muggsy: {1: 2, 2: 3},
        BetType.Replay: {3: 70, 4: 400, 5: 1000},
        BetType.DifferentDoubles: {3: 4, 4: 10, 5: 30, 6: 150},
    }
)

_READS_PHASE: Final = frozenset(
    {
        # the line bets on the table point, and the series that count points or end on seven-out
        BetType.Pass,
        BetType.DontPass,
        BetType.OddsPass,
        BetType.OddsDontPass,
        BetType.Fire,
        BetType.HotRoller,
        BetType.RideLine,
        BetType.Replay,
    }
)

_TRUE_ODDS: Final = {4: Fraction(2), 10: Fraction(2), 5: Fraction(3, 2), 9: Fraction(3, 2),
                     6: Fraction(6, 5), 8: Fraction(6, 5)}  # fmt: skip


def _ratios(table: Mapping[int, int]) -> Mapping[int, Fraction]:
    return MappingProxyType({key: Fraction(value) for key, value in table.items()})


def _spec(bet: BetType) -> BetSpec:
    reads = bet in _READS_PHASE
    name = bet.name
    n = bet_number(bet)
    if bet in (BetType.Pass, BetType.DontPass, BetType.Come, BetType.DontCome):
        return BetSpec(bet, Family.LINE, 2, _ratios({1: 1}), reads)
    if bet in (BetType.OddsPass, BetType.OddsCome):
        return BetSpec(bet, Family.ODDS, 2, MappingProxyType(dict(_TRUE_ODDS)), reads)
    if bet in (BetType.OddsDontPass, BetType.OddsDontCome):
        lay = {point: 1 / ratio for point, ratio in _TRUE_ODDS.items()}
        return BetSpec(bet, Family.ODDS, 2, MappingProxyType(lay), reads)
    if bet is BetType.Field:
        field = {2: 2, 12: 3, 3: 1, 4: 1, 9: 1, 10: 1, 11: 1}
        return BetSpec(bet, Family.FIELD, 1, _ratios(field), reads)
    if bet in _SERIES_PAYS:
        step = 1 if bet is BetType.Muggsy else 4
        return BetSpec(bet, Family.SERIES, step, _ratios(_SERIES_PAYS[bet]), reads)
    if n is None:  # pragma: no cover - every bet type is listed above or numbered
        raise AssertionError(f"no bet data for {name}")
    ways = WAYS[n]
    if name.startswith("Next"):
        ratio = Fraction(36 - ways, ways) * _HOUSE_CUT
        return BetSpec(bet, Family.NEXT, 1, MappingProxyType({n: ratio}), reads, n)
    if name.startswith("Yes"):
        ratio = Fraction(6, ways) * _HOUSE_CUT
        return BetSpec(bet, Family.YES, 3, MappingProxyType({n: ratio}), reads, n)
    if name.startswith("No"):
        ratio = Fraction(ways, 6) * _HOUSE_CUT
        return BetSpec(bet, Family.NO, 3, MappingProxyType({n: ratio}), reads, n)
    if name.startswith("Hard"):
        ratio = Fraction(7 if n in (4, 10) else 9)
        return BetSpec(bet, Family.HARD, 3, MappingProxyType({n: ratio}), reads, n)
    hits, pays = _REPEATER[n]
    return BetSpec(bet, Family.REPEATER, 3, _ratios({hits: pays}), reads, n, hits)


SPECS: Final[Mapping[BetType, BetSpec]] = MappingProxyType({bet: _spec(bet) for bet in BetType})
"""Every bet type's data, in wire-code order."""

T = TypeVar("T")


def by_code(values: Mapping[BetType, T], missing: T) -> tuple[T, ...]:
    """``values`` as a tuple indexed by wire code, ``missing`` at a code no bet type uses: for
    the settlement and placement paths, where compiled code indexes a tuple with a bet type (an
    int) for a fraction of what a dict or mapping lookup costs."""
    table = [missing] * (max(BetType) + 1)
    for bet, value in values.items():
        table[bet] = value
    return tuple(table)


_BY_CODE: Final = by_code(SPECS, None)

WHOLE_PAYS: Final = by_code(
    {
        bet: {key: ratio.as_integer_ratio() for key, ratio in spec.pays.items()}
        for bet, spec in SPECS.items()
    },
    {},
)
"""Every bet type's pay table as ``key → (numerator, denominator)``, by wire code: the ratios of
:data:`SPECS`, read on the hot paths without a :class:`~fractions.Fraction` (whose
``as_integer_ratio`` runs interpreted)."""


def paid(code: int, key: int, stake: int) -> int:
    """:func:`profit` of ``stake`` at the ratio at ``key`` of the pay table of the bet type whose
    wire code is ``code``, from :data:`WHOLE_PAYS`."""
    numerator, denominator = WHOLE_PAYS[code][key]
    return stake * numerator // denominator


def spec_of(bet: BetType) -> BetSpec:
    """``SPECS[bet]``, read from :func:`by_code`'s tuple."""
    code: int = bet  # a plain int indexes the tuple directly when compiled
    spec = _BY_CODE[code]
    if spec is None:  # pragma: no cover - every bet type has its data
        raise KeyError(bet)
    return spec


# protocol.bets' placement rules, tabulated once for the checks of every inclusion
COME_POINT_BETS: Final = frozenset(bet for bet in BetType if needs_come_point(bet))
"""The bets whose entry names a come point (OddsCome, OddsDontCome)."""
_AT_COME_OUT: Final = by_code({bet: may_place(bet, None) for bet in BetType}, False)
_IN_POINT: Final = by_code({bet: may_place(bet, 4) for bet in BetType}, False)
BACKS: Final[Mapping[BetType, BetType]] = MappingProxyType(
    {bet: p.backs for bet, p in PLACEMENT.items() if p.backs is not None}
)
"""Odds bet → the bet it backs."""


def placeable(bet: BetType, point: int | None) -> bool:
    """Whether the phase allows placing ``bet`` at a table whose point is ``point`` (None:
    come-out): :func:`protocol.bets.may_place`, read from the tables made from it."""
    code: int = bet
    return (_AT_COME_OUT if point is None else _IN_POINT)[code]
