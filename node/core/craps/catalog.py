"""The bet catalog players read: every bet type's phases, settlement, payout, exposure and

house edge, taken from the engine's own data (:mod:`.bettypes`, :mod:`.edge_table`).
``bitcraps odds`` and ``docs/GAME.md`` both print these rows, so neither can drift from the
rules.  Text only; no rules here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Final

from protocol.bets import PLACEMENT, BetType, Phase, cli_name, needs_come_point

from .bettypes import SPECS, BetSpec, Family
from .edge_table import EDGES

__all__ = [
    "BetInfo",
    "catalog",
    "edge_percent",
    "ratio_text",
    "render_markdown",
    "render_odds",
]

_PHASES: Final[Mapping[Phase, tuple[str, ...]]] = MappingProxyType(
    {
        Phase.COME_OUT: ("come-out",),
        Phase.POINT: ("point",),
        Phase.ANY: ("come-out", "point"),
    }
)

_HOUSE_CUT: Final = Fraction(98, 100)

_SERIES_TEXT: Final[Mapping[BetType, tuple[str, str]]] = MappingProxyType(
    {
        # bet → (how it settles, the unit its tiers count)
        BetType.Fire: (
            "counts the different table points made (the same point twice counts once); "
            "the 6th pays at once, else at the seven-out 4 or 5 points pay and fewer lose",
            "points",
        ),
        BetType.BonusSmall: (
            "counts the totals 2, 3, 4, 5, 6 rolled; all five pay at once, a 7 first loses",
            "totals",
        ),
        BetType.BonusTall: (
            "counts the totals 8, 9, 10, 11, 12 rolled; all five pay at once, a 7 first loses",
            "totals",
        ),
        BetType.BonusAll: (
            "counts the totals 2-6 and 8-12 rolled; all ten pay at once, a 7 first loses",
            "totals",
        ),
        BetType.HotRoller: (
            "counts the rolls, the seven-out roll excluded; the 41st pays at once, else at the "
            "seven-out 15 or more pay and 14 or fewer lose",
            "rolls",
        ),
        BetType.TwiceHard: (
            "a hard 4/6/8/10 is pending until the easy way cancels it; a second hard roll of a "
            "pending number pays at once, a 7 first loses",
            "hard rolls",
        ),
        BetType.RideLine: (
            "counts the pass-line wins (come-out 7/11, points made); the 6th pays at once, else "
            "at the seven-out 3 to 5 pay and fewer lose",
            "wins",
        ),
        BetType.Muggsy: (
            "its next roll (a come-out roll): 7 wins, 2/3/11/12 lose, a point number waits for "
            "the roll after, where a 7 wins and anything else loses (settled in step 1)",
            "",
        ),
        BetType.Replay: (
            "counts how often each point number is made, the highest count counts; a 5th pays "
            "at once, else at the seven-out 3 or 4 pay and fewer lose",
            "times",
        ),
        BetType.DifferentDoubles: (
            "counts the kinds of double rolled (1-1 … 6-6); all six pay at once, else at a 7 3 "
            "to 5 kinds pay and fewer lose",
            "kinds",
        ),
    }
)

_LINE_TEXT: Final[Mapping[BetType, str]] = MappingProxyType(
    {
        BetType.Pass: "come-out 7/11 and the point made win; come-out 2/3/12 and the seven-out "
        "lose",
        BetType.DontPass: "come-out 2/3 and the seven-out win; come-out 7/11 and the point made "
        "lose; come-out 12 pushes",
        BetType.Come: "its next roll: 7/11 win, 2/3/12 lose, a point number moves it to that come "
        "point; then the come point before a 7 wins, a 7 first (a come-out 7 too) loses",
        BetType.DontCome: "its next roll: 2/3 win, 12 pushes, 7/11 lose, a point number moves it "
        "to that come point; then a 7 before the come point wins, the come point first loses",
        BetType.OddsPass: "with the player's Pass, on the same roll: wins when it wins (the point "
        "made), loses when it loses (the seven-out)",
        BetType.OddsDontPass: "with the player's DontPass, on the same roll: wins at the "
        "seven-out, loses when the point is made",
        BetType.OddsCome: "with the Come it was bound to, on the same roll (its come point wins, a "
        "7 loses)",
        BetType.OddsDontCome: "with the DontCome it was bound to, on the same roll (a 7 wins, its "
        "come point loses)",
    }
)


def ratio_text(ratio: Fraction) -> str:
    """A payout ratio as players read it: ``24:1``, ``6:5``, ``5.88:1`` or ``49:300``."""
    if ratio.denominator == 1:
        return f"{ratio.numerator}:1"
    if ratio.denominator <= 6:
        return f"{ratio.numerator}:{ratio.denominator}"
    if (ratio * 100).denominator == 1:
        return f"{float(ratio):g}:1"
    return f"{ratio.numerator}:{ratio.denominator}"


def edge_percent(edge: Fraction) -> str:
    """A house edge as a percentage with three decimals: ``1.414%``."""
    return f"{float(edge) * 100:.3f}%"


def _groups(pays: Mapping[int, Fraction]) -> dict[Fraction, list[int]]:
    """Keys grouped by equal ratio, in key order."""
    groups: dict[Fraction, list[int]] = {}
    for key in sorted(pays):
        groups.setdefault(pays[key], []).append(key)
    return groups


def _by_ratio(pays: Mapping[int, Fraction]) -> str:
    """``4/10 2:1, 5/9 3:2, 6/8 6:5``."""
    return ", ".join(
        f"{'/'.join(map(str, keys))} {ratio_text(ratio)}" for ratio, keys in _groups(pays).items()
    )


def _times(ratio: Fraction) -> str:
    """``stake × 24`` or ``stake × 6/5``."""
    if ratio.denominator == 1:
        return f"stake × {ratio.numerator}"
    return f"stake × {ratio.numerator}/{ratio.denominator}"


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n, 'th') }"


def _tiers(spec: BetSpec, unit: str) -> str:
    keys = sorted(spec.pays)
    parts = []
    for i, key in enumerate(keys):
        if spec.type is BetType.HotRoller and i + 1 < len(keys):
            label = f"{key}-{keys[i + 1] - 1}"
        else:
            label = str(key)
        parts.append(f"{label} {unit} {ratio_text(spec.pays[key])}")
    return ", ".join(parts)


def _settles(spec: BetSpec) -> str:
    n = spec.number
    family = spec.family
    if family in (Family.LINE, Family.ODDS):
        return _LINE_TEXT[spec.type]
    if family is Family.SERIES:
        return _SERIES_TEXT[spec.type][0]
    if family is Family.FIELD:
        return "one roll: 2, 3, 4, 9, 10, 11, 12 win; 5, 6, 7, 8 lose"
    if family is Family.NEXT:
        return f"one roll: {n} wins, any other total loses"
    if family is Family.YES:
        return f"{n} before a 7 wins; a 7 first loses"
    if family is Family.NO:
        return f"a 7 before {n} wins; {n} first loses"
    if family is Family.HARD and n is not None:
        return f"the hard {n} ({n // 2}-{n // 2}) wins; a 7 or an easy {n} loses"
    return (
        f"{n} rolled {spec.hits} times (hard or easy) before a 7 wins at the "
        f"{_ordinal(spec.hits)} hit; a 7 first loses"
    )


def _payout(spec: BetSpec) -> str:
    family = spec.family
    if family is Family.ODDS:
        return _by_ratio(spec.pays)
    if family is Family.FIELD:
        return _by_ratio(spec.pays)
    if family is Family.REPEATER:
        return f"{ratio_text(spec.pays[spec.hits])} at the {_ordinal(spec.hits)} hit"
    if spec.type is BetType.Muggsy:
        return f"come-out 7 {ratio_text(spec.pays[1])}, point then 7 {ratio_text(spec.pays[2])}"
    if spec.type is BetType.TwiceHard:
        return f"second hard roll {ratio_text(spec.pays[2])}"
    if family is Family.SERIES:
        return _tiers(spec, _SERIES_TEXT[spec.type][1])
    ratio = max(spec.pays.values())
    if family in (Family.YES, Family.NO, Family.NEXT):
        return f"{ratio_text(ratio / _HOUSE_CUT)} × 0.98 = {ratio_text(ratio)}"
    return ratio_text(ratio)


def _exposure(spec: BetSpec) -> str:
    if spec.family is Family.ODDS:
        return ", ".join(
            f"{'/'.join(map(str, keys))} {_times(ratio)}"
            for ratio, keys in _groups(spec.pays).items()
        )
    return _times(max(spec.pays.values()))


@dataclass(frozen=True, slots=True)
class BetInfo:
    """One bet type as players read it."""

    type: BetType
    cli: str
    """Its CLI name (``odds-come-N`` for the two bets that name a come point)."""
    placeable: tuple[str, ...]
    """The phases it may be placed in: ``come-out``, ``point`` or both."""
    needs: str | None
    """For an odds bet, the bet it backs: ``an open Pass`` …"""
    settles: str
    payout: str
    exposure: str
    house_edge: Fraction

    def to_json(self) -> dict[str, Any]:
        """The row of ``bitcraps odds --json``."""
        return {
            "code": int(self.type),
            "name": self.type.name,
            "cli": self.cli,
            "placeable": list(self.placeable),
            "needs": self.needs,
            "settles": self.settles,
            "payout": self.payout,
            "exposure": self.exposure,
            "house_edge": float(self.house_edge),
            "house_edge_exact": f"{self.house_edge.numerator}/{self.house_edge.denominator}",
            "method": "exact",
        }


def _info(bet: BetType) -> BetInfo:
    spec = SPECS[bet]
    placement = PLACEMENT[bet]
    name = f"{cli_name(bet, 6).removesuffix('-6')}-N" if needs_come_point(bet) else cli_name(bet)
    needs = None
    if placement.backs is not None:
        on = " on come point N" if needs_come_point(bet) else ""
        needs = f"an open {placement.backs.name}{on}"
    return BetInfo(
        bet,
        name,
        _PHASES[placement.phase],
        needs,
        _settles(spec),
        _payout(spec),
        _exposure(spec),
        EDGES[bet],
    )


def catalog() -> list[BetInfo]:
    """Every bet type, in wire-code order."""
    return [_info(bet) for bet in BetType]


def render_odds(rows: list[BetInfo]) -> str:
    """``bitcraps odds`` as a table players read: code, name, when, payout and house edge."""
    lines = [f"{'code':>4}  {'bet':<19} {'placed':<16} {'house edge':>10}  pays"]
    for info in rows:
        when = "any phase" if len(info.placeable) == 2 else info.placeable[0]
        lines.append(
            f"{int(info.type):>4}  {info.cli:<19} {when:<16} "
            f"{edge_percent(info.house_edge):>10}  {info.payout}"
        )
    lines.append("")
    lines.append(
        "House edge: expected loss per unit staked, per bet made (a push counts as a bet made), "
        "exact (a Markov chain over the game), rounding ignored."
    )
    return "\n".join(lines) + "\n"


_GROUPS: Final = (
    ("Line bets and odds", (Family.LINE, Family.ODDS)),
    ("One-roll bets", (Family.FIELD, Family.NEXT)),
    ("Number bets", (Family.YES, Family.NO, Family.HARD, Family.REPEATER)),
    ("Series bets", (Family.SERIES,)),
)


def render_markdown(rows: list[BetInfo]) -> str:
    """The bet tables of ``docs/GAME.md``, one per group of families, in wire-code order."""
    out: list[str] = []
    for title, families in _GROUPS:
        out += [
            f"### {title}",
            "",
            "| code | bet | placed | settles | pays | exposure | house edge |",
            "|---:|---|---|---|---|---|---:|",
        ]
        for info in rows:
            if SPECS[info.type].family not in families:
                continue
            placed = "any phase" if len(info.placeable) == 2 else info.placeable[0]
            if info.needs is not None:
                placed += f", with {info.needs}"
            cells = [
                str(int(info.type)),
                f"`{info.cli}`",
                placed,
                info.settles,
                info.payout,
                info.exposure,
                edge_percent(info.house_edge),
            ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)
