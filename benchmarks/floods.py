"""The ledger under floods: resident memory against the caps' budget, and a late fork's cost.

Each flood case signs many packets of one attack and feeds them to a replica at the default
caps, reporting resident memory (RSS, from ``/proc/self/statm``) before and after beside the
budget the caps allow: every held or unjudged packet at most :data:`PACKET_BUDGET` bytes.  The
late-fork case times a second version of nonce 1 of a key with no dependents, judged at the start
of a long history, against ingesting one packet.  Signatures are checked (the replica's own
verify is on); keys and frames are made before the measurement starts.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Final

import nacl.signing

from benchmarks import Figures
from node.core.replica import UNJUDGED_TOTAL, Replica
from protocol.constants import CRAP, HOLDBACK_TOTAL, HOLDBACK_WINDOW, MAX_NONCE, ZERO_PREV
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import Ack, ExtRef, Transfer

__all__ = ["run"]

PACKET_BUDGET: Final = 4096
"""Bytes a held or logged-but-unjudged packet may cost, everything it is indexed by included."""
FLOOD: Final = 100_000
QUICK_FLOOD: Final = 25_000
HISTORY: Final = 60_000
QUICK_HISTORY: Final = 15_000
_CODEC: Final = FrameCodec(LOCAL.network_id)


def _rss() -> int:
    """Resident memory of this process, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _key(label: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(f"bcm-bench/{label}".encode()).digest())


def _chain(key: nacl.signing.SigningKey, bodies: list[Transfer | Ack]) -> list[bytes]:
    frames, prev = [], ZERO_PREV
    for nonce, body in enumerate(bodies, 1):
        frame = _CODEC.seal(key, nonce, prev, body)
        frames.append(frame)
        prev = _CODEC.open(frame).h
    return frames


_NOWHERE: Final = bytes(_key("nowhere").verify_key)
"""A valid key that never signs: a dependency on it is never judged."""


def _filler() -> Transfer:
    return Transfer(_NOWHERE, 1, ())


def _far_ahead(count: int) -> Iterator[bytes]:
    """Waves of single packets far ahead of their keys' HWMs (64, 63, 62, …)."""
    for i in range(count):
        ahead = HOLDBACK_WINDOW - (i * 8 // count)
        key = _key(f"far/{i}")
        prev = hashlib.sha256(f"far/{i}".encode()).digest()[:8]
        yield _CODEC.seal(key, ahead, prev, _filler())


def _unresolvable(count: int) -> Iterator[bytes]:
    """First packets naming a key that never signs: they wait for ever, then wait for room."""
    for i in range(count):
        yield _CODEC.seal(_key(f"stuck/{i}"), 1, ZERO_PREV, Ack((ExtRef(_NOWHERE, 1, bytes(8)),)))


def _far_references(count: int) -> Iterator[bytes]:
    """Packets naming the last nonce of a key nobody holds."""
    for i in range(count):
        ref = ExtRef(_NOWHERE, MAX_NONCE - i % 1000, bytes(8))
        yield _CODEC.seal(_key(f"ref/{i}"), 1, ZERO_PREV, Ack((ref,)))


def _fork_versions(count: int) -> Iterator[bytes]:
    """One key's nonce 2, ``count`` versions in decreasing full-hash order (each displaces the
    larger of the two kept)."""
    key = _key("versions")
    (first,) = _chain(key, [_filler()])
    yield first
    prev = _CODEC.open(first).h
    versions = []
    for i in range(count - 1):
        frame = _CODEC.seal(key, 2, prev, Transfer(_NOWHERE, 1 + i, ()))
        versions.append((_CODEC.open(frame).full_hash, frame))
    versions.sort(reverse=True)
    yield from (frame for _, frame in versions)


CASES: Final[dict[str, Callable[[int], Iterator[bytes]]]] = {
    "far_ahead": _far_ahead,
    "unresolvable": _unresolvable,
    "far_reference": _far_references,
    "fork_versions": _fork_versions,
}


def _flood(name: str, count: int) -> Figures:
    frames = list(CASES[name](count))
    replica = Replica(LOCAL)
    gc.collect()
    before = _rss()
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        replica.receive(frame, 0.0)
        if i % 64 == 63:  # what a driver does after each batch
            replica.take_events()
    took = time.perf_counter() - start
    replica.take_events()
    gc.collect()
    after = _rss()
    footprint = replica.footprint()
    prefix = f"flood_{name}"
    return {
        f"{prefix}_packets": len(frames),
        f"{prefix}_rss_before_mb": round(before / 2**20, 1),
        f"{prefix}_rss_after_mb": round(after / 2**20, 1),
        f"{prefix}_rss_growth_mb": round((after - before) / 2**20, 1),
        f"{prefix}_per_s": round(len(frames) / took),
        f"{prefix}_held": footprint["held"],
        f"{prefix}_unjudged": footprint["unjudged"],
        f"{prefix}_pull_marks": footprint["pull_marks"],
        f"{prefix}_fork_versions": footprint["fork_versions"],
        f"{prefix}_within_budget": int(after - before <= _budget()),
    }


def _budget() -> int:
    return (HOLDBACK_TOTAL + UNJUDGED_TOTAL + UNJUDGED_TOTAL // 8) * PACKET_BUDGET


def _late_fork(history: int) -> Figures:
    """A key judged at the start of ``history`` packets, with no dependents, forks nonce 1."""
    loner = _key("late/loner")
    first = _CODEC.seal(loner, 1, ZERO_PREV, Transfer(_NOWHERE, 5 * CRAP, ()))
    second = _CODEC.seal(loner, 1, ZERO_PREV, Transfer(_NOWHERE, 6 * CRAP, ()))
    traders = [_key(f"late/trader/{i}") for i in range(8)]
    pubs = [bytes(k.verify_key) for k in traders]
    per = history // len(traders)
    chains = [
        _chain(k, [Transfer(pubs[(i + 1) % len(pubs)], 1, ()) for _ in range(per)])
        for i, k in enumerate(traders)
    ]
    frames = [first, *(c[n] for n in range(per) for c in chains)]
    replica = Replica(LOCAL)
    start = time.perf_counter()
    for frame in frames:
        replica.receive(frame, 0.0)
    replica.take_events()
    per_packet = (time.perf_counter() - start) / len(frames)
    gc.collect()
    start = time.perf_counter()
    result = replica.receive(second, 0.0)
    took = time.perf_counter() - start
    if result.why != "fork_proof":
        raise RuntimeError(f"the second version of nonce 1 was {result.why or result.outcome}")
    return {
        "late_fork_history": len(frames),
        "late_fork_s": round(took, 6),
        "late_fork_rejudged": replica.counters().get("rejudged", 0),
        "late_fork_one_packet_s": round(per_packet, 6),
        "late_fork_vs_one_packet": round(took / per_packet, 2),
    }


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Flood each case with ``size`` packets (default 100,000; 25,000 with ``quick``), then the
    late fork in a 60,000-packet history (15,000 with ``quick``)."""
    say = progress if progress is not None else (lambda _message: None)
    count = size if size is not None else (QUICK_FLOOD if quick else FLOOD)
    figures: Figures = {"flood_budget_mb": round(_budget() / 2**20, 1)}
    for name in CASES:
        say(f"floods: {name}, {count} packets")
        figures.update(_flood(name, count))
    history = size if size is not None else (QUICK_HISTORY if quick else HISTORY)
    say(f"floods: late fork in a {history}-packet history")
    figures.update(_late_fork(history))
    return figures
