"""Rules benchmark: bets settled per second on a table-heavy roll mix, beside raw Ed25519 verify.

Owns one seeded mix: a table of 8 players betting every category (line, odds, one-roll, number
and series bets), up to 33 bets included before each roll (a full ``roll_open`` at 8 seats), and
the table state before each roll.  The timed operation settles each roll on a copy of its state
with :func:`node.core.craps.settle_roll`, as the judge step will; raw verify of as many signatures
runs interleaved with it, since every bet arrives in a signed packet.  Plain Python, no tricks.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nacl.signing

from benchmarks import Figures, Timer, raw_verify
from node.core.craps import (
    SPECS,
    BetRequest,
    Family,
    Limits,
    Roll,
    TableState,
    place,
    settle_roll,
)
from protocol.bets import COME_POINTS, BetType, may_place, needs_come_point
from protocol.constants import CRAP

__all__ = ["FULL", "QUICK", "Mix", "build_mix", "run", "settle_all"]

SEATS: Final = tuple(range(1, 9))
"""8 players."""
ENTRIES: Final = 33
"""Bets included before each roll at most: MAX_ENTRIES at 8 seats (TABLES.md §5)."""
SEED: Final = 20_250_113
LIMITS: Final = Limits(1 * CRAP, 100 * CRAP)
_CATEGORIES: Final = (
    (Family.LINE,),
    (Family.ODDS,),
    (Family.FIELD, Family.NEXT),
    (Family.YES, Family.NO, Family.HARD, Family.REPEATER),
    (Family.SERIES,),
)


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    rolls: int
    rounds: int
    chunk: int = 64
    min_chunk_seconds: float = 0.001


QUICK: Final = Plan(rolls=512, rounds=5)
FULL: Final = Plan(rolls=2_048, rounds=9, min_chunk_seconds=0.002)


@dataclass(frozen=True, slots=True)
class Mix:
    """The table before each roll, and the roll."""

    states: list[TableState]
    rolls: list[Roll]
    settled: int
    """Bets that settle over the whole mix."""


def _options(state: TableState, seat: int, families: tuple[Family, ...]) -> list[BetRequest]:
    options = []
    for bet in BetType:
        if SPECS[bet].family not in families:
            continue
        if needs_come_point(bet):
            backs = BetType.Come if bet is BetType.OddsCome else BetType.DontCome
            points = {b.number for b in state.bets if b.owner == seat and b.type is backs}
            options += [BetRequest(bet, CRAP, p) for p in sorted(COME_POINTS & points)]
        elif may_place(bet, state.point):
            options.append(BetRequest(bet, CRAP))
    return options


def build_mix(rolls: int, seed: int = SEED) -> Mix:
    """A seeded game of ``rolls`` rolls: before each, 33 bets of random players and categories
    (the checks release some, e.g. duplicates); stakes 1 to 100 CRAP, odds up to 3× CRAP 10."""
    rng = random.Random(seed)
    state = TableState(shooter=SEATS[0])
    states: list[TableState] = []
    dice: list[Roll] = []
    settled = 0
    count = 0
    for _ in range(rolls):
        for _ in range(ENTRIES):
            seat = rng.choice(SEATS)
            options = _options(state, seat, rng.choice(_CATEGORIES))
            if not options:
                continue
            shape = rng.choice(options)
            odds = SPECS[shape.type].family is Family.ODDS
            amount = rng.randint(1, 30) * CRAP if odds else rng.randint(1, 100) * CRAP
            place(state, (count,), seat, BetRequest(shape.type, amount, shape.come_point), LIMITS)
            count += 1
        roll = Roll(rng.randint(1, 6), rng.randint(1, 6))
        states.append(state.copy())
        dice.append(roll)
        settled += len(settle_roll(state, roll, SEATS).settlements)
    return Mix(states, dice, settled)


def settle_all(mix: Mix, lo: int, hi: int) -> int:
    """Settle rolls ``lo..hi-1``, each on a copy of its state; returns how many rolls."""
    for state, roll in zip(mix.states[lo:hi], mix.rolls[lo:hi], strict=True):
        settle_roll(state.copy(), roll, SEATS)
    return hi - lo


def _signatures(n: int) -> list[tuple[nacl.signing.VerifyKey, bytes, bytes]]:
    keys = [nacl.signing.SigningKey(bytes([i]) * 32) for i in range(1, 9)]
    checks = []
    for i in range(n):
        key = keys[i % len(keys)]
        message = i.to_bytes(8, "big") * 16
        checks.append((key.verify_key, message, key.sign(message).signature))
    return checks


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Measure settlement on the mix; ``size`` overrides the number of rolls.

    ``rules_settled_per_s`` is bets settled per second (the best round's rolls per second times
    the mix's settled bets per roll); ``rules_live_bets_per_s`` counts every live bet a roll
    decides, settled or not.  ``rules_settled_vs_verify`` divides it by raw Ed25519 verify.
    """
    plan = QUICK if quick else FULL
    rolls = plan.rolls if size is None else size
    say = progress if progress is not None else (lambda _message: None)
    say(f"rules: playing {rolls} rolls at 8 seats")
    mix = build_mix(rolls)
    checks = _signatures(rolls)
    timer = Timer(rolls, plan.chunk, plan.min_chunk_seconds)
    timer.add("settle", lambda lo, hi: settle_all(mix, lo, hi))
    timer.add("raw_verify", lambda lo, hi: raw_verify(checks[lo:hi]))
    say("rules: warming up")
    timer.warm_up()
    timer.repeat(plan.rounds, lambda message: say(f"rules: {message}"))
    best = {name: sample.best for name, sample in timer.samples.items()}
    live = statistics.fmean(len(state.bets) for state in mix.states)
    per_roll = mix.settled / rolls
    return {
        "rules_n_rolls": rolls,
        "rules_players": len(SEATS),
        "rules_live_bets_per_roll": round(live, 1),
        "rules_settled_per_roll": round(per_roll, 2),
        "rules_rolls_per_s": round(best["settle"], 1),
        "rules_settled_per_s": round(best["settle"] * per_roll, 1),
        "rules_live_bets_per_s": round(best["settle"] * live, 1),
        "rules_raw_verify_per_s": round(best["raw_verify"], 1),
        "rules_settled_vs_verify": round(best["settle"] * per_roll / best["raw_verify"], 4),
    }
