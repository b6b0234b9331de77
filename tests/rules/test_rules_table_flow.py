"""The table flow of BET_RULES: pushes, Come bets moving to their come point, odds bound to the
bet they back (TABLES.md T31), settlement order within a roll, the phase and the shooter, bets
returned at stake, and the table state as a value (copy, equality, canonical encoding)."""

from __future__ import annotations

import msgpack
import pytest
from rules_helpers import Game, crap, play

from node.core.craps import (
    Event,
    Outcome,
    Roll,
    TableState,
    next_shooter,
    return_all,
    return_bet,
    return_bets,
    return_owner,
    seats_changed,
    settle_roll,
)
from protocol.bets import BetType

# --------------------------------------------------------------------------- pushes


def test_dont_pass_pushes_on_a_come_out_12() -> None:
    # Line bets, DontPass: push "come-out 12"
    game = play("dont-pass:10 6-6")
    index, settlement = game.settled["dont-pass:10"]
    assert (index, settlement.outcome, settlement.amount) == (0, Outcome.PUSH, 0)
    assert settlement.credit == crap(10)


def test_dont_come_pushes_on_its_next_roll_12() -> None:
    # Line bets, DontCome: push "next roll 12"
    game = play("2-2 dont-come:10 6-6")
    _, settlement = game.settled["dont-come:10"]
    assert (settlement.outcome, settlement.credit) == (Outcome.PUSH, crap(10))


def test_a_moved_dont_come_does_not_push_on_12() -> None:
    # "later, a 7 before its come point n": a 12 after the move is no decision
    game = play("2-2 dont-come:10 4-4 6-6")
    assert "dont-come:10" not in game.settled
    assert game.placed["dont-come:10"].id in {bet.id for bet in game.state.bets}


def test_dont_pass_does_not_push_on_a_12_in_the_point_phase() -> None:
    game = play("dont-pass:10 2-2 6-6")
    assert "dont-pass:10" not in game.settled


# --------------------------------------------------------------------------- come points


def test_come_moves_to_its_come_point_and_stays_whatever_the_phase() -> None:
    game = play("2-2 come:10 4-4")
    (moved,) = game.rolls[-1].moved
    assert (moved.type, moved.number) == (BetType.Come, 8)
    game.play("1-3")  # point 4 made: the table is at come-out, the Come stays on 8
    assert game.state.point is None
    assert "come:10" not in game.settled
    game.play("5-5 2-6")  # come-out 10 sets a point; then the Come's 8
    _, settlement = game.settled["come:10"]
    assert settlement.outcome is Outcome.WIN


def test_come_on_the_table_point_wins_with_the_point() -> None:
    game = play("2-2 come:10 1-3")  # the next roll 4 makes the point and moves the Come to 4
    assert game.rolls[-1].event is Event.POINT_MADE
    assert game.rolls[-1].moved[0].number == 4
    game.play("2-2 2-2")  # come-out 4 sets the point and wins the Come on 4
    assert game.settled["come:10"][0] == 2


def test_a_second_travelling_come_is_a_duplicate_but_one_per_come_point_is_not() -> None:
    # "only one travelling Come and one travelling DontCome at a time"
    game = play("2-2 come:10 come:5")
    assert game.released["come:5"].label == "duplicate"
    game.play("4-4 come:5")  # the first Come moved to 8: a new travelling Come is allowed
    assert "come:5" in game.placed
    game.play("dont-come:10 dont-come:5")
    assert game.released["dont-come:5"].label == "duplicate"


def test_odds_follow_the_bet_they_were_bound_to_t31() -> None:
    # TABLES.md T31: Come A on 6, a travelling Come B and OddsCome A' on 6; a 6 pays A and A'
    # together and moves B to 6 with no odds.
    game = play("2-2 come:10 4-2 odds-come-6:50 come:20")
    result = game.roll("3-3")
    paid = {game_token(game, s.bet.id): (s.outcome, s.amount) for s in result.settlements}
    assert paid == {
        "come:10": (Outcome.WIN, crap(10)),
        "odds-come-6:50": (Outcome.WIN, crap(60)),  # 6:5
    }
    (moved,) = result.moved
    assert moved.id == game.placed["come:20"].id and moved.number == 6
    assert [bet.type for bet in game.state.bets] == [BetType.Come]
    game.play("odds-come-6:100 4-2")  # new odds bind to B, 5× its 20
    assert game.settled["odds-come-6:100"][1].amount == crap(120)


def test_odds_on_a_dont_come_follow_it_when_a_travelling_dont_come_moves_t31() -> None:
    game = play("2-2 dont-come:10 4-2 odds-dont-come-6:50 dont-come:20")
    result = game.roll("3-3")  # the 6: DontCome A and its odds lose, B moves to 6
    lost = {game_token(game, s.bet.id) for s in result.settlements if s.outcome is Outcome.LOSE}
    assert lost == {"dont-come:10", "odds-dont-come-6:50"}
    assert [(b.type, b.number) for b in game.state.bets] == [(BetType.DontCome, 6)]


def test_a_come_moves_only_after_older_bets_of_its_step_settled() -> None:
    # Step 2 in wire-code order is Come (2) before OddsCome (80); the older OddsCome on 6 must
    # settle with the old Come on 6 before the travelling Come takes the number.
    game = play("2-2 come:10 3-3 odds-come-6:50 come:20 3-3")
    order = [game_token(game, s.bet.id) for s in game.rolls[-1].settlements]
    assert order == ["come:10", "odds-come-6:50"]
    assert game.state.bets[0].number == 6


def game_token(game: Game, bet_id: object) -> str:
    return next(token for token, bet in game.placed.items() if bet.id == bet_id)


# --------------------------------------------------------------------------- settlement order


def test_settlement_order_is_step_then_wire_code_then_placement_order() -> None:
    # BET_RULES "Settlement order within one roll": one-roll (Field 4, NextN 40-50, Muggsy 67),
    # then line/odds, then number bets, then series.
    game = play(
        "fire:1 yes-6:1 2@hard-6:1 no-6:1 2@pass:1 pass:1 muggsy:1 next-6:1 field:1 2@field:1 2-2"
    )
    assert game.state.point == 4
    assert [game_token(game, s.bet.id) for s in game.rolls[-1].settlements] == [
        "field:1", "2@field:1", "next-6:1"]  # fmt: skip
    game.play("3-4")  # seven-out: every bet left settles
    order = [game_token(game, s.bet.id) for s in game.rolls[-1].settlements]
    assert order == [
        "muggsy:1", "2@pass:1", "pass:1", "yes-6:1", "no-6:1", "2@hard-6:1", "fire:1"]  # fmt: skip


def test_every_roll_settles_the_same_way_from_equal_states() -> None:
    game = play("pass:10 field:5 fire:1 2-2 come:10 yes-8:3 4-4")
    twin = game.state.copy()
    first = settle_roll(game.state, Roll(2, 2), (1,))
    second = settle_roll(twin, Roll(2, 2), (1,))
    assert first == second
    assert game.state == twin


# --------------------------------------------------------------------------- phase and shooter


def test_phase_moves_only_on_point_set_point_made_and_seven_out() -> None:
    state = TableState()
    events = []
    for die1, die2 in [(1, 1), (3, 4), (2, 3), (1, 1), (3, 4), (2, 2), (1, 3)]:
        events.append((settle_roll(state, Roll(die1, die2)).event, state.point))
    assert events == [
        (Event.CRAPS, None),
        (Event.NATURAL, None),
        (Event.POINT_SET, 5),
        (Event.NO_DECISION, 5),
        (Event.SEVEN_OUT, None),
        (Event.POINT_SET, 4),
        (Event.POINT_MADE, None),
    ]


def test_shooter_passes_at_a_seven_out_only_ascending_and_wrapping() -> None:
    state = TableState(shooter=3)
    seats = (1, 3, 5)
    for dice in [(3, 4), (2, 2), (2, 2), (1, 1)]:  # come-out 7, point made, craps: no change
        settle_roll(state, Roll(*dice), seats)
    assert state.shooter == 3
    settle_roll(state, Roll(2, 2), seats)
    settle_roll(state, Roll(3, 4), seats)  # seven-out
    assert state.shooter == 5
    settle_roll(state, Roll(2, 2), seats)
    settle_roll(state, Roll(3, 4), seats)
    assert state.shooter == 1  # wraps


def test_first_shooter_is_the_lowest_seat_and_a_vacated_shooter_passes_on() -> None:
    state = TableState()
    seats_changed(state, ())
    assert state.shooter is None  # no player seated: no shooter
    seats_changed(state, (4, 2))
    assert state.shooter == 2
    seats_changed(state, (2, 4, 6))  # a join does not move it
    assert state.shooter == 2
    seats_changed(state, (4, 6))  # the shooter's seat vacated: the next one up
    assert state.shooter == 4
    seats_changed(state, (1, 2))  # 4 vacated, nothing above: wraps to the lowest
    assert state.shooter == 1
    assert next_shooter(6, ()) is None


def test_a_change_of_shooter_does_not_touch_bets() -> None:
    game = play("pass:10 2-2 come:5 3-4 pass:10")
    assert game.state.shooter == 2
    assert [bet.type for bet in game.state.bets] == [BetType.Pass]


# --------------------------------------------------------------------------- returned at stake


def test_return_bet_gives_the_stake_back_with_the_odds_bound_to_it() -> None:
    game = play("pass:10 field:5 2-2 odds-pass:30")
    returned = return_bet(game.state, game.placed["pass:10"].id)
    assert [(s.bet.type, s.outcome, s.credit, s.amount) for s in returned] == [
        (BetType.Pass, Outcome.RETURNED, crap(10), 0),
        (BetType.OddsPass, Outcome.RETURNED, crap(30), 0),
    ]
    assert game.state.bets == []  # the Field settled on the 4
    assert return_bet(game.state, (99,)) == ()


def test_return_bets_is_return_bet_of_each_in_turn() -> None:
    game = play("pass:10 2@pass:10 field:5 2-2 odds-pass:30 2@odds-pass:20 come:10 yes-8:3")
    placed = game.placed
    for names in (
        ["odds-pass:30", "pass:10", "come:10"],  # an odds bet before the bet it backs
        ["pass:10", "odds-pass:30", "2@pass:10"],  # … and after it (returned with it)
        ["field:5", "yes-8:3", "pass:10", "yes-8:3"],  # settled already; twice
    ):
        ids = [placed[name].id for name in names]
        one, each = game.state.copy(), game.state.copy()
        expected = [s for bet_id in ids for s in return_bet(each, bet_id)]
        assert list(return_bets(one, ids)) == expected
        assert one == each


def test_return_owner_and_return_all() -> None:
    game = play("pass:10 2@pass:10 3@fire:1 2@fire:1")
    assert {s.bet.owner for s in return_owner(game.state, 2)} == {2}
    assert {bet.owner for bet in game.state.bets} == {1, 3}
    everything = return_all(game.state)
    assert [s.credit for s in everything] == [crap(10), crap(1)]
    assert game.state.bets == []


# --------------------------------------------------------------------------- the state as a value


def test_state_copies_are_independent_and_compare_equal() -> None:
    game = play("pass:10 fire:1 2-2")
    copy = game.state.copy()
    assert copy == game.state and copy is not game.state
    game.play("2-2")
    assert copy != game.state


def test_state_encoding_is_canonical_msgpack_and_distinguishes_states() -> None:
    game = play("pass:10 fire:1 2-2 2@come:5 3-3")
    encoded = game.state.encode()
    data = msgpack.packb(encoded)
    assert msgpack.unpackb(data) == encoded
    twin = play("pass:10 fire:1 2-2 2@come:5 3-3")
    assert msgpack.packb(twin.state.encode()) == data
    twin.play("1-1")  # a 2 in the point phase changes none of these bets
    assert twin.state.encode() == encoded
    twin.play("3-3")
    assert twin.state.encode() != encoded


@pytest.mark.parametrize("bad", [(0, 3), (7, 1), (1, -1)])
def test_dice_outside_one_to_six_are_refused(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match=r"1\.\.6"):
        Roll(*bad)
