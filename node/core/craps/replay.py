"""Single-player replay: one player's bets against given dice, through the same engine.

A TABLES.md §9 table (bets 1 to 100 CRAP), risk cap and cover only when asked; the bets before a
roll are judged for balance, then included in order; a settled credit is spendable from the
next roll.  Also parses the dice and bet strings players type.  No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from protocol.amounts import AmountError, format_crap, parse_crap
from protocol.bets import PLACEMENT, Phase, UnknownBetName, cli_name, parse_bet_name
from protocol.constants import CRAP

from .dice import Roll
from .outcome import Outcome, Settlement
from .phase import Event
from .placement import BetRequest, Limits, Release, place
from .settle import settle_roll
from .table import TableState

__all__ = [
    "TABLE_DEFAULTS",
    "NotPlaceable",
    "PlannedBet",
    "ReplayError",
    "ReplayResult",
    "parse_bet",
    "parse_dice",
    "render_text",
    "replay",
]

TABLE_DEFAULTS: Final = Limits(min_bet=1 * CRAP, max_bet=100 * CRAP)
"""TABLES.md §9: bets 1 / 100 CRAP."""

_SEAT: Final = 1
_DIE: Final = re.compile(r"([1-6])-([1-6])")
_BET: Final = re.compile(r"(?:(?P<roll>[0-9]+)@)?(?P<name>[^:@]+):(?P<amount>.+)")


class ReplayError(ValueError):
    """Input a replay cannot run: bad dice or bet text, or a bet the rules do not allow then."""


class NotPlaceable(ReplayError):
    """A bet whose phase does not allow it before the roll it was asked for (or whose bet to
    back is missing)."""


@dataclass(frozen=True, slots=True)
class PlannedBet:
    """One bet the player asks for, placed before roll ``before`` (0 = the first roll)."""

    request: BetRequest
    before: int = 0

    @property
    def name(self) -> str:
        """Its CLI name (``odds-come-6``)."""
        return cli_name(self.request.type, self.request.come_point)


def parse_dice(text: str) -> list[Roll]:
    """``"3-4 6-6"`` → rolls; raises :class:`ReplayError` naming the first malformed pair."""
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise ReplayError("no dice given: write each roll as two dice, e.g. --dice '3-4 6-6'")
    rolls = []
    for token in tokens:
        match = _DIE.fullmatch(token)
        if match is None:
            raise ReplayError(
                f"dice {token!r} are not two dice like 3-4 (each 1 to 6, joined by '-')"
            )
        rolls.append(Roll(int(match.group(1)), int(match.group(2))))
    return rolls


def parse_bet(text: str) -> PlannedBet:
    """``[ROLL@]NAME:AMOUNT`` (AMOUNT in CRAP) → a planned bet; raises :class:`ReplayError`."""
    match = _BET.fullmatch(text.strip())
    if match is None:
        raise ReplayError(f"bet {text!r} is not [ROLL@]NAME:AMOUNT, e.g. pass:10 or 1@come:5")
    try:
        bet_type, come_point = parse_bet_name(match.group("name"))
        amount = parse_crap(match.group("amount"))
    except (UnknownBetName, AmountError) as exc:
        raise ReplayError(f"bet {text!r}: {exc}") from None
    before = int(match.group("roll") or 0)
    return PlannedBet(BetRequest(bet_type, amount, come_point), before)


@dataclass(frozen=True, slots=True)
class Entry:
    """A bet of the replay and what became of it; ``index`` is its place in the bets given."""

    index: int
    bet: str
    stake: int
    roll: int
    """The roll it settled on; for releases, refusals and live bets the roll it was placed
    before."""
    result: str
    """``win``, ``lose`` or ``push``; a release reason; ``balance``; or ``live``."""
    amount: int = 0
    """Won (the profit) or lost (the stake); 0 otherwise."""

    def to_json(self, key: str | None) -> dict[str, Any]:
        """``{roll, bet, index, stake}`` with ``outcome`` and ``amount`` (settlements) or
        ``reason`` (releases and refusals) as ``key`` says."""
        row: dict[str, Any] = {"roll": self.roll, "bet": self.bet, "index": self.index}
        row["stake"] = self.stake
        if key is not None:
            row[key] = self.result
        if key == "outcome":
            row["amount"] = self.amount
        return row


@dataclass(frozen=True, slots=True)
class RollLine:
    """One roll of the replay: its dice, the table event and the point after it."""

    roll: int
    dice: Roll
    event: Event
    point: int | None


@dataclass(slots=True)
class ReplayResult:
    """Everything a replay did, in base units."""

    rolls: list[RollLine] = field(default_factory=list)
    settlements: list[Entry] = field(default_factory=list)
    released: list[Entry] = field(default_factory=list)
    refused: list[Entry] = field(default_factory=list)
    live: list[Entry] = field(default_factory=list)
    start_balance: int | None = None
    final_balance: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``bitcraps table replay --json``."""
        return {
            "rolls": [
                {
                    "roll": r.roll,
                    "dice": str(r.dice),
                    "total": r.dice.total,
                    "event": r.event.value,
                    "point": r.point,
                }
                for r in self.rolls
            ],
            "settlements": [e.to_json("outcome") for e in self.settlements],
            "released": [e.to_json("reason") for e in self.released],
            "refused": [e.to_json("reason") for e in self.refused],
            "live": [e.to_json(None) for e in self.live],
            "start_balance": self.start_balance,
            "final_balance": self.final_balance,
        }


def _why_not(bet: PlannedBet, state: TableState) -> str:
    placement = PLACEMENT[bet.request.type]
    table = "at come-out" if state.point is None else f"on point {state.point}"
    if placement.backs is not None:
        needs = f"your {cli_name(placement.backs)} bet"
        if bet.request.come_point is not None:
            needs += f" on come point {bet.request.come_point}"
        if placement.phase is Phase.POINT:
            needs += " in the point phase"
        return f"it needs {needs} (the table is {table})"
    when = "at come-out" if placement.phase is Phase.COME_OUT else "in the point phase"
    return f"{bet.name} is placed {when} and the table is {table}"


def replay(
    rolls: Sequence[Roll],
    bets: Sequence[PlannedBet],
    *,
    limits: Limits = TABLE_DEFAULTS,
    balance: int | None = None,
    bond: int | None = None,
    bankroll: int | None = None,
) -> ReplayResult:
    """Replay ``bets`` against ``rolls``.

    ``balance`` is the player's starting balance (None: unchecked, and the final balance is the
    net result); ``bond`` caps the table's risk and ``bankroll`` is the bank's K for cover
    (None: neither check).  Raises :class:`NotPlaceable` for a bet the phase does not allow
    when it was asked for, :class:`ReplayError` for a bet after the last roll.
    """
    for number, bet in enumerate(bets):
        if not 0 <= bet.before < len(rolls):
            raise ReplayError(
                f"bet {number + 1} ({bet.name}) is placed before roll {bet.before}, but the "
                f"dice have rolls 0 to {len(rolls) - 1}"
            )
    state = TableState(shooter=_SEAT)
    result = ReplayResult(start_balance=balance)
    spendable = balance if balance is not None else 0
    cover = bankroll
    for at, roll in enumerate(rolls):
        judged = []
        for number, bet in enumerate(bets):  # the bet packets, judged for balance
            if bet.before != at:
                continue
            stake = bet.request.amount
            if balance is not None and stake > spendable:
                result.refused.append(Entry(number, bet.name, stake, at, "balance"))
                continue
            spendable -= stake
            judged.append((number, bet))
        for number, bet in judged:  # included in the order given
            found = place(state, (number,), _SEAT, bet.request, limits, bond=bond, cover=cover)
            if found is Release.PHASE:
                raise NotPlaceable(
                    f"bet {number + 1} ({bet.name}) cannot be placed before roll {at}: "
                    f"{_why_not(bet, state)}"
                )
            if isinstance(found, Release):
                spendable += bet.request.amount
                result.released.append(Entry(number, bet.name, bet.request.amount, at, found.label))
        rolled = settle_roll(state, roll, (_SEAT,))
        result.rolls.append(RollLine(at, roll, rolled.event, state.point))
        for settlement in rolled.settlements:
            spendable += settlement.credit
            if cover is not None:
                cover -= settlement.profit
            result.settlements.append(_entry(settlement, bets, at))
    for live in state.bets:
        number = int(live.id[0])
        planned = bets[number]
        result.live.append(Entry(number, planned.name, live.stake, planned.before, "live"))
    result.final_balance = spendable
    return result


def _entry(settlement: Settlement, bets: Sequence[PlannedBet], at: int) -> Entry:
    number = int(settlement.bet.id[0])
    name, stake = bets[number].name, settlement.bet.stake
    return Entry(number, name, stake, at, settlement.outcome.value, settlement.amount)


_VERBS: Final = {
    Outcome.WIN.value: "wins",
    Outcome.LOSE.value: "loses",
    Outcome.PUSH.value: "pushes",
}


def render_text(result: ReplayResult) -> str:
    """The replay as lines players read: each roll and what it settled, then the totals."""
    lines = []
    by_roll: dict[int, list[str]] = {}
    for entry in result.settlements:
        amount = f" {format_crap(entry.amount)} CRAP" if entry.result != "push" else ""
        by_roll.setdefault(entry.roll, []).append(f"{entry.bet} {_VERBS[entry.result]}{amount}")
    for line in result.rolls:
        event = line.event.value
        if line.event is Event.POINT_SET:
            event += f" {line.point}"
        said = "; ".join(by_roll.get(line.roll, []))
        text = f"roll {line.roll:>3}  {line.dice}  {line.dice.total:>2}  {event:<12}  {said}"
        lines.append(text.rstrip())
    for entry in result.released:
        what = f"{entry.bet} (bet {entry.index + 1}) before roll {entry.roll}"
        lines.append(f"released: {what}: {entry.result}")
    for entry in result.refused:
        what = f"{entry.bet} (bet {entry.index + 1}) before roll {entry.roll}"
        lines.append(f"refused: {what}: stake {format_crap(entry.stake)} CRAP above the balance")
    for entry in result.live:
        stake = format_crap(entry.stake)
        lines.append(f"still live: {entry.bet} (bet {entry.index + 1}), stake {stake} CRAP")
    label = "final balance" if result.start_balance is not None else "net result"
    lines.append(f"{label}: {format_crap(result.final_balance)} CRAP")
    return "\n".join(lines) + "\n"
