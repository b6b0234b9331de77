"""Properties over random play: every stake is accounted for (settled once, live, or released),
no payout exceeds its bet's exposure, risk and cover stay within their caps, odds settle with
the bet they back, and the bets the house-edge chain treats as phase-free really settle the same
in every phase.

Each example is one long game whose dice and bets come from a seeded ``random.Random``
(hypothesis picks the seed and the table's caps): three players bet whatever the phase allows,
often odds and line bets, and now and then anything at all, which the checks release.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from node.core.craps import (
    SPECS,
    BetId,
    BetRequest,
    Family,
    Limits,
    LiveBet,
    LiveIndex,
    Outcome,
    Release,
    Roll,
    Settlement,
    TableState,
    exposure,
    place,
    risk,
    settle_roll,
    total_exposure,
)
from node.core.craps.edges import ROLLS
from protocol.bets import COME_POINTS, BetType, may_place, needs_come_point
from protocol.constants import CRAP

LIMITS = Limits(1 * CRAP, 100 * CRAP)
SEATS = (1, 2, 3)
STEPS = 200
SEEDS = st.integers(0, 2**64)


def _placeable(state: TableState, owner: int) -> list[BetRequest]:
    """Bets ``owner`` could place now as far as the phase goes (odds behind its own bets)."""
    options = []
    for bet in BetType:
        if needs_come_point(bet):
            backs = BetType.Come if bet is BetType.OddsCome else BetType.DontCome
            points = {b.number for b in state.bets if b.owner == owner and b.type is backs}
            options += [BetRequest(bet, CRAP, p) for p in sorted(p for p in points if p)]
        elif may_place(bet, state.point):
            options.append(BetRequest(bet, CRAP))
    return options


def _game(rng: random.Random, state: TableState) -> Iterator[Roll | tuple[int, BetRequest]]:
    """The next step of a random game at ``state``: dice to roll, or (owner, bet) to place."""
    for _ in range(STEPS):
        kind = rng.choices(["bet", "roll", "any"], [45, 50, 5])[0]
        if kind == "roll":
            yield Roll(rng.randint(1, 6), rng.randint(1, 6))
            continue
        owner = rng.choice(SEATS)
        if kind == "any":
            bet_type = rng.choice(list(BetType))
            point = rng.choice(sorted(COME_POINTS)) if needs_come_point(bet_type) else None
            yield owner, BetRequest(bet_type, rng.randint(1, 700 * CRAP), point)
            continue
        options = _placeable(state, owner)
        odds = [o for o in options if SPECS[o.type].family is Family.ODDS]
        line = [o for o in options if SPECS[o.type].family is Family.LINE]
        shape = rng.choice(rng.choice([group for group in (options, odds, line) if group]))
        amount = rng.choice([rng.randint(1 * CRAP, 100 * CRAP), 1 * CRAP, 10 * CRAP, 50 * CRAP])
        yield owner, BetRequest(shape.type, amount, shape.come_point)


@given(
    SEEDS,
    st.sampled_from([None, 1_000 * CRAP, 150 * CRAP]),
    st.sampled_from([None, 10_000 * CRAP, 400 * CRAP]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_stake_is_settled_live_or_released_and_no_payout_exceeds_exposure(
    seed: int, bond: int | None, cover: int | None
) -> None:
    state = TableState(shooter=1)
    placed: dict[BetId, LiveBet] = {}
    released: set[BetId] = set()
    settled: dict[BetId, Settlement] = {}
    for number, step in enumerate(_game(random.Random(seed), state)):
        if isinstance(step, Roll):
            result = settle_roll(state, step, SEATS)
            ended = {s.bet.id: s for s in result.settlements}
            for settlement in result.settlements:
                bet_id = settlement.bet.id
                assert bet_id in placed and bet_id not in settled  # settles once, only if live
                settled[bet_id] = settlement
                assert 0 <= settlement.profit <= exposure(placed[bet_id])
                assert settlement.outcome is not Outcome.RETURNED
                if settlement.outcome is not Outcome.WIN:
                    assert settlement.profit == 0
                backs = settlement.bet.backs
                if backs is not None:  # odds settle on the same roll, the same way, as their bet
                    assert ended[backs].outcome is settlement.outcome
            for bet in state.bets:
                if bet.backs is not None:
                    assert state.find(bet.backs) is not None  # no odds without their bet
            continue
        owner, request = step
        found = place(state, (number,), owner, request, LIMITS, bond=bond, cover=cover)
        if isinstance(found, Release):
            released.add((number,))
            assert state.find((number,)) is None
        else:
            placed[found.id] = found
            assert found.stake == request.amount
        if bond is not None:
            assert risk(state) <= bond
        if cover is not None:
            assert total_exposure(state) <= cover
    event(f"settled: {min(len(settled) // 20 * 20, 60)}+")
    event(f"odds settled: {any(s.bet.backs for s in settled.values())}")
    live = {bet.id for bet in state.bets}
    assert live.isdisjoint(settled) and live.isdisjoint(released)
    assert set(placed) == live | set(settled)
    staked = sum(bet.stake for bet in placed.values())
    assert staked == sum(s.bet.stake for s in settled.values()) + sum(b.stake for b in state.bets)


@given(
    SEEDS,
    st.sampled_from([None, 1_000 * CRAP, 150 * CRAP]),
    st.sampled_from([None, 10_000 * CRAP, 400 * CRAP]),
)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_placing_through_a_live_index_is_placing_against_the_live_bets(
    seed: int, bond: int | None, cover: int | None
) -> None:
    """A table layer includes a roll's bets through one :class:`LiveIndex` made after the
    roll: each verdict, and the state, are those of placing against the live bets."""
    state, twin = TableState(shooter=1), TableState(shooter=1)
    index = LiveIndex.of(state)
    for number, step in enumerate(_game(random.Random(seed), twin)):
        if isinstance(step, Roll):
            settle_roll(state, step, SEATS)
            settle_roll(twin, step, SEATS)
            index = LiveIndex.of(state)
            continue
        owner, request = step
        found = place(state, (number,), owner, request, LIMITS, bond=bond, cover=cover, index=index)
        assert found == place(twin, (number,), owner, request, LIMITS, bond=bond, cover=cover)
        assert state == twin
        assert (index.totals.risk, index.totals.exposure) == (risk(state), total_exposure(state))
        assert index.ids == {bet.id for bet in state.bets}
        assert index.owned == {o: state.owned(o) for o in {bet.owner for bet in state.bets}}
        if state.bets:
            again = state.bets[-1]
            with pytest.raises(ValueError, match="already live"):
                place(state, again.id, owner, request, LIMITS, index=index)


PHASE_FREE = frozenset(bet for bet in BetType if not SPECS[bet].reads_phase)


@given(SEEDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_bets_that_do_not_read_the_phase_settle_the_same_in_every_phase(seed: int) -> None:
    # The house-edge chain lumps the phases of these bets (reads_phase False): check it is sound
    # for every live bet met in a random game, on every kind of roll.
    state = TableState()
    checked: set[tuple[BetType, int | None, tuple[int, ...]]] = set()
    for number, step in enumerate(_game(random.Random(seed), state)):
        if not isinstance(step, Roll):
            place(state, (number,), step[0], step[1], LIMITS)
            continue
        for bet in state.bets:
            shape = (bet.type, bet.number, bet.tracker)
            if bet.type not in PHASE_FREE or bet.backs is not None or shape in checked:
                continue
            checked.add(shape)
            for _, roll in ROLLS:
                seen = set()
                for point in (None, 4, 5, 6, 8, 9, 10):
                    alone = TableState(point=point, bets=[bet])
                    result = settle_roll(alone, roll)
                    seen.add((result.settlements, tuple(alone.bets)))
                assert len(seen) == 1, (bet, roll)
        settle_roll(state, step)
    event(f"bet states checked: {min(len(checked) // 25 * 25, 75)}+")


@given(SEEDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_odds_are_decided_after_the_bet_they_back_whatever_their_placement_order(
    seed: int,
) -> None:
    """An odds bet reads its bound bet's outcome of the same roll: settled from a state whose
    placement order puts every odds bet first (no placement builds one; a decoded state could
    hold one), every bet ends or stays as it does in placement order."""
    state = TableState(shooter=1)
    odds_met = 0
    for number, step in enumerate(_game(random.Random(seed), state)):
        if not isinstance(step, Roll):
            place(state, (number,), step[0], step[1], LIMITS)
            continue
        odds_first = TableState(state.point, state.shooter, [], state.next_seq)
        for bet in state.bets:  # every odds bet numbered before every other bet
            seq = bet.seq - state.next_seq if bet.backs is not None else bet.seq
            odds_first.bets.append(
                LiveBet(
                    bet.id, bet.owner, bet.type, bet.stake, seq, bet.number, bet.backs, bet.tracker
                )
            )
        odds_first.bets.sort(key=lambda bet: bet.seq)
        odds_met += sum(bet.backs is not None for bet in state.bets)
        expected = settle_roll(state, step, SEATS)
        found = settle_roll(odds_first, step, SEATS)
        assert {s.bet.id: (s.outcome, s.profit) for s in found.settlements} == {
            s.bet.id: (s.outcome, s.profit) for s in expected.settlements
        }
        assert sorted(bet.id for bet in odds_first.bets) == sorted(bet.id for bet in state.bets)
    event(f"odds bets settled from a state that lists them first: {min(odds_met // 10 * 10, 50)}+")
