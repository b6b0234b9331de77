"""Placement: every release reason, the order of the checks (phase → limits → duplicate → odds
cap → risk cap → cover), odds caps and the odds minimum, and exposure, risk and cover
(BET_RULES "Table flow", TABLES.md §1, §4 step 6, §5 and §9)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from rules_helpers import LIMITS, crap, play, request

from node.core.craps import (
    EXPOSURE_RATIOS,
    BetRequest,
    Limits,
    LiveBet,
    Release,
    TableState,
    check,
    exposure,
    least_risk,
    place,
    risk,
    total_exposure,
)
from protocol.bets import BetType

BOND = crap(1_000)  # TABLES.md §9 default bond


def test_release_reasons_are_ordered_with_stable_names() -> None:
    assert [(r.value, r.label) for r in Release] == [
        (0, "seated"), (1, "phase"), (2, "limits"), (3, "duplicate"), (4, "odds_cap"),
        (5, "risk_cap"), (6, "cover")]  # fmt: skip


# --------------------------------------------------------------------------- phase


@pytest.mark.parametrize(
    ("script", "bet", "rule"),
    [
        ("2-2", "pass:10", "Pass: placed at come-out"),
        ("2-2", "dont-pass:10", "DontPass: placed at come-out"),
        ("", "come:10", "Come: placed in the point phase"),
        ("", "dont-come:10", "DontCome: placed in the point phase"),
        ("2-2", "fire:1", "series bets: placed before a come-out roll"),
        ("2-2", "replay:1", "series bets: placed before a come-out roll"),
        ("2-2", "repeater-6:1", "Repeater: any come-out"),
        ("pass:10", "odds-pass:10", "OddsPass: point phase (no odds on a come-out roll)"),
        ("2-2", "odds-pass:10", "OddsPass: with an open Pass"),
        ("dont-pass:10 2-2", "odds-pass:10", "OddsPass backs a Pass, not a DontPass"),
        ("pass:10 2-2", "odds-dont-pass:10", "OddsDontPass: with an open DontPass"),
        ("2-2 come:10 2-3", "odds-come-6:10", "OddsCome: with a Come on that come point"),
        ("2-2 come:10", "odds-come-5:10", "OddsCome: not on a travelling Come"),
        ("2-2 2@come:10 2-3", "odds-come-5:10", "OddsCome: the player's own Come"),
        ("2-2 dont-come:10 2-3", "odds-dont-come-6:10", "OddsDontCome: that come point"),
    ],
)
def test_a_bet_its_phase_does_not_allow_is_released_for_phase(
    script: str, bet: str, rule: str
) -> None:
    game = play(script)
    before = game.state.copy()
    assert game.bet(bet) is Release.PHASE, rule
    assert game.state == before  # a released bet leaves no trace in the table state


@pytest.mark.parametrize("bet", ["field:10", "next-7:10", "yes-4:10", "no-10:10", "hard-8:10"])
def test_any_phase_bets_are_placed_at_come_out_and_on_a_point(bet: str) -> None:
    assert isinstance(play(f"{bet}").placed[bet], LiveBet)
    assert isinstance(play(f"2-2 {bet}").placed[bet], LiveBet)


def test_odds_come_may_be_placed_at_come_out_and_is_working_there() -> None:
    # OddsCome: "any phase"; every bet is always working: a come-out 7 loses it with its Come
    game = play("2-2 come:10 2-3 1-3 odds-come-5:40")
    assert game.state.point is None and "odds-come-5:40" in game.placed
    game.play("3-4")
    assert [game.settled[t][1].outcome.value for t in ("come:10", "odds-come-5:40")] == [
        "lose", "lose"]  # fmt: skip


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("0.999999", Release.LIMITS), ("1", None), ("100", None), ("100.000001", Release.LIMITS)],
)
def test_table_limits_bound_every_bet_but_odds(amount: str, reason: Release | None) -> None:
    state = TableState()
    assert check(state, 1, request("field", amount), LIMITS) is reason


def test_odds_are_at_least_one_crap_and_bound_by_their_cap_not_by_max_bet() -> None:
    game = play("pass:100 3-3")  # point 6: 5× odds
    assert game.bet("odds-pass:0.999999") is Release.LIMITS
    placed = game.bet("odds-pass:500")  # above max_bet 100, within 5 × 100
    assert isinstance(placed, LiveBet) and placed.number == 6


def test_odds_minimum_is_one_crap_whatever_the_table_minimum() -> None:
    game = play("pass:10 3-3", limits=Limits(crap(5), crap(100)))
    assert isinstance(game.bet("odds-pass:1"), LiveBet)


# --------------------------------------------------------------------------- duplicates


def test_one_open_bet_per_player_and_type() -> None:
    game = play("pass:10 fire:1 2@pass:10")
    assert game.bet("pass:5") is Release.DUPLICATE
    assert game.bet("fire:2") is Release.DUPLICATE
    assert isinstance(game.placed["2@pass:10"], LiveBet)  # another player's is no duplicate


def test_one_odds_come_per_come_point() -> None:
    game = play("2-2 come:10 2-3 come:10 3-3 odds-come-5:10 odds-come-6:10")
    assert set(game.placed) >= {"odds-come-5:10", "odds-come-6:10"}
    assert game.bet("odds-come-5:20") is Release.DUPLICATE


def test_a_settled_bet_frees_its_place() -> None:
    game = play("field:10 1-4")
    assert isinstance(game.bet("field:5"), LiveBet)


# --------------------------------------------------------------------------- odds caps


@pytest.mark.parametrize(
    ("dice", "cap"), [("2-2", 3), ("5-5", 3), ("2-3", 4), ("4-5", 4), ("3-3", 5), ("4-4", 5)]
)
def test_odds_cap_is_3_4_5_times_the_backed_stake(dice: str, cap: int) -> None:
    for line, odds in (("pass", "odds-pass"), ("dont-pass", "odds-dont-pass")):
        game = play(f"{line}:10 {dice}")
        assert game.bet(f"{odds}:{10 * cap}.000001") is Release.ODDS_CAP
        assert isinstance(game.bet(f"{odds}:{10 * cap}"), LiveBet)


def test_come_odds_cap_reads_the_come_point_not_the_table_point() -> None:
    game = play("2-2 come:10 3-3")  # table point 4 (3×), come point 6 (5×)
    assert isinstance(game.bet("odds-come-6:50"), LiveBet)
    game2 = play("2-2 dont-come:10 3-3")
    assert game2.bet("odds-dont-come-6:50.000001") is Release.ODDS_CAP


def test_odds_are_bound_to_the_number_and_bet_at_inclusion() -> None:
    game = play("pass:10 2-3 odds-pass:40")
    odds = game.placed["odds-pass:40"]
    assert (odds.number, odds.backs) == (5, game.placed["pass:10"].id)


# --------------------------------------------------------------------------- check order


def test_phase_is_reported_before_limits() -> None:
    assert play("").bet("come:0.5") is Release.PHASE


def test_limits_are_reported_before_duplicate() -> None:
    assert play("pass:10").bet("pass:101") is Release.LIMITS


def test_duplicate_is_reported_before_the_odds_cap() -> None:
    assert play("pass:10 2-2 odds-pass:30").bet("odds-pass:31") is Release.DUPLICATE


def test_odds_cap_is_reported_before_the_risk_cap() -> None:
    game = play("pass:10 2-2", bond=crap(25))
    assert game.bet("odds-pass:31") is Release.ODDS_CAP
    assert game.bet("odds-pass:30") is Release.RISK_CAP


def test_risk_cap_is_reported_before_cover() -> None:
    assert play("", bond=crap(10), cover=0).bet("field:5") is Release.RISK_CAP
    assert play("", bond=crap(20), cover=0).bet("field:5") is Release.COVER


# --------------------------------------------------------------------------- exposure, risk, cover

EXPOSURE_BY_HAND = {
    # the largest profit ratio each bet can pay, read off BET_RULES
    **dict.fromkeys([BetType.Pass, BetType.DontPass, BetType.Come, BetType.DontCome], Fraction(1)),
    BetType.Field: Fraction(3),
    BetType.OddsPass: Fraction(2), BetType.OddsCome: Fraction(2),  # on 4/10
    BetType.OddsDontPass: Fraction(5, 6), BetType.OddsDontCome: Fraction(5, 6),  # on 6/8
    BetType.Hard4: Fraction(7), BetType.Hard10: Fraction(7),
    BetType.Hard6: Fraction(9), BetType.Hard8: Fraction(9),
    BetType.Fire: Fraction(999), BetType.BonusSmall: Fraction(34),
    BetType.BonusTall: Fraction(34), BetType.BonusAll: Fraction(175),
    BetType.HotRoller: Fraction(100), BetType.TwiceHard: Fraction(15),
    BetType.RideLine: Fraction(10), BetType.Muggsy: Fraction(3), BetType.Replay: Fraction(1000),
    BetType.DifferentDoubles: Fraction(150),
    BetType.Repeater2: Fraction(40), BetType.Repeater12: Fraction(40),
    BetType.Repeater3: Fraction(50), BetType.Repeater11: Fraction(50),
    BetType.Repeater4: Fraction(65), BetType.Repeater10: Fraction(65),
    BetType.Repeater5: Fraction(80), BetType.Repeater9: Fraction(80),
    BetType.Repeater6: Fraction(90), BetType.Repeater8: Fraction(90),
    **{BetType[f"Next{n}"]: Fraction(36 - w, w) * Fraction(98, 100)
       for n, w in [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (8, 5), (9, 4), (10, 3),
                    (11, 2), (12, 1)]},
    **{BetType[f"Yes{n}"]: Fraction(6, w) * Fraction(98, 100)
       for n, w in [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (8, 5), (9, 4), (10, 3), (11, 2),
                    (12, 1)]},
    **{BetType[f"No{n}"]: Fraction(w, 6) * Fraction(98, 100)
       for n, w in [(2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (8, 5), (9, 4), (10, 3), (11, 2),
                    (12, 1)]},
}  # fmt: skip


def test_exposure_table_is_the_largest_profit_ratio_of_every_bet() -> None:
    assert dict(EXPOSURE_RATIOS) == EXPOSURE_BY_HAND


@pytest.mark.parametrize(
    ("script", "bet", "expected"),
    [
        ("", "fire:1", "999"),
        ("", "replay:1", "1000"),
        ("", "no-2:10", "1.633333"),  # rounds down like a payout
        ("pass:10 2-2", "odds-pass:30", "60"),
        ("pass:10 2-3", "odds-pass:40", "60"),
        ("dont-pass:10 3-3", "odds-dont-pass:50", "41.666666"),
        ("2-2 come:10", "come:10", "10"),
    ],
)
def test_exposure_of_a_live_bet(script: str, bet: str, expected: str) -> None:
    game = play(f"{script} {bet}")
    assert exposure(game.placed[bet]) == crap(expected)


def test_exposure_never_rises_while_a_bet_is_live() -> None:
    game = play("fire:1 hot-roller:1 replay:1 2-2 come:10 2-2 2-3 2-3 3-3")
    start = {bet.id: exposure(bet) for bet in play("fire:1 hot-roller:1 replay:1").state.bets}
    for bet in game.state.bets:
        assert exposure(bet) <= start.get(bet.id, exposure(bet))


def test_risk_and_cover_sum_over_the_live_bets() -> None:
    game = play("pass:10 field:5 fire:1 2@hard-6:2")
    assert risk(game.state) == crap(10 + 10 + 5 + 15 + 1 + 999 + 2 + 18)
    assert total_exposure(game.state) == crap(10 + 15 + 999 + 18)


def test_tables_defaults_replay_never_fits_and_fire_fills_the_table() -> None:
    # TABLES.md §9 at bond 1,000 CRAP: Replay needs 1,001 CRAP of risk at 1 CRAP
    assert play("", bond=BOND).bet("replay:1") is Release.RISK_CAP
    assert least_risk(BetType.Replay, crap(1)) == crap(1_001) > BOND
    game = play("fire:1", bond=BOND)  # 1 + 999 = 1,000 CRAP: fits, and fills the table
    assert risk(game.state) == BOND
    assert game.bet("2@field:1") is Release.RISK_CAP


def test_tables_defaults_pass_100_with_5x_odds_on_6_does_not_fit() -> None:
    # Pass 100 (risk 200) + odds 500 at 6:5 (risk 1,100) = 1,300 CRAP > 1,000
    game = play("pass:100 3-3", bond=BOND)
    assert game.bet("odds-pass:500") is Release.RISK_CAP
    assert isinstance(game.bet("odds-pass:300"), LiveBet)  # 200 + 300 + 360 = 860


def test_cover_holds_the_sum_of_exposures_within_k() -> None:
    game = play("pass:10", cover=crap(12))
    assert game.bet("field:1") is Release.COVER  # 10 + 3 > 12
    assert isinstance(game.bet("no-4:2"), LiveBet)  # 10 + 0.98 ≤ 12


def test_a_request_must_be_well_formed() -> None:
    with pytest.raises(ValueError, match="come point"):
        BetRequest(BetType.OddsCome, crap(1))
    with pytest.raises(ValueError, match="no come point"):
        BetRequest(BetType.Pass, crap(1), 6)
    with pytest.raises(ValueError, match="positive"):
        BetRequest(BetType.Pass, 0)


def test_the_same_bet_id_cannot_go_live_twice() -> None:
    state = TableState()
    place(state, (1,), 1, request("pass", "1"), LIMITS)
    with pytest.raises(ValueError, match="already live"):
        place(state, (1,), 2, request("field", "1"), LIMITS)
