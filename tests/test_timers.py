"""The replica's timers: pulls asked again with back-off, fork witnesses given up.

Time enters only through ``receive(frame, now)`` and ``handle_timer(now)``; ``next_timer()``
says when there is work.  Exact, because nothing reads a clock.
"""

from __future__ import annotations

from node.core.pulls import RETRY_FIRST, RETRY_MAX, Want
from node.core.replica import WITNESS_TIMEOUT, Replica
from protocol.genesis import LOCAL
from tests.ledger_factory import Chain, public_key, take_wants

SINK = public_key("timers-sink")


def test_a_gap_is_asked_again_with_back_off_until_it_arrives() -> None:
    a = Chain("timers-gap")
    for amount in (1, 2, 3):
        a.transfer(SINK, amount)
    r = Replica(LOCAL)
    r.receive(a.frame(3), 100.0)
    assert take_wants(r) == [Want(a.pub, 1, 2)]
    assert r.next_timer() == 100.0 + RETRY_FIRST
    r.handle_timer(100.0 + RETRY_FIRST - 0.5)
    assert take_wants(r) == []  # not due yet
    r.handle_timer(100.0 + RETRY_FIRST)
    assert take_wants(r) == [Want(a.pub, 1, 2)]
    assert r.next_timer() == 100.0 + 3 * RETRY_FIRST  # twice as long the next time
    r.receive(a.frame(1), 103.0)
    r.handle_timer(100.0 + 3 * RETRY_FIRST)
    assert take_wants(r) == [Want(a.pub, 2, 2)]  # only what is still missing
    r.receive(a.frame(2), 107.0)
    assert r.hwm(a.pub) == 3
    assert r.next_timer() is None  # nothing missing, nothing to do


def test_back_off_stops_growing_at_its_maximum() -> None:
    a = Chain("timers-max")
    a.transfer(SINK, 1)
    a.transfer(SINK, 2)
    r = Replica(LOCAL)
    r.receive(a.frame(2), 0.0)
    now, gaps = 0.0, []
    for _ in range(12):
        due = r.next_timer()
        assert due is not None
        gaps.append(due - now)
        now = due
        r.handle_timer(now)
    assert gaps[:3] == [RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST]
    assert max(gaps) == RETRY_MAX and gaps[-1] == RETRY_MAX


def test_a_fork_witness_is_given_up_when_its_version_never_comes() -> None:
    a, other = Chain("timers-witness"), Chain("timers-witness")
    a.transfer(SINK, 1)
    a.transfer(SINK, 2)
    other.transfer(SINK, 9)  # another version of nonce 1, never delivered
    other.transfer(SINK, 10)  # its nonce 2 names it: a fork witness
    r = Replica(LOCAL)
    r.receive(a.frame(1), 0.0)
    assert r.receive(other.frame(2), 5.0).why == "fork_witness"
    assert Want(a.pub, 1, 1, other.h(1)) in take_wants(r)
    assert r.footprint()["held"] == 1
    r.handle_timer(5.0 + WITNESS_TIMEOUT - 1)
    assert r.footprint()["held"] == 1
    r.handle_timer(5.0 + WITNESS_TIMEOUT)
    assert r.footprint()["held"] == 0 and r.footprint()["pull_marks"] == 0
    assert r.counters()["evicted_witness"] == 1
    assert r.next_timer() is None
    # given up, not banned: the same witness can come again
    assert r.receive(other.frame(2), 60.0).why == "fork_witness"


def test_an_evicted_packet_leaves_no_timer_behind() -> None:
    r = Replica(LOCAL, held_cap=1)
    first, second = Chain("timers-evict-1"), Chain("timers-evict-2")
    for chain in (first, second):
        chain.transfer(SINK, 1)
        chain.transfer(SINK, 2)
        chain.transfer(SINK, 3)
    r.receive(first.frame(3), 0.0)
    r.receive(second.frame(2), 0.0)  # nearer its HWM: the other one is evicted
    assert r.footprint()["held"] == 1
    assert [w.sender for w in take_wants(r)] == [first.pub, second.pub]
    r.handle_timer(RETRY_FIRST)
    assert take_wants(r) == [Want(second.pub, 1, 1)]  # the evicted packet's gap is not asked
