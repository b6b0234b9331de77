"""Anti-entropy between two replicas: compare summaries, decide what the other side lacks, and
find the first difference of two chains by bisection (DESIGN.md sections 4-5).

A summary entry is ``(sender, HWM, C[:16], b"")``, or for a forked sender ``(sender, fork nonce,
min(h1, h2), max(h1, h2))``.  :func:`offer` turns one sender's pair of entries into what to send;
the router (and the simulator) carry it over links.  Two summaries are compared by range-based
reconciliation over the sorted sender keys (:class:`Summary`, :func:`respond`: fingerprints of
ranges, split until small ranges are listed) within one datagram per message, and two chains of
equal HWM by bisection in rounds of up to 16 probes (:func:`probes`, :func:`narrow`).  Sans-IO:
no clock, socket or randomness.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from node.core.replica import Replica
from protocol.constants import MAX_FRAME
from protocol.link import (
    BISECT_MAX_PROBES,
    FINGERPRINT_LEN,
    AeEntry,
    Bisect,
    Fingerprint,
    Listing,
    Probe,
    RangeItem,
    Skip,
    fingerprint,
    separator,
)

__all__ = [
    "LIST_SMALL",
    "ROUND_BUDGET",
    "SPLIT",
    "Difference",
    "Entry16",
    "Offer",
    "Slice",
    "Summary",
    "differing",
    "first_difference",
    "narrow",
    "offer",
    "opening",
    "probes",
    "respond",
]

LIST_SMALL: Final = 8
"""A range where this side holds at most this many entries is answered with the entries."""
SPLIT: Final = 16
"""A differing range with more entries is cut into this many ranges, each with a fingerprint."""
_RANGES_HEAD: Final = 7
"""Type byte, session u32, start length u8, item count u8 (the start's bytes come on top)."""
ROUND_BUDGET: Final = 16 * 1024
"""Bytes of ranges messages one answer may take (several datagrams); over it, the rest of
the slice is one fingerprint for the next round."""
_ENTRY_SIZE: Final = 68
_CLOSE: Final = 1 + 1 + 4 + FINGERPRINT_LEN
"""A closing fingerprint to the end of the key space: bound byte, mode, count, fingerprint."""

Entry16 = tuple[bytes, int, bytes, bytes]
"""One anti-entropy summary entry (:meth:`Replica.summary`)."""


@dataclass(slots=True)
class Offer:
    """What one side sends the other for one sender: ``frames`` in nonce order (judged packets
    the peer lacks, then the versions of a fork proof), and ``bisect`` when both judged the
    same number of packets with different cumulative hashes (a fork hidden below a common
    suffix: find the first difference, then exchange both versions of it)."""

    frames: list[bytes] = field(default_factory=list)
    bisect: bool = False


def differing(mine: Iterable[Entry16], theirs: Iterable[Entry16]) -> list[bytes]:
    """The senders whose entries differ between two summaries, in key order."""
    a = {entry[0]: entry for entry in mine}
    b = {entry[0]: entry for entry in theirs}
    return sorted(s for s in a.keys() | b.keys() if a.get(s) != b.get(s))


def offer(replica: Replica, sender: bytes, theirs: Entry16 | None) -> Offer:
    """What ``replica`` sends a peer whose entry for ``sender`` is ``theirs`` (None: it knows
    no packet of ``sender``).

    A fork proof goes with the prefix the peer lacks below it; a peer that holds a proof gets
    nothing (it sends its proof the other way); a peer behind gets the judged packets it lacks
    (if its chain differs below, the first is a fork witness and its pull by hash completes the
    proof); equal HWMs with different hashes call for bisection.
    """
    their_hwm = theirs[1] if theirs is not None else 0
    fork = replica.fork_point(sender)
    if fork:
        return Offer(
            [*_judged(replica, sender, their_hwm + 1, fork - 1), *replica.fork_frames(sender)]
        )
    if theirs is not None and theirs[3]:
        return Offer()
    hwm = replica.hwm(sender)
    if hwm == their_hwm:
        return Offer(bisect=hwm > 0 and theirs is not None and theirs[2] != _c16(replica, sender))
    return Offer(_judged(replica, sender, their_hwm + 1, hwm))


def _judged(replica: Replica, sender: bytes, lo: int, hi: int) -> list[bytes]:
    frames = []
    for nonce in range(lo, hi + 1):
        frame = replica.frame_of(sender, nonce)
        if frame is not None:
            frames.append(frame)
    return frames


def _c16(replica: Replica, sender: bytes) -> bytes:
    c = replica.chain_hash(sender, replica.hwm(sender))
    return c[:16] if c is not None else b""


def first_difference(
    hwm: int, mine: Callable[[int], bytes | None], theirs: Callable[[int], bytes | None]
) -> int:
    """The first nonce at which two chains of equal ``hwm`` differ, by bisection over
    cumulative hashes (a difference at n persists to every later nonce); 0 if none.  Each
    probe of ``theirs`` is one round trip with the peer."""
    if mine(hwm) == theirs(hwm):
        return 0
    lo, hi = 1, hwm
    while lo < hi:
        mid = (lo + hi) // 2
        if mine(mid) == theirs(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------- range reconciliation


class Summary:
    """A replica's anti-entropy entries sorted by sender key, with the digest of the whole map.

    Built from :meth:`Replica.summary`; the owner builds a new one after the replica judged
    something (it is a snapshot, never updated in place)."""

    __slots__ = ("_digest", "by_key", "entries", "keys")

    def __init__(self, entries: Sequence[AeEntry]) -> None:
        self.entries = list(entries)
        self.keys = [e.sender for e in self.entries]
        self.by_key = {e.sender: e for e in self.entries}
        self._digest: bytes | None = None

    @classmethod
    def of(cls, replica: Replica) -> Summary:
        return cls([AeEntry(s, n, a, b) for s, n, a, b in replica.summary()])

    def digest(self) -> tuple[int, bytes]:
        """How many entries, and the fingerprint of them all."""
        if self._digest is None:
            self._digest = fingerprint(self.entries)
        return len(self.entries), self._digest

    def between(self, lo: bytes, hi: bytes | None) -> list[AeEntry]:
        """The entries with ``lo <= key < hi`` (``hi`` None: to the end)."""
        i = bisect.bisect_left(self.keys, lo)
        j = len(self.keys) if hi is None else bisect.bisect_left(self.keys, hi)
        return self.entries[i:j]


@dataclass(frozen=True, slots=True)
class Difference:
    """A sender whose entries differ: the peer's (``theirs``) and this side's (``mine``)."""

    sender: bytes
    theirs: AeEntry | None
    mine: AeEntry | None


def _bound_size(bound: bytes | None) -> int:
    return 1 + (len(bound) if bound is not None else 0)


def _size(item: RangeItem) -> int:
    if isinstance(item, Skip):
        return _bound_size(item.bound) + 1
    if isinstance(item, Fingerprint):
        return _bound_size(item.bound) + 1 + 4 + FINGERPRINT_LEN
    return _bound_size(item.bound) + 2 + _ENTRY_SIZE * len(item.entries)


def _describe(entries: list[AeEntry], hi: bytes | None) -> list[RangeItem]:
    """This side's entries below ``hi`` (from the previous bound): listed when few, else cut into
    :data:`SPLIT` ranges with a fingerprint each."""
    if len(entries) <= LIST_SMALL:
        return [Listing(hi, tuple(entries))]
    out: list[RangeItem] = []
    step = -(-len(entries) // SPLIT)
    for start in range(0, len(entries), step):
        chunk = entries[start : start + step]
        end = start + step
        bound = separator(chunk[-1].sender, entries[end].sender) if end < len(entries) else hi
        out.append(Fingerprint(bound, len(chunk), fingerprint(chunk)))
    return out


Slice = tuple[bytes, list[RangeItem]]
"""One ranges message's content: where its first range starts, and its ranges."""


def opening(summary: Summary) -> list[Slice]:
    """The first ranges message of a round whose digests differ: the whole key space."""
    return _pack(b"", _describe(summary.entries, None))


def respond(
    summary: Summary, start: bytes, items: Sequence[RangeItem], budget: int = ROUND_BUDGET
) -> tuple[list[Slice], list[Difference]]:
    """Answer a ranges message (the slice of the key space from ``start`` to its last bound):
    the messages to send back (none when every range is settled) and the senders found to differ
    in ranges the peer listed.

    A skipped range needs nothing; a fingerprint equal to this side's is settled, else this side
    lists or splits its own entries there; a listing is compared entry by entry (the caller
    sends what the peer lacks and pulls what it lacks) and settled.  The answer is cut into
    messages of one datagram each; when it would pass ``budget`` bytes in all, the ranges not
    yet answered are covered by one fingerprint to the end of the slice, which the peer splits
    in turn.
    """
    out: list[RangeItem] = []
    diffs: list[Difference] = []
    size = 0
    lo = start
    end = items[-1].bound if items else None
    for item in items:
        mine = summary.between(lo, item.bound)
        reply: list[RangeItem]
        found: list[Difference] = []
        if isinstance(item, Skip):
            reply = [Skip(item.bound)]
        elif isinstance(item, Fingerprint):
            if item.count == len(mine) and item.fingerprint == fingerprint(mine):
                reply = [Skip(item.bound)]
            else:
                reply = _describe(mine, item.bound)
        else:
            found = _compare(item.entries, mine)
            reply = [Skip(item.bound)]
        cost = sum(_size(r) for r in reply)
        if size + cost + _CLOSE > budget:
            rest = summary.between(lo, end)
            out.append(Fingerprint(end, len(rest), fingerprint(rest)))
            break
        out.extend(reply)
        diffs.extend(found)
        size += cost
        if item.bound is not None:
            lo = item.bound
    return _pack(start, out), diffs


def _pack(start: bytes, items: list[RangeItem]) -> list[Slice]:
    """Cut consecutive ranges into messages of one datagram each, merging runs of skips and
    leaving out messages that would settle everything they cover."""
    merged: list[RangeItem] = []
    for r in items:
        if isinstance(r, Skip) and merged and isinstance(merged[-1], Skip):
            merged[-1] = r
        else:
            merged.append(r)
    out: list[Slice] = []
    chunk: list[RangeItem] = []
    size = _RANGES_HEAD + len(start)
    for r in merged:
        cost = _size(r)
        if chunk and (size + cost > MAX_FRAME or len(chunk) == 0xFF):
            if not all(isinstance(c, Skip) for c in chunk):
                out.append((start, chunk))
            last = chunk[-1].bound
            assert last is not None  # only the very last range reaches the end
            start, chunk, size = last, [], _RANGES_HEAD + len(last)
        chunk.append(r)
        size += cost
    if chunk and not all(isinstance(c, Skip) for c in chunk):
        out.append((start, chunk))
    return out


def _compare(theirs: Sequence[AeEntry], mine: Sequence[AeEntry]) -> list[Difference]:
    a = {e.sender: e for e in theirs}
    b = {e.sender: e for e in mine}
    return [
        Difference(s, a.get(s), b.get(s))
        for s in sorted(a.keys() | b.keys())
        if a.get(s) != b.get(s)
    ]


# --------------------------------------------------------------------------- bisection rounds


def probes(replica: Replica, sender: bytes, lo: int, hi: int) -> tuple[Probe, ...]:
    """This side's ``C[:16]`` at up to 16 evenly spaced nonces of ``lo..hi``, the last at ``hi``
    (every one at or below the HWM)."""
    width = hi - lo + 1
    k = min(BISECT_MAX_PROBES, width)
    out = []
    for i in range(k):
        nonce = lo + ((i + 1) * width) // k - 1
        c = replica.chain_hash(sender, nonce)
        if c is None:
            raise ValueError(f"{sender.hex()[:8]} is not judged up to {nonce}")
        out.append(Probe(nonce, c[:FINGERPRINT_LEN]))
    return tuple(out)


def narrow(replica: Replica, msg: Bisect) -> int | Bisect | None:
    """The next bisection step after the peer's probes: the first nonce where the chains differ
    (an int: exchange both versions of it), the narrower interval to probe (a :class:`Bisect`
    to send back), or None (this side cannot tell: its chain moved, or they agree)."""
    sender = msg.sender
    if replica.hwm(sender) < msg.hi or replica.fork_point(sender):
        return None
    prev = msg.lo - 1
    for probe in msg.probes:
        c = replica.chain_hash(sender, probe.nonce)
        if c is None:
            return None
        if c[:FINGERPRINT_LEN] != probe.c16:
            lo, hi = prev + 1, probe.nonce
            if lo == hi:
                return lo
            return Bisect(sender, lo, hi, probes(replica, sender, lo, hi))
        prev = probe.nonce
    return None
