"""Process-wide settings for a long-running node: the cyclic garbage collector.

A replica keeps every judged packet in memory: a few small, long-lived objects per packet, most
of them out of the collector's view (``protocol.acyclic``), and no reference cycles on the
ingest path.  CPython's default collector thresholds (700, 10, 10) still scan the young objects
that stay tracked again and again (the ledger benchmark measures it:
``judge_default_gc_per_s`` against ``judge_per_s``).  :func:`tune_gc` raises the first threshold
so a collection runs once per :data:`GC_THRESHOLDS` ``[0]`` net allocations, and :func:`settle`
moves a freshly rebuilt ledger out of the scanned generations.  Cycles are still collected.
These are process-wide, so the library never calls them: the node daemon does at start, and so
does the benchmark harness (which reports the default-threshold figure beside it).
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["GC_THRESHOLDS", "settle", "tune_gc"]

GC_THRESHOLDS: Final = (50_000, 20, 10)
"""Net allocations before a young collection; young collections per middle one; middle ones
per full one (CPython also waits until a quarter of the heap is new before a full one)."""


def tune_gc() -> tuple[int, int, int]:
    """Set :data:`GC_THRESHOLDS`; return the thresholds that were in force."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    return before


def settle() -> None:
    """After loading a large long-lived state (a rebuild from the store): collect once, then
    freeze what survives so later collections do not scan it again."""
    gc.collect()
    gc.freeze()
