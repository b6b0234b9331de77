"""Anti-entropy between two replicas: compare summaries, decide what the other side lacks, and
find the first difference of two chains by bisection (DESIGN.md sections 4-5).

A summary entry is ``(sender, HWM, C[:16], b"")``, or for a forked sender ``(sender, fork nonce,
min(h1, h2), max(h1, h2))``.  :func:`offer` turns one sender's pair of entries into what to send;
the router (and the simulator) carry it over links.  Sans-IO: no clock, socket or randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from node.core.replica import Replica

__all__ = ["Entry16", "Offer", "differing", "first_difference", "offer"]

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
