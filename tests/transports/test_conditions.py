"""Tests for transports/conditions.py: the pure per-datagram decision and partitions (no Trio)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transports.base import DropReason
from transports.conditions import PERFECT, Fate, Link, LinkConditions, Partitions

A = ("mem", 1)
B = ("mem", 2)
C = ("mem", 3)
D = ("mem", 4)


def send_many(link: Link, count: int, size: int = 100, seed: int = 7) -> list[Fate]:
    rng = random.Random(seed)
    return [link.transmit(size, now=float(i) * 0.001, rng=rng) for i in range(count)]


def test_perfect_link_delivers_at_once_and_draws_nothing() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    fate = Link(PERFECT).transmit(1200, now=3.5, rng=rng)
    assert fate == Fate((3.5,))
    assert fate.delivered
    assert rng.getstate() == state


def test_latency_is_added_exactly() -> None:
    fate = Link(LinkConditions(latency=0.25)).transmit(10, now=2.0, rng=random.Random(0))
    assert fate.arrivals == (2.25,)


def test_jitter_stays_within_its_bound_and_varies() -> None:
    link = Link(LinkConditions(latency=0.1, jitter=0.05))
    delays = [f.arrivals[0] - i * 0.001 for i, f in enumerate(send_many(link, 500))]
    assert all(0.1 - 1e-9 <= d < 0.15 + 1e-9 for d in delays)
    assert max(delays) - min(delays) > 0.04


def test_loss_rate_of_a_seeded_run_is_near_the_probability() -> None:
    fates = send_many(Link(LinkConditions(loss=0.2)), 10_000)
    lost = sum(f.dropped is DropReason.LOSS for f in fates)
    assert 1_800 < lost < 2_200  # 0.2 ± 5 standard deviations (40)
    assert all(f.arrivals == () for f in fates if f.dropped is not None)


def test_same_seed_same_fates() -> None:
    conditions = LinkConditions(latency=0.01, jitter=0.01, loss=0.3, duplicate=0.2, reorder=0.1,
                                reorder_delay=0.5)  # fmt: skip
    assert send_many(Link(conditions), 300, seed=5) == send_many(Link(conditions), 300, seed=5)
    assert send_many(Link(conditions), 300, seed=5) != send_many(Link(conditions), 300, seed=6)


def test_duplicate_makes_a_second_copy_with_its_own_delay() -> None:
    fates = send_many(Link(LinkConditions(latency=0.01, jitter=0.01, duplicate=1.0)), 50)
    assert all(len(f.arrivals) == 2 for f in fates)
    assert any(f.arrivals[0] != f.arrivals[1] for f in fates)
    rate = sum(len(f.arrivals) == 2 for f in send_many(Link(LinkConditions(duplicate=0.1)), 5_000))
    assert 350 < rate < 650


def test_reorder_holds_some_datagrams_back_so_they_arrive_after_later_ones() -> None:
    link = Link(LinkConditions(latency=0.01, reorder=0.3, reorder_delay=0.1))
    arrivals = [f.arrivals[0] for f in send_many(link, 200)]
    assert arrivals != sorted(arrivals)
    held = sum(a - i * 0.001 > 0.01 + 1e-9 for i, a in enumerate(arrivals))
    assert 30 < held < 90  # ~0.3 of 200
    assert all(0.01 - 1e-9 <= a - i * 0.001 < 0.11 for i, a in enumerate(arrivals))


def test_bandwidth_queues_datagrams_one_transmission_time_apart() -> None:
    link = Link(LinkConditions(latency=0.5, bandwidth=10_000))
    rng = random.Random(0)
    fates = [link.transmit(1_000, now=0.0, rng=rng) for _ in range(5)]
    assert [f.arrivals[0] for f in fates] == pytest.approx([0.6, 0.7, 0.8, 0.9, 1.0])
    assert link.queued_bytes(0.0) == pytest.approx(5_000)
    assert link.queued_bytes(0.25) == pytest.approx(2_500)
    assert link.queued_bytes(0.5) == 0.0
    later = link.transmit(1_000, now=2.0, rng=rng)  # the queue drained meanwhile
    assert later.arrivals[0] == pytest.approx(2.6)


def test_full_queue_tail_drops_and_idle_link_takes_one_datagram() -> None:
    link = Link(LinkConditions(bandwidth=10_000, queue_bytes=3_000))
    rng = random.Random(0)
    fates = [link.transmit(1_000, now=0.0, rng=rng) for _ in range(5)]
    assert [f.dropped for f in fates] == [None, None, None, DropReason.QUEUE, DropReason.QUEUE]
    tiny = Link(LinkConditions(bandwidth=10_000, queue_bytes=0))
    assert tiny.transmit(1_200, now=0.0, rng=rng).delivered
    assert tiny.transmit(1_200, now=0.0, rng=rng).dropped is DropReason.QUEUE
    assert tiny.transmit(1_200, now=0.12, rng=rng).delivered


def test_lost_datagrams_still_use_their_share_of_the_bandwidth() -> None:
    link = Link(LinkConditions(bandwidth=1_000, loss=1.0))
    assert link.transmit(100, now=0.0, rng=random.Random(0)).dropped is DropReason.LOSS
    assert link.busy_until == pytest.approx(0.1)


def test_mtu_drops_longer_datagrams_only() -> None:
    link = Link(LinkConditions(mtu=182))
    rng = random.Random(0)
    assert link.transmit(182, now=0.0, rng=rng).delivered
    assert link.transmit(183, now=0.0, rng=rng) == Fate((), DropReason.MTU)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"loss": 1.5}, "loss must be a probability"),
        ({"duplicate": -0.1}, "duplicate must be a probability"),
        ({"latency": -1.0}, "latency must be a finite"),
        ({"jitter": float("inf")}, "jitter must be a finite"),
        ({"bandwidth": 0.0}, "bandwidth must be > 0"),
        ({"queue_bytes": -1}, "queue_bytes must be >= 0"),
        ({"mtu": 0}, "mtu must be >= 1"),
    ],
)
def test_conditions_refuse_impossible_values(knobs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkConditions(**knobs)  # type: ignore[arg-type]


def test_partitions_split_listed_groups_and_keep_the_rest_together() -> None:
    assert not Partitions().active
    parts = Partitions()
    assert parts.reachable(A, C)
    parts.split([A, B], [C])
    assert parts.active
    assert parts.reachable(A, B) and parts.reachable(B, A)
    assert not parts.reachable(A, C) and not parts.reachable(C, B)
    assert not parts.reachable(A, D)  # D is in no group: the implicit rest
    assert not parts.reachable(C, D)
    assert parts.reachable(D, ("mem", 5))
    parts.heal()
    assert parts.reachable(A, C)
    assert parts.reachable(A, D)


def test_an_address_in_two_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="more than one group"):
        Partitions().split([A, B], [B])


probability = st.sampled_from([0.0, 0.1, 0.5, 1.0])
seconds = st.sampled_from([0.0, 0.001, 0.05, 1.0])
conditions = st.builds(
    LinkConditions,
    latency=seconds,
    jitter=seconds,
    loss=probability,
    duplicate=probability,
    reorder=probability,
    reorder_delay=seconds,
    bandwidth=st.sampled_from([None, 1_000.0, 100_000.0]),
    queue_bytes=st.sampled_from([0, 2_000, 65_536]),
    mtu=st.sampled_from([None, 182, 1_200]),
)
sends = st.lists(st.tuples(st.integers(1, 1_200), st.floats(0.0, 0.5)), min_size=1, max_size=40)


@given(conditions, sends, st.integers(0, 2**32))
def test_every_fate_respects_the_link_conditions(
    c: LinkConditions, gaps_and_sizes: list[tuple[int, float]], seed: int
) -> None:
    link = Link(c)
    rng = random.Random(seed)
    now = 0.0
    last_first_arrival = -1.0
    for size, gap in gaps_and_sizes:
        now += gap
        fate = link.transmit(size, now, rng)
        assert (fate.dropped is None) == fate.delivered
        if fate.dropped is DropReason.MTU:
            assert c.mtu is not None and size > c.mtu
            continue
        if fate.dropped is DropReason.QUEUE:
            assert c.bandwidth is not None
            continue
        wire = size / c.bandwidth if c.bandwidth is not None else 0.0
        assert len(fate.arrivals) <= 2
        for at in fate.arrivals:
            assert at >= now + wire + c.latency - 1e-9
            if c.bandwidth is None:
                assert at <= now + c.latency + c.jitter + c.reorder_delay + 1e-9
        if fate.arrivals and not c.jitter and not (c.reorder and c.reorder_delay):
            assert fate.arrivals[0] >= last_first_arrival - 1e-9  # FIFO without random delays
            last_first_arrival = fate.arrivals[0]
