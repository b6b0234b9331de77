"""Process-wide collector settings of a long-running node (node.drivers.runtime)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.drivers.runtime import GC_THRESHOLDS, tune_gc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_tune_gc_sets_the_node_thresholds_and_returns_the_old_ones(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    assert tune_gc() == (700, 10, 10)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.isenabled()  # cycles are still collected


SETTLE = textwrap.dedent(
    """
    import gc
    import weakref

    from node.drivers.runtime import settle


    class Node:
        other: object = None


    gc.disable()  # only settle() may collect the cycle below
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle, unreachable after del
    cycle = weakref.ref(a)
    del a, b
    kept = [Node() for _ in range(100)]
    before = gc.get_freeze_count()
    assert cycle() is not None
    settle()
    gc.enable()
    assert cycle() is None, "settle() did not collect the cycle"
    assert gc.get_freeze_count() >= before + len(kept), "settle() did not freeze what survived"
    print("ok")
    """
)


def test_settle_freezes_what_survives_and_collects_cycles() -> None:
    """Run in a fresh interpreter: ``gc.freeze`` moves every live object of the process to the
    permanent generation, which no other test should inherit."""
    done = subprocess.run(
        [sys.executable, "-c", SETTLE],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
