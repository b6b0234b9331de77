"""node/core/antientropy.py: what one replica offers another for each sender that differs."""

from __future__ import annotations

from node.core.antientropy import differing, first_difference, offer
from node.core.replica import Replica
from protocol.genesis import LOCAL
from tests.ledger_factory import Chain, feed, public_key

SINK = public_key("ae-sink")


def entry_of(r: Replica, sender: bytes) -> tuple[bytes, int, bytes, bytes] | None:
    return next((e for e in r.summary() if e[0] == sender), None)


def test_a_replica_behind_is_offered_the_judged_packets_it_lacks() -> None:
    a = Chain("ae-behind")
    for amount in range(1, 6):
        a.transfer(SINK, amount)
    ahead, behind = Replica(LOCAL), Replica(LOCAL)
    feed(ahead, a.frames)
    feed(behind, a.frames[:2])
    assert differing(ahead.summary(), behind.summary()) == [a.pub]
    got = offer(ahead, a.pub, entry_of(behind, a.pub))
    assert got.frames == a.frames[2:] and not got.bisect
    assert offer(behind, a.pub, entry_of(ahead, a.pub)).frames == []  # nothing to give back
    feed(behind, got.frames)
    assert differing(ahead.summary(), behind.summary()) == []


def test_equal_hwm_with_another_chain_calls_for_bisection_to_the_fork() -> None:
    a = Chain("ae-hidden")
    b = a.branch(0)
    a.transfer(SINK, 1)
    b.transfer(SINK, 11)  # another version of nonce 1, and the same bodies above it
    for chain in (a, b):
        chain.transfer(SINK, 2)
        chain.transfer(SINK, 3)
    left, right = Replica(LOCAL), Replica(LOCAL)
    feed(left, a.frames)
    feed(right, b.frames)
    got = offer(left, a.pub, entry_of(right, a.pub))
    assert got.bisect and got.frames == []
    d = first_difference(
        3, lambda n: left.chain_hash(a.pub, n), lambda n: right.chain_hash(a.pub, n)
    )
    assert d == 1
    mine, theirs = left.frame_of(a.pub, d), right.frame_of(a.pub, d)
    assert mine is not None and theirs is not None
    feed(right, [mine])
    feed(left, [theirs])
    assert left.fork_point(a.pub) == right.fork_point(a.pub) == 1
    assert differing(left.summary(), right.summary()) == []


def test_a_fork_proof_travels_with_the_prefix_below_it() -> None:
    a = Chain("ae-proof")
    a.transfer(SINK, 1)
    a.transfer(SINK, 2)
    b = a.branch(2)
    a.transfer(SINK, 3)
    b.transfer(SINK, 4)
    knows, fresh = Replica(LOCAL), Replica(LOCAL)
    feed(knows, [*a.frames, b.frame(3)])
    assert knows.fork_point(a.pub) == 3
    got = offer(knows, a.pub, None)
    assert got.frames[:2] == a.frames[:2] and sorted(got.frames[2:]) == sorted(
        [a.frame(3), b.frame(3)]
    )
    feed(fresh, got.frames)
    assert fresh.digest() == knows.digest()
    # the side holding the proof is sent nothing for that sender
    assert offer(fresh, a.pub, entry_of(knows, a.pub)).frames == knows.fork_frames(a.pub)
    assert offer(Replica(LOCAL), a.pub, entry_of(knows, a.pub)).frames == []
