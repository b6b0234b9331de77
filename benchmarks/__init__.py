"""Benchmarks of the node, each figure measured beside the limit it is judged against.

This package owns the registry of benchmark modules and the timing helpers they share; it is run
from the repository root as ``python -m benchmarks`` and is never installed or imported by the
node.  A benchmark module exposes ``run(quick, size, progress) -> dict[str, float | int | str]``
(see :class:`Module`) and is listed in :data:`REGISTRY`.
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import math
import pstats
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

import nacl.signing

from protocol.frame import Envelope, signatures_valid

__all__ = [
    "REGISTRY",
    "Figures",
    "Module",
    "Op",
    "Sample",
    "Timer",
    "load",
]

Figures = dict[str, float | int | str]
"""What one benchmark module returns: flat keys, merged into the top level of the JSON object."""

REGISTRY: Final[dict[str, str]] = {
    "wire": "benchmarks.wire",
    "ledger": "benchmarks.ledger",
    "floods": "benchmarks.floods",
    "udp": "benchmarks.udp",
    "rules": "benchmarks.rules",
    "node": "benchmarks.node",
    "tables": "benchmarks.tables",
    "sim": "benchmarks.sim",
}
"""Benchmark name (``--only NAME``) → module; run in this order.  Add new modules here."""


class Module(Protocol):
    """The interface of a benchmark module."""

    def run(
        self,
        quick: bool,
        size: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Figures:
        """Measure and return figures.

        ``size`` overrides the module's work size (``--packets``); ``progress`` receives short
        status lines (printed to stderr).
        """
        ...


def load(name: str) -> Module:
    """Import the benchmark module registered as ``name``; raise KeyError if there is none."""
    return cast(Module, importlib.import_module(REGISTRY[name]))


Op = Callable[[int, int], int]
"""A measured operation: ``op(lo, hi)`` handles items ``lo..hi-1`` and returns how many it took."""


class Sample:
    """The timings of one operation, one total per round, turned into rates (items per second)."""

    __slots__ = ("calls", "items", "seconds")

    def __init__(self, items: int) -> None:
        self.items = items
        """Items one pass over the corpus handles."""
        self.calls = 1
        """Times each chunk is run in a round (more than 1 only for very fast operations)."""
        self.seconds: list[float] = []
        """Total time of each round."""

    @property
    def best(self) -> float:
        """Items per second of the fastest round."""
        return self.items * self.calls / min(self.seconds)

    @property
    def median(self) -> float:
        """Items per second of the median round."""
        return self.items * self.calls / statistics.median(self.seconds)

    @property
    def noise(self) -> float:
        """How much slower the median round was than the best one (0.0 = a quiet machine)."""
        return statistics.median(self.seconds) / min(self.seconds) - 1.0


@dataclass(slots=True)
class _Entry:
    op: Op
    reset: Callable[[], object] | None
    repeatable: bool
    sample: Sample


class Timer:
    """Times named operations interleaved chunk by chunk, so machine noise hits them alike.

    A round walks the corpus in chunks of ``chunk`` items and, for each chunk, times every
    operation on it in registration order (A/B/C, A/B/C, …); an operation's round time is the sum
    of its chunk times.  A very fast operation runs each chunk ``calls`` times (set by
    :meth:`warm_up`) so a chunk measurement lasts at least ``min_chunk_seconds``.  The garbage
    collector stays on (its cost is part of what a node pays) after a full collection per round.
    """

    def __init__(self, items: int, chunk: int, min_chunk_seconds: float) -> None:
        if items < 1 or chunk < 1:
            raise ValueError(f"items ({items}) and chunk ({chunk}) must be positive")
        self.items = items
        self.chunk = chunk
        self.min_chunk_seconds = min_chunk_seconds
        self._entries: dict[str, _Entry] = {}

    @property
    def samples(self) -> dict[str, Sample]:
        """Each operation's timings, by name."""
        return {name: entry.sample for name, entry in self._entries.items()}

    def paired_ratio(self, name: str, baseline: str) -> float:
        """Median over rounds of ``rate(name) / rate(baseline)`` within the same round."""
        a, b = self._entries[name].sample, self._entries[baseline].sample
        ratios = [
            (a.items * a.calls / ta) / (b.items * b.calls / tb)
            for ta, tb in zip(a.seconds, b.seconds, strict=True)
        ]
        return statistics.median(ratios)

    def add(
        self,
        name: str,
        op: Op,
        *,
        reset: Callable[[], object] | None = None,
        repeatable: bool = True,
    ) -> None:
        """Register ``op``; ``reset`` runs untimed before each round (e.g. a fresh dedup index).

        ``repeatable=False`` marks an operation whose second pass over a chunk would do different
        work (ingest drops what it has already taken); it always runs each chunk once.
        """
        self._entries[name] = _Entry(op, reset, repeatable, Sample(self.items))

    def warm_up(self) -> None:
        """Run every operation once over the whole corpus, check its count, pick its calls."""
        for name, entry in self._entries.items():
            if entry.reset is not None:
                entry.reset()
            start = time.perf_counter()
            handled = entry.op(0, self.items)
            took = time.perf_counter() - start
            if handled != self.items:
                raise RuntimeError(f"{name} handled {handled} of {self.items} items in warm-up")
            per_chunk = max(took * min(self.chunk, self.items) / self.items, 1e-9)
            if entry.repeatable:
                entry.sample.calls = max(1, math.ceil(self.min_chunk_seconds / per_chunk))

    def repeat(self, rounds: int, progress: Callable[[str], None] | None = None) -> None:
        """Run ``rounds`` rounds; raise RuntimeError if an operation skipped any item."""
        entries = list(self._entries.items())
        bounds = [(lo, min(lo + self.chunk, self.items)) for lo in range(0, self.items, self.chunk)]
        clock = time.perf_counter
        for round_no in range(rounds):
            if progress is not None:
                progress(f"round {round_no + 1}/{rounds}")
            for _, entry in entries:
                if entry.reset is not None:
                    entry.reset()
            totals = [0.0] * len(entries)
            handled = [0] * len(entries)
            gc.collect()
            for lo, hi in bounds:
                for i, (_, entry) in enumerate(entries):
                    op = entry.op
                    calls = range(entry.sample.calls)
                    count = 0
                    start = clock()
                    for _ in calls:
                        count += op(lo, hi)
                    totals[i] += clock() - start
                    handled[i] += count
            for i, (name, entry) in enumerate(entries):
                expected = self.items * entry.sample.calls
                if handled[i] != expected:
                    raise RuntimeError(f"{name} handled {handled[i]} of {expected} items")
                entry.sample.seconds.append(totals[i])


# --------------------------------------------------------------------------- shared pieces


def raw_verify(checks: Sequence[tuple[nacl.signing.VerifyKey, bytes, bytes]]) -> int:
    """PyNaCl Ed25519 verification alone, keys built beforehand: the raw limit every ingest
    figure is compared with.  Returns the count."""
    for key, signed, signature in checks:
        key.verify(signed, signature)
    return len(checks)


def lean_verify(envelopes: Sequence[Envelope]) -> int:
    """The same verifications as :func:`raw_verify` the way the node makes them
    (:func:`protocol.frame.signatures_valid`: libsodium's call without PyNaCl's per-call
    wrapper): the floor under any ingest figure.  Returns the count."""
    if not all(signatures_valid(envelopes)):
        raise RuntimeError("a benchmark signature does not verify")
    return len(envelopes)


def profile_rows(
    profiler: cProfile.Profile, packets: int, top: int
) -> tuple[float, list[tuple[str, float, float]]]:
    """The ``top`` functions of a finished profile by own time, as ``(function, tottime µs,
    cumtime µs)`` per packet, and the total µs per packet."""
    stats = pstats.Stats(profiler)
    per_packet = 1e6 / packets
    rows: list[tuple[str, float, float]] = []
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    table = stats.stats  # type: ignore[attr-defined]
    for (filename, line, function), (_cc, _nc, tottime, cumtime, _callers) in table.items():
        where = f"{_short(filename)}:{line}({function})" if line else function
        rows.append((where, tottime * per_packet, cumtime * per_packet))
    rows.sort(key=lambda row: row[1], reverse=True)
    total: float = stats.total_tt * per_packet  # type: ignore[attr-defined]
    return total, rows[:top]


def _short(filename: str) -> str:
    for marker in ("/protocol/", "/node/", "/benchmarks/", "/site-packages/", "/lib/python"):
        at = filename.rfind(marker)
        if at >= 0:
            return filename[at + 1 :]
    return filename
