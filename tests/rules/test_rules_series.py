"""Series bets and their tiers (BET_RULES "Series bets"): every top tier paid at once, the lower
tiers paid on the ending roll, counting from the next roll on, and placement mid-series."""

from __future__ import annotations

import pytest
from rules_helpers import crap, play

from node.core.craps import Outcome


def repeat(dice: str, times: int) -> str:
    return " ".join([dice] * times)


POINTS_4_5_6_8_9 = "2-2 2-2 2-3 2-3 3-3 3-3 4-4 4-4 4-5 4-5"


def settled(script: str, bet: str) -> tuple[int, Outcome, int]:
    game = play(script)
    index, settlement = game.settled[bet]
    return index, settlement.outcome, settlement.amount


# --------------------------------------------------------------------------- top tiers, at once


@pytest.mark.parametrize(
    ("script", "bet", "at", "profit", "rule"),
    [
        (f"fire:1 {POINTS_4_5_6_8_9} 5-5 5-5", "fire:1", 11, "999",
         "Fire: the 6th different point made pays 999:1 at once"),
        ("bonus-small:1 1-1 1-2 2-2 2-3 3-3", "bonus-small:1", 4, "34", "BonusSmall: all five"),
        ("bonus-tall:1 4-4 4-5 5-5 5-6 6-6", "bonus-tall:1", 4, "34", "BonusTall: all five"),
        ("bonus-all:1 1-1 1-2 2-2 2-3 3-3 4-4 4-5 5-5 5-6 6-6", "bonus-all:1", 9, "175",
         "BonusAll: all ten"),
        ("hot-roller:1 2-2 " + repeat("1-1", 40), "hot-roller:1", 40, "100",
         "HotRoller: the 41st roll pays 100:1 at once"),
        ("twice-hard:1 3-3 2-2 3-3", "twice-hard:1", 2, "15",
         "TwiceHard: a second hard 6 while hard 6 is pending"),
        ("ride-line:1 " + repeat("3-4", 5) + " 2-2 2-2", "ride-line:1", 6, "10",
         "RideLine: the 6th pass-line win (a point made) pays 10:1 at once"),
        ("replay:1 " + repeat("2-2", 10), "replay:1", 9, "1000",
         "Replay: point 4 made the 5th time pays 1000:1 at once"),
        ("different-doubles:1 1-1 2-2 3-3 4-4 5-5 6-6", "different-doubles:1", 5, "150",
         "DifferentDoubles: all six kinds"),
    ],
)  # fmt: skip
def test_top_tier_pays_at_once(script: str, bet: str, at: int, profit: str, rule: str) -> None:
    game = play(script)
    assert bet in game.settled, rule
    index, settlement = game.settled[bet]
    assert (index, settlement.outcome, settlement.amount) == (at, Outcome.WIN, crap(profit))
    assert at == len(game.rolls) - 1  # it did not wait for an ending roll


def test_several_top_tiers_reached_on_one_roll_all_pay_on_it() -> None:
    game = play("bonus-tall:1 different-doubles:1 hard-4:1 4-4 4-5 5-5 5-6 1-1 2-2 3-3 4-4 5-5 6-6")
    last = len(game.rolls) - 1
    for bet in ("bonus-tall:1", "different-doubles:1"):
        assert game.settled[bet][0] == last and game.settled[bet][1].outcome is Outcome.WIN
    assert game.settled["hard-4:1"][1].outcome is Outcome.WIN  # the 2-2 on the way


# ---------------------------------------------------------------- lower tiers, on the ending roll


@pytest.mark.parametrize(
    ("script", "bet", "profit"),
    [
        (f"fire:1 {POINTS_4_5_6_8_9} 2-2 3-4", "fire:1", "249"),
        ("hot-roller:1 2-2 " + repeat("1-1", 19) + " 3-4", "hot-roller:1", "2"),  # 20 rolls
        ("hot-roller:1 2-2 " + repeat("1-1", 20) + " 3-4", "hot-roller:1", "5"),  # 21 rolls
        ("hot-roller:1 2-2 " + repeat("1-1", 30) + " 3-4", "hot-roller:1", "15"),  # 31 rolls
        ("hot-roller:1 2-2 " + repeat("1-1", 39) + " 3-4", "hot-roller:1", "15"),  # 40 rolls
        ("ride-line:1 " + repeat("3-4", 4) + " 2-2 3-4", "ride-line:1", "4"),
        ("ride-line:1 " + repeat("3-4", 5) + " 2-2 3-4", "ride-line:1", "6"),
        ("replay:1 " + repeat("2-2", 8) + " 2-3 3-4", "replay:1", "400"),
        ("different-doubles:1 1-1 2-2 3-3 4-4 3-4", "different-doubles:1", "10"),
        ("different-doubles:1 1-1 2-2 3-3 4-4 5-5 3-4", "different-doubles:1", "30"),
    ],
)
def test_lower_tiers_pay_on_the_ending_roll(script: str, bet: str, profit: str) -> None:
    game = play(script)
    index, settlement = game.settled[bet]
    assert (index, settlement.outcome, settlement.amount) == (
        len(game.rolls) - 1, Outcome.WIN, crap(profit))  # fmt: skip


def test_hot_roller_counts_a_come_out_seven_but_not_the_seven_out() -> None:
    # 14 come-out 7s, a point, then the seven-out: 15 rolls counted
    game = play("hot-roller:1 " + repeat("3-4", 14) + " 2-2 3-4")
    assert game.settled["hot-roller:1"][1].amount == crap(2)


def test_replay_counts_the_highest_count_of_one_number() -> None:
    # 4 made twice, 5 twice, 6 three times: the highest count is 3
    script = "replay:1 2-2 2-2 2-2 2-2 2-3 2-3 2-3 2-3 3-3 3-3 3-3 3-3 3-3 3-3 2-2 3-4"
    assert settled(script, "replay:1")[1:] == (Outcome.WIN, crap(70))


def test_fire_counts_a_point_made_twice_once() -> None:
    script = "fire:1 2-2 2-2 2-2 2-2 2-3 2-3 3-3 3-3 4-4 4-4 2-2 3-4"
    assert settled(script, "fire:1")[1:] == (Outcome.WIN, crap(24))  # 4, 5, 6, 8


def test_twice_hard_an_easy_way_cancels_only_its_own_number() -> None:
    # hard 6 and hard 8 pending; an easy 8 cancels the 8; the hard 6 again wins
    game = play("twice-hard:1 3-3 4-4 2-6 3-3")
    assert game.settled["twice-hard:1"][0] == 3
    game = play("twice-hard:1 3-3 4-4 2-6 4-4 3-4")  # the 8 was cancelled: pending again, then 7
    assert game.settled["twice-hard:1"][1].outcome is Outcome.LOSE


def test_series_bets_count_from_the_next_roll_even_mid_series() -> None:
    # Fire placed at a come-out after points 4 and 5 were made counts only the points after it
    game = play("2-2 2-2 2-3 2-3 fire:1 2-2 2-2 3-3 3-3 4-4 4-4 2-2 3-4")
    assert game.settled["fire:1"][1].outcome is Outcome.LOSE  # 4, 6, 8: three points
    game = play("1-1 2-2 3-3 2-2 different-doubles:1 4-4 3-4")  # only the 4-4 counts
    assert game.settled["different-doubles:1"][1].outcome is Outcome.LOSE


def test_a_come_out_seven_does_not_end_seven_out_series() -> None:
    # Fire, HotRoller, RideLine and Replay end on a seven-out only
    game = play("fire:1 hot-roller:1 ride-line:1 replay:1 3-4")
    assert game.settled == {}
    # the Bonus bets, TwiceHard and DifferentDoubles end on any 7
    game = play("bonus-small:1 twice-hard:1 different-doubles:1 3-4")
    assert {s.outcome for _, s in game.settled.values()} == {Outcome.LOSE}
    assert len(game.settled) == 3


def test_muggsy_settles_on_its_second_roll_whatever_it_is() -> None:
    game = play("muggsy:1 2-2 2-2")  # the point made: not a 7, so it loses
    assert game.settled["muggsy:1"][0] == 1
    assert game.settled["muggsy:1"][1].outcome is Outcome.LOSE
