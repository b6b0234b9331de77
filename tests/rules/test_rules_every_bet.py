"""A win and a loss for every one of the 64 bet types, each worked by hand from its BET_RULES row.

Each case is a script (bets ``name:CRAP`` and dice ``a-b``, see rules_helpers), the bet it is
about, and what a player sees on the script's last roll: win (the profit) or lose (the stake).
Stakes are 10 CRAP unless the case says otherwise.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from rules_helpers import crap, play

from node.core.craps import Outcome
from node.core.craps.bettypes import SPECS, WHOLE_PAYS, paid, profit
from protocol.bets import BetType, parse_bet_name


class Case(NamedTuple):
    script: str
    bet: str
    outcome: str
    crap: str
    rule: str


def repeat(dice: str, times: int) -> str:
    return " ".join([dice] * times)


CASES = [
    # --- Line bets (pay 1:1)
    Case("pass:10 3-4", "pass:10", "win", "10", "Pass wins: come-out 7"),
    Case("pass:10 5-6", "pass:10", "win", "10", "Pass wins: come-out 11"),
    Case("pass:10 2-2 1-3", "pass:10", "win", "10", "Pass wins: point made"),
    Case("pass:10 1-1", "pass:10", "lose", "10", "Pass loses: come-out 2"),
    Case("pass:10 1-2", "pass:10", "lose", "10", "Pass loses: come-out 3"),
    Case("pass:10 6-6", "pass:10", "lose", "10", "Pass loses: come-out 12"),
    Case("pass:10 2-2 3-4", "pass:10", "lose", "10", "Pass loses: seven-out"),
    Case("dont-pass:10 1-2", "dont-pass:10", "win", "10", "DontPass wins: come-out 3"),
    Case("dont-pass:10 1-1", "dont-pass:10", "win", "10", "DontPass wins: come-out 2"),
    Case("dont-pass:10 2-2 3-4", "dont-pass:10", "win", "10", "DontPass wins: seven-out"),
    Case("dont-pass:10 3-4", "dont-pass:10", "lose", "10", "DontPass loses: come-out 7"),
    Case("dont-pass:10 5-6", "dont-pass:10", "lose", "10", "DontPass loses: come-out 11"),
    Case("dont-pass:10 2-2 1-3", "dont-pass:10", "lose", "10", "DontPass loses: point made"),
    Case("2-2 come:10 3-4", "come:10", "win", "10", "Come wins: next roll 7"),
    Case("2-2 come:10 5-6", "come:10", "win", "10", "Come wins: next roll 11"),
    Case("2-2 come:10 4-4 3-5", "come:10", "win", "10", "Come wins: later, its come point 8"),
    Case("2-2 come:10 1-1", "come:10", "lose", "10", "Come loses: next roll 2"),
    Case("2-2 come:10 1-2", "come:10", "lose", "10", "Come loses: next roll 3"),
    Case("2-2 come:10 6-6", "come:10", "lose", "10", "Come loses: next roll 12"),
    Case("2-2 come:10 4-4 3-4", "come:10", "lose", "10", "Come loses: later, a 7 before 8"),
    Case(
        "2-2 come:10 4-4 1-3 3-4",
        "come:10",
        "lose",
        "10",
        "Come on 8 loses to a come-out 7 (the 4 made the point, the table is at come-out)",
    ),
    Case("2-2 dont-come:10 1-2", "dont-come:10", "win", "10", "DontCome wins: next roll 3"),
    Case("2-2 dont-come:10 1-1", "dont-come:10", "win", "10", "DontCome wins: next roll 2"),
    Case("2-2 dont-come:10 4-4 3-4", "dont-come:10", "win", "10", "DontCome wins: 7 before 8"),
    Case(
        "2-2 dont-come:10 4-4 1-3 3-4",
        "dont-come:10",
        "win",
        "10",
        "DontCome on 8 wins on a come-out 7",
    ),
    Case("2-2 dont-come:10 3-4", "dont-come:10", "lose", "10", "DontCome loses: next roll 7"),
    Case("2-2 dont-come:10 5-6", "dont-come:10", "lose", "10", "DontCome loses: next roll 11"),
    Case("2-2 dont-come:10 4-4 2-6", "dont-come:10", "lose", "10", "DontCome loses: 8 before 7"),
    # --- Odds (true odds): stake × 2:1, 3:2, 6:5 (laid 1:2, 2:3, 5:6), rounded down
    Case("pass:10 2-2 odds-pass:30 1-3", "odds-pass:30", "win", "60", "OddsPass on 4 pays 2:1"),
    Case("pass:10 2-3 odds-pass:40 1-4", "odds-pass:40", "win", "60", "OddsPass on 5 pays 3:2"),
    Case("pass:10 3-3 odds-pass:50 1-5", "odds-pass:50", "win", "60", "OddsPass on 6 pays 6:5"),
    Case("pass:10 2-2 odds-pass:30 3-4", "odds-pass:30", "lose", "30", "OddsPass loses: 7"),
    Case(
        "dont-pass:10 2-2 odds-dont-pass:30 3-4",
        "odds-dont-pass:30",
        "win",
        "15",
        "OddsDontPass on 4 pays 1:2",
    ),
    Case(
        "dont-pass:10 2-3 odds-dont-pass:40 3-4",
        "odds-dont-pass:40",
        "win",
        "26.666666",
        "OddsDontPass on 5 pays 2:3: 40 × 2/3 rounds down to a base unit",
    ),
    Case(
        "dont-pass:10 3-3 odds-dont-pass:50 3-4",
        "odds-dont-pass:50",
        "win",
        "41.666666",
        "OddsDontPass on 6 pays 5:6, rounded down",
    ),
    Case(
        "dont-pass:10 2-2 odds-dont-pass:30 1-3",
        "odds-dont-pass:30",
        "lose",
        "30",
        "OddsDontPass loses: point made",
    ),
    Case(
        "2-2 come:10 4-1 odds-come-5:40 3-2",
        "odds-come-5:40",
        "win",
        "60",
        "OddsCome on 5 pays 3:2 with its Come",
    ),
    Case(
        "2-2 come:10 4-1 odds-come-5:40 3-4",
        "odds-come-5:40",
        "lose",
        "40",
        "OddsCome loses with its Come: a 7",
    ),
    Case(
        "2-2 dont-come:10 4-1 odds-dont-come-5:40 3-4",
        "odds-dont-come-5:40",
        "win",
        "26.666666",
        "OddsDontCome on 5 pays 2:3 with its DontCome",
    ),
    Case(
        "2-2 dont-come:10 4-1 odds-dont-come-5:40 3-2",
        "odds-dont-come-5:40",
        "lose",
        "40",
        "OddsDontCome loses: its come point 5",
    ),
    # --- Field: 2 pays 2:1, 12 pays 3:1; 3, 4, 9, 10, 11 pay 1:1; 5, 6, 7, 8 lose
    Case("field:10 1-1", "field:10", "win", "20", "Field: 2 pays 2:1"),
    Case("field:10 6-6", "field:10", "win", "30", "Field: 12 pays 3:1"),
    Case("field:10 1-2", "field:10", "win", "10", "Field: 3 pays 1:1"),
    Case("field:10 1-3", "field:10", "win", "10", "Field: 4 pays 1:1"),
    Case("field:10 4-5", "field:10", "win", "10", "Field: 9 pays 1:1"),
    Case("field:10 4-6", "field:10", "win", "10", "Field: 10 pays 1:1"),
    Case("field:10 5-6", "field:10", "win", "10", "Field: 11 pays 1:1"),
    Case("field:10 1-4", "field:10", "lose", "10", "Field: 5 loses"),
    Case("field:10 3-3", "field:10", "lose", "10", "Field: 6 loses"),
    Case("field:10 3-4", "field:10", "lose", "10", "Field: 7 loses"),
    Case("field:10 4-4", "field:10", "lose", "10", "Field: 8 loses"),
    # --- NextN: ((36 − ways) / ways) × 0.98 : 1, one roll
    Case("next-2:10 1-1", "next-2:10", "win", "343", "Next2: 35 × 0.98 = 34.3:1"),
    Case("next-3:10 1-2", "next-3:10", "win", "166.6", "Next3: 17 × 0.98 = 16.66:1"),
    Case("next-4:10 1-3", "next-4:10", "win", "107.8", "Next4: 11 × 0.98 = 10.78:1"),
    Case("next-5:10 2-3", "next-5:10", "win", "78.4", "Next5: 8 × 0.98 = 7.84:1"),
    Case("next-6:10 1-5", "next-6:10", "win", "60.76", "Next6: 31/5 × 0.98 = 6.076:1"),
    Case("next-7:10 3-4", "next-7:10", "win", "49", "Next7: 5 × 0.98 = 4.9:1"),
    Case("next-8:10 2-6", "next-8:10", "win", "60.76", "Next8: 31/5 × 0.98"),
    Case("next-9:10 3-6", "next-9:10", "win", "78.4", "Next9: 8 × 0.98"),
    Case("next-10:10 4-6", "next-10:10", "win", "107.8", "Next10: 11 × 0.98"),
    Case("next-11:10 5-6", "next-11:10", "win", "166.6", "Next11: 17 × 0.98"),
    Case("next-12:10 6-6", "next-12:10", "win", "343", "Next12: 35 × 0.98"),
    *(
        Case(f"next-{n}:10 {other}", f"next-{n}:10", "lose", "10", f"Next{n}: any other total")
        for n, other in [
            (2, "1-2"),
            (3, "1-1"),
            (4, "2-3"),
            (5, "1-3"),
            (6, "3-4"),
            (7, "3-3"),
            (8, "3-4"),
            (9, "4-4"),
            (10, "4-5"),
            (11, "6-6"),
            (12, "5-6"),
        ]
    ),
    # --- YesN: N before a 7 pays (6 / ways) × 0.98 : 1
    Case("yes-2:10 1-1", "yes-2:10", "win", "58.8", "Yes2: 6 × 0.98"),
    Case("yes-3:10 2-1", "yes-3:10", "win", "29.4", "Yes3: 3 × 0.98"),
    Case("yes-4:10 1-1 2-2", "yes-4:10", "win", "19.6", "Yes4: 2 × 0.98 (a 2 first: nothing)"),
    Case("yes-5:10 1-4", "yes-5:10", "win", "14.7", "Yes5: 3/2 × 0.98"),
    Case("yes-6:10 2-4", "yes-6:10", "win", "11.76", "Yes6: 6/5 × 0.98"),
    Case("yes-8:10 3-5", "yes-8:10", "win", "11.76", "Yes8: 6/5 × 0.98"),
    Case("yes-9:10 4-5", "yes-9:10", "win", "14.7", "Yes9: 3/2 × 0.98"),
    Case("yes-10:10 4-6", "yes-10:10", "win", "19.6", "Yes10: 2 × 0.98"),
    Case("yes-11:10 6-5", "yes-11:10", "win", "29.4", "Yes11: 3 × 0.98"),
    Case("yes-12:10 6-6", "yes-12:10", "win", "58.8", "Yes12: 6 × 0.98"),
    *(
        Case(f"yes-{n}:10 3-4", f"yes-{n}:10", "lose", "10", f"Yes{n}: a 7 first loses")
        for n in (2, 3, 4, 5, 6, 8, 9, 10, 11, 12)
    ),
    # --- NoN: a 7 before N pays (ways / 6) × 0.98 : 1 = stake × ways × 98 // 600
    Case("no-2:10 3-4", "no-2:10", "win", "1.633333", "No2: 10 × 1 × 98 // 600"),
    Case("no-3:10 3-4", "no-3:10", "win", "3.266666", "No3: 10 × 2 × 98 // 600"),
    Case("no-4:10 3-4", "no-4:10", "win", "4.9", "No4: 10 × 3 × 98 // 600"),
    Case("no-5:10 3-4", "no-5:10", "win", "6.533333", "No5: 10 × 4 × 98 // 600"),
    Case("no-6:10 3-4", "no-6:10", "win", "8.166666", "No6: 10 × 5 × 98 // 600"),
    Case("no-8:10 1-1 3-4", "no-8:10", "win", "8.166666", "No8: a 2 first changes nothing"),
    Case("no-9:10 3-4", "no-9:10", "win", "6.533333", "No9: 10 × 4 × 98 // 600"),
    Case("no-10:10 3-4", "no-10:10", "win", "4.9", "No10: 10 × 3 × 98 // 600"),
    Case("no-11:10 3-4", "no-11:10", "win", "3.266666", "No11: 10 × 2 × 98 // 600"),
    Case("no-12:10 3-4", "no-12:10", "win", "1.633333", "No12: 10 × 1 × 98 // 600"),
    *(
        Case(f"no-{n}:10 {d}", f"no-{n}:10", "lose", "10", f"No{n}: {n} first loses")
        for n, d in [
            (2, "1-1"),
            (3, "1-2"),
            (4, "2-2"),
            (5, "2-3"),
            (6, "1-5"),
            (8, "4-4"),
            (9, "3-6"),
            (10, "4-6"),
            (11, "5-6"),
            (12, "6-6"),
        ]
    ),
    # --- Hard ways: 4/10 pay 7:1, 6/8 pay 9:1; a 7 or the easy way loses
    Case("hard-4:10 2-2", "hard-4:10", "win", "70", "Hard4: 2-2 pays 7:1"),
    Case("hard-6:10 3-3", "hard-6:10", "win", "90", "Hard6: 3-3 pays 9:1"),
    Case("hard-8:10 4-4", "hard-8:10", "win", "90", "Hard8: 4-4 pays 9:1"),
    Case("hard-10:10 5-5", "hard-10:10", "win", "70", "Hard10: 5-5 pays 7:1"),
    Case("hard-4:10 1-3", "hard-4:10", "lose", "10", "Hard4: the easy way loses"),
    Case("hard-6:10 1-5", "hard-6:10", "lose", "10", "Hard6: the easy way loses"),
    Case("hard-8:10 3-4", "hard-8:10", "lose", "10", "Hard8: a 7 loses (a come-out 7 too)"),
    Case("hard-10:10 4-6", "hard-10:10", "lose", "10", "Hard10: the easy way loses"),
    # --- RepeaterN: N rolled k times before a 7
    Case("repeater-2:10 1-1 1-1", "repeater-2:10", "win", "400", "Repeater2: twice, 40:1"),
    Case("repeater-3:10 1-2 2-1 1-2", "repeater-3:10", "win", "500", "Repeater3: 3 times, 50:1"),
    Case(
        "repeater-4:10 2-2 1-3 3-1 2-2",
        "repeater-4:10",
        "win",
        "650",
        "Repeater4: 4 times, hard or easy, 65:1",
    ),
    Case("repeater-5:10 " + repeat("1-4", 5), "repeater-5:10", "win", "800", "Repeater5: 80:1"),
    Case("repeater-6:10 " + repeat("2-4", 6), "repeater-6:10", "win", "900", "Repeater6: 90:1"),
    Case("repeater-8:10 " + repeat("3-5", 6), "repeater-8:10", "win", "900", "Repeater8: 90:1"),
    Case("repeater-9:10 " + repeat("3-6", 5), "repeater-9:10", "win", "800", "Repeater9: 80:1"),
    Case("repeater-10:10 " + repeat("4-6", 4), "repeater-10:10", "win", "650", "Repeater10"),
    Case("repeater-11:10 5-6 6-5 5-6", "repeater-11:10", "win", "500", "Repeater11: 50:1"),
    Case("repeater-12:10 6-6 6-6", "repeater-12:10", "win", "400", "Repeater12: 40:1"),
    *(
        Case(
            f"repeater-{n}:10 {d} 3-4",
            f"repeater-{n}:10",
            "lose",
            "10",
            f"Repeater{n}: a 7 before the {k}th {n} loses",
        )
        for n, d, k in [
            (2, "1-1", 2),
            (3, "1-2", 3),
            (4, "2-2", 4),
            (5, "2-3", 5),
            (6, "1-5", 6),
            (8, "4-4", 6),
            (9, "3-6", 5),
            (10, "4-6", 4),
            (11, "5-6", 3),
            (12, "6-6", 2),
        ]
    ),
    # --- Series bets
    Case(
        "fire:10 2-2 2-2 2-3 2-3 3-3 3-3 4-4 4-4 2-2 3-4",
        "fire:10",
        "win",
        "240",
        "Fire: 4 different points made, then seven-out: 24:1",
    ),
    Case(
        "fire:10 2-2 2-2 2-3 2-3 3-3 3-3 2-2 3-4",
        "fire:10",
        "lose",
        "10",
        "Fire: 3 points at the seven-out lose",
    ),
    Case("bonus-small:10 1-1 1-2 2-2 2-3 3-3", "bonus-small:10", "win", "340", "BonusSmall 34:1"),
    Case(
        "bonus-small:10 1-1 1-2 2-2 2-3 3-4",
        "bonus-small:10",
        "lose",
        "10",
        "BonusSmall: a 7 before the 6 loses",
    ),
    Case("bonus-tall:10 4-4 4-5 5-5 5-6 6-6", "bonus-tall:10", "win", "340", "BonusTall 34:1"),
    Case("bonus-tall:10 4-4 3-4", "bonus-tall:10", "lose", "10", "BonusTall: a 7 loses"),
    Case(
        "bonus-all:10 1-1 1-2 2-2 2-3 3-3 4-4 4-5 5-5 5-6 6-6",
        "bonus-all:10",
        "win",
        "1750",
        "BonusAll: all ten totals, 175:1",
    ),
    Case("bonus-all:10 3-4", "bonus-all:10", "lose", "10", "BonusAll: a come-out 7 is a 7"),
    Case(
        "hot-roller:10 2-2 " + repeat("1-1", 14) + " 3-4",
        "hot-roller:10",
        "win",
        "20",
        "HotRoller: 15 rolls before the seven-out, 2:1",
    ),
    Case(
        "hot-roller:10 2-2 " + repeat("1-1", 13) + " 3-4",
        "hot-roller:10",
        "lose",
        "10",
        "HotRoller: 14 rolls lose",
    ),
    Case("twice-hard:10 2-2 2-2", "twice-hard:10", "win", "150", "TwiceHard: hard 4 twice, 15:1"),
    Case(
        "twice-hard:10 2-2 1-3 2-2 3-4",
        "twice-hard:10",
        "lose",
        "10",
        "TwiceHard: the easy 4 cancelled the pending hard 4, then a 7",
    ),
    Case(
        "ride-line:10 3-4 1-1 3-4 5-6 2-2 3-4",
        "ride-line:10",
        "win",
        "20",
        "RideLine: 3 pass-line wins (craps change nothing) at the seven-out, 2:1",
    ),
    Case("ride-line:10 3-4 3-4 2-2 3-4", "ride-line:10", "lose", "10", "RideLine: 2 wins lose"),
    Case("muggsy:10 3-4", "muggsy:10", "win", "20", "Muggsy: come-out 7, 2:1"),
    Case("muggsy:10 2-2 3-4", "muggsy:10", "win", "30", "Muggsy: point set, then a 7, 3:1"),
    Case("muggsy:10 5-6", "muggsy:10", "lose", "10", "Muggsy: come-out 11 loses"),
    Case("muggsy:10 2-2 1-1", "muggsy:10", "lose", "10", "Muggsy: a point, then not a 7"),
    Case(
        "replay:10 " + repeat("2-2", 7) + " 3-4",
        "replay:10",
        "win",
        "700",
        "Replay: point 4 made 3 times, then seven-out: 70:1",
    ),
    Case(
        "replay:10 2-2 2-2 2-2 2-2 2-3 2-3 3-3 3-3 2-2 3-4",
        "replay:10",
        "lose",
        "10",
        "Replay: the highest count is 2",
    ),
    Case(
        "different-doubles:10 1-1 2-2 3-3 3-4",
        "different-doubles:10",
        "win",
        "40",
        "DifferentDoubles: 3 kinds at a 7, 4:1",
    ),
    Case(
        "different-doubles:10 1-1 1-1 2-2 3-4",
        "different-doubles:10",
        "lose",
        "10",
        "DifferentDoubles: 2 kinds (1-1 twice counts once) lose",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.bet}|{c.rule}" for c in CASES])
def test_bet_settles_on_the_last_roll_as_bet_rules_say(case: Case) -> None:
    game = play(case.script)
    assert case.bet in game.settled, f"{case.bet} is still live after {case.script!r}"
    index, settlement = game.settled[case.bet]
    assert index == len(game.rolls) - 1, f"settled early, at roll {index}"
    assert settlement.outcome is Outcome(case.outcome)
    assert settlement.amount == crap(case.crap)
    if settlement.outcome is Outcome.WIN:
        assert settlement.credit == settlement.bet.stake + crap(case.crap)
    else:
        assert settlement.credit == 0


def test_every_bet_type_has_a_hand_worked_win_and_loss() -> None:
    seen: dict[BetType, set[str]] = {}
    for case in CASES:
        bet_type, _ = parse_bet_name(case.bet.split(":")[0])
        seen.setdefault(bet_type, set()).add(case.outcome)
    assert {bet for bet in BetType if seen.get(bet) != {"win", "lose"}} == set()


def test_the_integer_pay_tables_pay_what_the_fractions_do() -> None:
    # settle_roll pays a win from bettypes.WHOLE_PAYS (bettypes.paid), the exact ratios of SPECS
    for bet, spec in SPECS.items():
        assert set(WHOLE_PAYS[bet]) == set(spec.pays)
        for key, ratio in spec.pays.items():
            for stake in (1, 7, 99, crap(1), crap(3) + 1, 10**18 + 3):
                assert paid(bet, key, stake) == profit(stake, ratio)
        for count in range(50):
            reached = spec.reached(count)
            assert spec.tier(count) == (None if reached is None else spec.pays[reached])
            assert reached is None or reached <= count
