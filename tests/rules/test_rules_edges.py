"""House edges: the published values of BET_RULES come out of the engine's Markov chain, closed
forms worked by hand agree with it, a seeded simulation agrees with it, and the generated
table that ``bitcraps odds`` reads is exactly what the engine computes now."""

from __future__ import annotations

import importlib.util
import random
import sys
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from types import ModuleType

import pytest

from node.core.craps.edge_table import EDGES
from node.core.craps.edges import house_edge, render_edge_table, simulate_edge
from protocol.bets import BetType

ROOT = Path(__file__).resolve().parents[2]
SLOW = {BetType.Replay}  # its chain has over 100,000 states: about a minute
WAYS = {2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 5, 9: 4, 10: 3, 11: 2, 12: 1}
NUMBERS = (2, 3, 4, 5, 6, 8, 9, 10, 11, 12)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- published (BET_RULES)

PUBLISHED_EXACT = {
    BetType.Pass: Fraction(7, 495),
    BetType.DontPass: Fraction(3, 220),  # a push counted as a bet made
    BetType.Field: Fraction(1, 36),  # 2.778%
    BetType.Hard4: Fraction(1, 9),  # 11.111%
    BetType.Hard10: Fraction(1, 9),
    BetType.Hard6: Fraction(1, 11),  # 9.091%
    BetType.Hard8: Fraction(1, 11),
    BetType.OddsPass: Fraction(0),
    BetType.OddsDontPass: Fraction(0),
    BetType.OddsCome: Fraction(0),
    BetType.OddsDontCome: Fraction(0),
}
PUBLISHED_PERCENT = {
    BetType.Fire: "20.76",
    BetType.BonusSmall: "7.76",
    BetType.BonusTall: "7.76",
    BetType.BonusAll: "7.46",
}


@pytest.mark.parametrize("bet", list(PUBLISHED_EXACT))
def test_published_exact_edges_come_out(bet: BetType) -> None:
    assert house_edge(bet) == PUBLISHED_EXACT[bet]
    assert EDGES[bet] == PUBLISHED_EXACT[bet]


@pytest.mark.parametrize("bet", list(PUBLISHED_PERCENT))
def test_published_series_edges_come_out_to_their_printed_digits(bet: BetType) -> None:
    assert f"{float(house_edge(bet)) * 100:.2f}" == PUBLISHED_PERCENT[bet]


def test_come_and_dont_come_have_the_line_bets_edges() -> None:
    assert house_edge(BetType.Come) == Fraction(7, 495)
    assert house_edge(BetType.DontCome) == Fraction(3, 220)


# --------------------------------------------------------------------------- closed forms by hand


@pytest.mark.parametrize("n", NUMBERS)
def test_yes_and_no_edges_match_their_closed_form(n: int) -> None:
    w = WAYS[n]
    win = Fraction(w, w + 6)  # N before a 7
    yes_pays = Fraction(6, w) * Fraction(98, 100)
    no_pays = Fraction(w, 6) * Fraction(98, 100)
    assert house_edge(BetType[f"Yes{n}"]) == -(win * yes_pays - (1 - win))
    assert house_edge(BetType[f"No{n}"]) == -((1 - win) * no_pays - win)


@pytest.mark.parametrize("n", range(2, 13))
def test_next_edges_are_two_percent_of_the_win_chance(n: int) -> None:
    # one roll: wins w/36 × (36 − w)/w × 0.98, loses (36 − w)/36 → edge (36 − w)/36 × 0.02
    assert house_edge(BetType[f"Next{n}"]) == Fraction(36 - WAYS[n], 36) * Fraction(2, 100)


@pytest.mark.parametrize(
    ("n", "hits", "pays"),
    [(2, 2, 40), (3, 3, 50), (4, 4, 65), (5, 5, 80), (6, 6, 90), (8, 6, 90), (9, 5, 80),
     (10, 4, 65), (11, 3, 50), (12, 2, 40)],
)  # fmt: skip
def test_repeater_edges_match_their_closed_form(n: int, hits: int, pays: int) -> None:
    win = Fraction(WAYS[n], WAYS[n] + 6) ** hits
    assert house_edge(BetType[f"Repeater{n}"]) == -(win * pays - (1 - win))


def test_muggsy_edge_by_hand() -> None:
    # come-out 7 (6/36) wins 2; 2/3/11/12 (6/36) lose; a point (24/36) then 7 (1/6) wins 3
    value = (
        Fraction(6, 36) * 2
        - Fraction(6, 36)
        + Fraction(24, 36) * (Fraction(1, 6) * 3 - Fraction(5, 6))
    )
    assert house_edge(BetType.Muggsy) == -value == Fraction(1, 18)


def test_bonus_small_edge_by_hand() -> None:
    # Each of 2..6 must come before a 7: inclusion–exclusion over the subsets S of {2..6}
    # still missing: P(all before 7) = Σ_S (−1)^|S| × 6 / (6 + ways(S)).
    totals = (2, 3, 4, 5, 6)
    win = Fraction(0)
    for size in range(len(totals) + 1):
        for subset in combinations(totals, size):
            win += (-1) ** size * Fraction(6, 6 + sum(WAYS[t] for t in subset))
    assert house_edge(BetType.BonusSmall) == -(win * 34 - (1 - win))


@pytest.mark.parametrize("bet", [BetType.RideLine, BetType.Muggsy, BetType.Repeater4])
def test_a_seeded_simulation_agrees_with_the_chain(bet: BetType) -> None:
    mean, error = simulate_edge(bet, 6_000, random.Random(f"edges/{bet.name}"))
    assert abs(mean - float(house_edge(bet))) < 4 * error


def test_simulation_needs_two_bets() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        simulate_edge(BetType.Pass, 1, random.Random(0))


# --------------------------------------------------------------------------- the generated table


def test_edge_table_holds_every_bet_type_with_what_the_engine_computes_now() -> None:
    assert list(EDGES) == list(BetType)
    for bet in BetType:
        if bet not in SLOW:
            assert EDGES[bet] == house_edge(bet), bet.name


def test_edge_table_file_is_the_rendering_of_its_values() -> None:
    path = ROOT / "node" / "core" / "craps" / "edge_table.py"
    assert path.read_text(encoding="utf-8") == render_edge_table(dict(EDGES))


@pytest.mark.slow
def test_edge_table_replay_entry_is_what_the_engine_computes_now() -> None:
    for bet in SLOW:
        assert EDGES[bet] == house_edge(bet), bet.name


def test_generator_check_mode_fails_on_a_stale_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _load("gen_edges")
    stale = tmp_path / "edge_table.py"
    stale.write_text("stale\n", encoding="utf-8")
    monkeypatch.setattr(gen, "TARGET", stale)
    monkeypatch.setattr(gen, "house_edge", lambda bet: EDGES[bet])  # skip the minute of work
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == render_edge_table(dict(EDGES))
