"""Helpers for the rules tests: a small game driven by a script of bets and dice.

A script is a string of tokens: ``pass:10`` places a bet (CLI name : CRAP; ``2@pass:10`` for
seat 2), ``3-4`` rolls the dice.  The game keeps every settlement by the token that placed it
(a token placed twice is kept under its latest bet).
No assertions about the rules here: the tests make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.core.craps import (
    BetRequest,
    Limits,
    LiveBet,
    Release,
    Roll,
    RollResult,
    Settlement,
    TableState,
    place,
    settle_roll,
)
from protocol.amounts import parse_crap
from protocol.bets import parse_bet_name
from protocol.constants import CRAP

LIMITS = Limits(1 * CRAP, 100 * CRAP)
"""TABLES.md §9: bets of 1 to 100 CRAP."""


def crap(text: str | int) -> int:
    """CRAP as base units: ``crap("26.666666") == 26_666_666``."""
    return parse_crap(text)


def dice(text: str) -> Roll:
    first, second = text.split("-")
    return Roll(int(first), int(second))


def request(name: str, amount: str | int) -> BetRequest:
    bet_type, come_point = parse_bet_name(name)
    return BetRequest(bet_type, crap(amount), come_point)


@dataclass
class Game:
    """A table played from scripts; seats 1-7 are occupied."""

    limits: Limits = LIMITS
    bond: int | None = None
    cover: int | None = None
    state: TableState = field(default_factory=lambda: TableState(shooter=1))
    seats: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    rolls: list[RollResult] = field(default_factory=list)
    settled: dict[str, tuple[int, Settlement]] = field(default_factory=dict)
    """Placing token → (index of the roll that settled it, its settlement)."""
    placed: dict[str, LiveBet] = field(default_factory=dict)
    released: dict[str, Release] = field(default_factory=dict)
    count: int = 0
    """Bets tried so far: the next bet's id is ``(count,)``."""

    def bet(self, token: str) -> LiveBet | Release:
        """Place ``[seat@]name:crap``; keep it under the token."""
        owner = 1
        text = token
        if "@" in token:
            seat, text = token.split("@")
            owner = int(seat)
        name, amount = text.split(":")
        found = place(
            self.state,
            (self.count,),
            owner,
            request(name, amount),
            self.limits,
            bond=self.bond,
            cover=self.cover,
        )
        self.count += 1
        if isinstance(found, Release):
            self.released[token] = found
        else:
            self.placed[token] = found
        return found

    def roll(self, text: str) -> RollResult:
        result = settle_roll(self.state, dice(text), self.seats)
        index = len(self.rolls)
        self.rolls.append(result)
        by_id = {bet.id: token for token, bet in self.placed.items()}
        for settlement in result.settlements:
            self.settled[by_id[settlement.bet.id]] = (index, settlement)
        return result

    def play(self, script: str) -> Game:
        for token in script.split():
            if ":" in token:
                self.bet(token)
            else:
                self.roll(token)
        return self


def play(script: str, **options: object) -> Game:
    """A fresh game played from ``script``."""
    return Game(**options).play(script)  # type: ignore[arg-type]
