"""Process-wide collector settings of a long-running node (node.drivers.runtime)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from node.drivers.runtime import GC_THRESHOLDS, settle, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_gc_sets_the_node_thresholds_and_returns_the_old_ones(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    assert tune_gc() == (700, 10, 10)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.isenabled()  # cycles are still collected


def test_settle_freezes_what_survives_and_collects_cycles(restore_gc: None) -> None:
    class Node:
        other: object = None

    gc.disable()  # only settle() may collect the cycle below
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle, unreachable after del
        cycle = weakref.ref(a)
        del a, b
        kept = [Node() for _ in range(100)]
        before = gc.get_freeze_count()
        assert cycle() is not None
        settle()
    finally:
        gc.enable()
    assert cycle() is None
    assert gc.get_freeze_count() >= before + len(kept)
