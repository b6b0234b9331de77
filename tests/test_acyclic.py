"""protocol.acyclic: what a node keeps per judged packet is out of the cycle collector's view."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import pytest

from benchmarks.tables import build_mix
from node.core.replica import Replica
from node.core.tables import TablesEngine
from protocol import acyclic
from protocol.acyclic import untracked
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL

native_only = pytest.mark.skipif(not acyclic.NATIVE, reason="untracked() is the identity here")


class _Plain:
    __slots__ = ("__weakref__", "value")

    def __init__(self, value: object) -> None:
        self.value = value


def test_untracked_returns_its_argument() -> None:
    value = _Plain(1)
    assert untracked(value) is value
    assert untracked(7) == 7  # not a container: nothing to untrack
    assert untracked(b"x") == b"x"


@native_only
def test_an_untracked_value_is_out_of_the_collectors_view_and_still_freed() -> None:
    value = _Plain((1, 2))
    assert gc.is_tracked(value)
    untracked(value)
    assert not gc.is_tracked(value)
    untracked(value)  # twice is harmless
    gone = weakref.ref(value)
    del value
    assert gone() is None  # reference counting frees it, as any object


@native_only
def test_a_judged_table_packet_leaves_few_objects_for_the_collector() -> None:
    """Records, escrow, live bets, the log's entries with their judgment and undo, and the key
    tuples they hold are values the collector need not scan: what it still tracks per judged
    packet is a host packet's table containers (about 0.6; about 30 when every value is
    tracked), however long the log grows."""
    mix = build_mix(2_000)
    half = len(mix.frames) // 2
    replica = Replica(LOCAL, engine=TablesEngine(), codec=FrameCodec(LOCAL.network_id))
    reasons = [r.reason for r in replica.receive_checked(mix.frames[:half], 0.0)]
    replica.take_events()  # as a node does after each batch
    gc.collect()
    before = len(gc.get_objects())
    reasons += [r.reason for r in replica.receive_checked(mix.frames[half:], 0.0)]
    replica.take_events()
    gc.collect()
    tracked = len(gc.get_objects()) - before
    assert reasons == mix.reasons
    assert tracked / (len(mix.frames) - half) < 1.5


def test_a_replica_dropped_frees_what_it_kept_out_of_the_collectors_view() -> None:
    """Untracked values are freed by reference counting once what holds them goes: a replica
    (itself a cycle the collector frees) leaves no memory behind, however often it is built."""
    mix = build_mix(600)
    codec = FrameCodec(LOCAL.network_id)

    def ingest() -> int:
        replica = Replica(LOCAL, engine=TablesEngine(), codec=codec)
        replica.receive_checked(mix.frames, 0.0)
        replica.take_events()
        return replica.supply

    ingest()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            ingest()
            gc.collect()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert left < 16_384  # one replica of this mix holds about 2 MB
