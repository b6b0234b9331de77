"""Bet types: the wire codes of bet_codes.csv, when each bet may be placed, and its CLI names.

The single source for the engine and the CLI of which bets exist (``BetType``), in which table
phase each may be placed and which bet an odds bet backs (``PLACEMENT``, per BET_RULES.md), and
how players spell them (``cli_name``/``parse_bet_name``).  No payouts live here.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "COME_POINTS",
    "PLACEMENT",
    "BetType",
    "Phase",
    "Placement",
    "UnknownBetName",
    "all_cli_names",
    "bet_number",
    "cli_name",
    "may_place",
    "needs_come_point",
    "parse_bet_name",
]


class BetType(IntEnum):
    """A bet type and its wire code: exactly the rows of ``bet_codes.csv``.  Never renumber."""

    Pass = 0
    DontPass = 1
    Come = 2
    DontCome = 3
    Field = 4
    OddsPass = 5
    OddsDontPass = 6
    Yes2 = 10
    Yes3 = 11
    Yes4 = 12
    Yes5 = 13
    Yes6 = 14
    Yes8 = 15
    Yes9 = 16
    Yes10 = 17
    Yes11 = 18
    Yes12 = 19
    No2 = 20
    No3 = 21
    No4 = 22
    No5 = 23
    No6 = 24
    No8 = 25
    No9 = 26
    No10 = 27
    No11 = 28
    No12 = 29
    Hard4 = 30
    Hard6 = 31
    Hard8 = 32
    Hard10 = 33
    Next2 = 40
    Next3 = 41
    Next4 = 42
    Next5 = 43
    Next6 = 44
    Next7 = 45
    Next8 = 46
    Next9 = 47
    Next10 = 48
    Next11 = 49
    Next12 = 50
    Fire = 60
    BonusSmall = 61
    BonusTall = 62
    BonusAll = 63
    HotRoller = 64
    TwiceHard = 65
    RideLine = 66
    Muggsy = 67
    Replay = 68
    DifferentDoubles = 69
    Repeater2 = 70
    Repeater3 = 71
    Repeater4 = 72
    Repeater5 = 73
    Repeater6 = 74
    Repeater8 = 75
    Repeater9 = 76
    Repeater10 = 77
    Repeater11 = 78
    Repeater12 = 79
    OddsCome = 80
    OddsDontCome = 81


COME_POINTS: Final[frozenset[int]] = frozenset({4, 5, 6, 8, 9, 10})
"""Totals that set a come point (and, the same set, a table point)."""


# --------------------------------------------------------------------------- placement


class Phase(enum.Enum):
    """The table phase in which a bet may be placed."""

    COME_OUT = "come-out"
    POINT = "point"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Placement:
    """When a bet may be placed, and the bet an odds bet backs (``None`` for every other bet)."""

    phase: Phase
    backs: BetType | None = None


_COME_OUT: Final = Placement(Phase.COME_OUT)
_POINT: Final = Placement(Phase.POINT)
_ANY: Final = Placement(Phase.ANY)

_SERIES: Final = (
    BetType.Fire,
    BetType.BonusSmall,
    BetType.BonusTall,
    BetType.BonusAll,
    BetType.HotRoller,
    BetType.TwiceHard,
    BetType.RideLine,
    BetType.Muggsy,
    BetType.Replay,
    BetType.DifferentDoubles,
)

_NUMBER_PATTERN: Final = re.compile(r"(Yes|No|Next|Hard|Repeater)([0-9]+)")


def _numbers() -> dict[BetType, int]:
    numbers: dict[BetType, int] = {}
    for bet in BetType:
        match = _NUMBER_PATTERN.fullmatch(bet.name)
        if match is not None:
            numbers[bet] = int(match.group(2))
    return numbers


_NUMBERS: Final[Mapping[BetType, int]] = MappingProxyType(_numbers())


def _placements() -> dict[BetType, Placement]:
    table: dict[BetType, Placement] = {
        BetType.Pass: _COME_OUT,
        BetType.DontPass: _COME_OUT,
        BetType.Come: _POINT,
        BetType.DontCome: _POINT,
        BetType.Field: _ANY,
        BetType.OddsPass: Placement(Phase.POINT, backs=BetType.Pass),
        BetType.OddsDontPass: Placement(Phase.POINT, backs=BetType.DontPass),
        BetType.OddsCome: Placement(Phase.ANY, backs=BetType.Come),
        BetType.OddsDontCome: Placement(Phase.ANY, backs=BetType.DontCome),
    }
    for bet in _SERIES:
        table[bet] = _COME_OUT  # "placed before a come-out roll"
    for bet in _NUMBERS:
        # Yes/No/Hard/Next: any phase.  Repeater: "any come-out" (before a come-out roll).
        table[bet] = _COME_OUT if bet.name.startswith("Repeater") else _ANY
    return {bet: table[bet] for bet in BetType}  # wire-code order; KeyError if one is missing


PLACEMENT: Final[Mapping[BetType, Placement]] = MappingProxyType(_placements())
"""When each bet may be placed and what an odds bet backs (BET_RULES.md), for engine and CLI."""


def may_place(bet: BetType, point: int | None) -> bool:
    """Whether the phase allows placing ``bet``; ``point`` is the table point, None at come-out.

    Only the phase is read; the bet an odds bet must back (``PLACEMENT[bet].backs``) is not checked.
    """
    if point is not None and point not in COME_POINTS:
        raise ValueError(f"table point must be None or one of {_points_text()}, not {point!r}")
    phase = PLACEMENT[bet].phase
    if phase is Phase.ANY:
        return True
    if phase is Phase.COME_OUT:
        return point is None
    return point is not None


def needs_come_point(bet: BetType) -> bool:
    """True for OddsCome/OddsDontCome, whose wire entry carries the come point as third element."""
    return bet in (BetType.OddsCome, BetType.OddsDontCome)


def bet_number(bet: BetType) -> int | None:
    """The N of a YesN, NoN, NextN, HardN or RepeaterN bet; None for every other bet."""
    return _NUMBERS.get(bet)


# --------------------------------------------------------------------------- CLI names

_SEE_LIST: Final = "(see 'bitcraps bets' for the list)"


class UnknownBetName(ValueError):
    """A bet name a player typed that names no bet (or an odds-come bet without a valid point)."""

    def __init__(self, text: str, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.text = text
        self.suggestions = suggestions


def _kebab(name: str) -> str:
    """``DontPass`` -> ``dont-pass``, ``Hard10`` -> ``hard-10``."""
    return re.sub(r"(?<=.)([A-Z]|(?<![0-9])[0-9])", r"-\1", name).lower()


def _points_text() -> str:
    return ", ".join(str(point) for point in sorted(COME_POINTS))


_BASE_NAMES: Final[Mapping[BetType, str]] = MappingProxyType(
    {bet: _kebab(bet.name) for bet in BetType}
)
"""CLI name of each bet; for OddsCome/OddsDontCome the prefix that ``-N`` completes."""


def _all_names() -> tuple[str, ...]:
    names: list[str] = []
    for bet in BetType:
        if needs_come_point(bet):
            names.extend(f"{_BASE_NAMES[bet]}-{point}" for point in sorted(COME_POINTS))
        else:
            names.append(_BASE_NAMES[bet])
    return tuple(names)


_ALL_NAMES: Final = _all_names()


def _lookup() -> dict[str, BetType]:
    """Accepted spellings (lower case) of every bet that takes no come point."""
    table: dict[str, BetType] = {}
    for bet in BetType:
        if needs_come_point(bet):
            continue
        for spelling in (_BASE_NAMES[bet], bet.name.lower()):
            if table.setdefault(spelling, bet) is not bet:
                raise AssertionError(f"bet name {spelling!r} is ambiguous")  # pragma: no cover
    return table


_LOOKUP: Final[Mapping[str, BetType]] = MappingProxyType(_lookup())

_ODDS_COME_PREFIXES: Final[Mapping[str, BetType]] = MappingProxyType(
    {
        spelling: bet
        for bet in (BetType.OddsCome, BetType.OddsDontCome)
        for spelling in (_BASE_NAMES[bet], bet.name.lower())
    }
)
# An odds-come prefix, then the come point: odds-come-6, OddsCome6, oddscome-6.  Anything after a
# "-" is taken as the point, so "odds-come-7" and "odds-come-x" get the list of valid points.
_ODDS_COME_PATTERN: Final = re.compile(
    "(?P<prefix>"
    + "|".join(re.escape(p) for p in sorted(_ODDS_COME_PREFIXES, key=len, reverse=True))
    + r")(?:-(?P<dashed>.*)|(?P<digits>[0-9]+))?",
    re.DOTALL,
)


def cli_name(bet: BetType, come_point: int | None = None) -> str:
    """The player-facing name of ``bet``; OddsCome/OddsDontCome need their come point."""
    bet = BetType(bet)
    if needs_come_point(bet):
        if come_point not in COME_POINTS:
            raise ValueError(
                f"{bet.name} needs a come point, one of {_points_text()}, not {come_point!r}"
            )
        return f"{_BASE_NAMES[bet]}-{come_point}"
    if come_point is not None:
        raise ValueError(f"{bet.name} takes no come point (got {come_point!r})")
    return _BASE_NAMES[bet]


def parse_bet_name(text: str) -> tuple[BetType, int | None]:
    """Parse a player's bet name (case-insensitive; CLI or CSV spelling).

    Returns the bet type and the come point (None unless OddsCome/OddsDontCome).  Raises
    :class:`UnknownBetName` with close matches, or with the valid points for an odds-come bet.
    """
    key = text.strip().lower()
    if key.isascii():  # no Unicode look-alikes: "\u212a" (Kelvin sign) lowers to "k"
        bet = _LOOKUP.get(key)
        if bet is not None:
            return bet, None
        match = _ODDS_COME_PATTERN.fullmatch(key)
        if match is not None:
            odds = _ODDS_COME_PREFIXES[match.group("prefix")]
            point_text = match.group("dashed") or match.group("digits") or ""
            for point in COME_POINTS:
                if point_text == str(point):
                    return odds, point
            raise UnknownBetName(
                text,
                f"bet {text!r} needs the come point it backs, one of {_points_text()} "
                f"(e.g. {_BASE_NAMES[odds]}-6)",
            )
    suggestions = tuple(difflib.get_close_matches(key, _ALL_NAMES))
    hint = f": did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownBetName(text, f"unknown bet {text!r}{hint} {_SEE_LIST}", suggestions)


def all_cli_names() -> list[str]:
    """Every canonical CLI name, in wire-code order (odds-come-N for each come point N)."""
    return list(_ALL_NAMES)
