"""The rules benchmark (benchmarks/rules.py): its mix is the table-heavy game it claims to be,
the same on every build, and its figures come out of ``python -m benchmarks`` (no timing
asserts)."""

from __future__ import annotations

import math

from benchmarks import load
from benchmarks.rules import ENTRIES, SEATS, build_mix, settle_all
from node.core.craps import SPECS, Family, settle_roll

KEYS = (
    "rules_rolls_per_s",
    "rules_settled_per_s",
    "rules_live_bets_per_s",
    "rules_raw_verify_per_s",
    "rules_settled_vs_verify",
    "rules_live_bets_per_roll",
    "rules_settled_per_roll",
)


def test_mix_has_8_players_every_category_and_at_most_33_new_bets_per_roll() -> None:
    mix = build_mix(120)
    families = set()
    owners = set()
    for before, after in zip(mix.states, mix.states[1:], strict=False):
        new = {bet.id for bet in after.bets} - {bet.id for bet in before.bets}
        assert len(new) <= ENTRIES
    for state in mix.states:
        for bet in state.bets:
            families.add(SPECS[bet.type].family)
            owners.add(bet.owner)
    assert families == set(Family)
    assert owners == set(SEATS)
    assert sum(len(s.bets) for s in mix.states) / len(mix.states) > 30  # table-heavy


def test_mix_is_the_same_on_every_build_and_settling_leaves_it_untouched() -> None:
    first, second = build_mix(40), build_mix(40)
    assert first.states == second.states and first.rolls == second.rolls
    before = [state.copy() for state in first.states]
    assert settle_all(first, 0, 40) == 40
    assert first.states == before
    settled = sum(
        len(settle_roll(s.copy(), r, SEATS).settlements)
        for s, r in zip(first.states, first.rolls, strict=True)
    )
    assert settled == first.settled


def test_run_reports_every_figure_as_a_positive_number() -> None:
    figures = load("rules").run(quick=True, size=64)
    for key in KEYS:
        value = figures[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key
    assert figures["rules_n_rolls"] == 64 and figures["rules_players"] == 8
