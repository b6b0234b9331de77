"""The log: verified packets as entries, each sender's chain of logged ones, and the ranking
of the unjudged suffixes the cap may evict.

An :class:`Entry` is one verified packet on its way through the replica: held, logged, then
judged.  A :class:`Chain` is a sender's logged entries in nonce order (judged ones first) with
the cumulative hashes of the judged ones.  :class:`SuffixRank` orders senders with unjudged
packets for eviction.  The replica owns every rule.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Final

from node.core.ledger import Dep, Judgment, Undo
from node.core.verdicts import Reason
from protocol.constants import HASH_LEN
from protocol.frame import Packet

__all__ = ["Chain", "Dep", "Entry", "SuffixRank"]

NO_DEPS: Final[tuple[Dep, ...]] = ()


class Entry:
    """A verified packet: held, logged, then judged.

    ``packet`` is the decoded body until the packet is judged; then None (the log keeps only
    the frame, and a re-judge decodes it again); always None for a malformed body, whose fault
    is ``malformed``.  ``deps`` are the ``(sender, nonce, h)`` it names; ``seq`` its place in
    the judged order.  Bookkeeping of the replica: ``blocker`` is the ``(sender, nonce)`` it
    waits for while logged and unjudged, ``need`` the sender whose packets it made the replica
    ask for, ``capped`` whether it is held only for want of room in the unjudged log.
    A plain slotted class, not a dataclass: compiled (docs/BUILD.md), a dataclass runs the
    interpreted generated ``__init__``.
    """

    __slots__ = (
        "bad_ref",
        "blocker",
        "capped",
        "deps",
        "frame",
        "full_hash",
        "judgment",
        "malformed",
        "need",
        "nonce",
        "packet",
        "prev",
        "removed",
        "resolves",
        "sender",
        "seq",
        "undo",
    )

    def __init__(
        self,
        sender: bytes,
        nonce: int,
        prev: bytes,
        full_hash: bytes,
        frame: bytes,
        packet: Packet | None,
        malformed: str | None,
        deps: tuple[Dep, ...],
        bad_ref: bool,
    ) -> None:
        self.sender = sender
        self.nonce = nonce
        self.prev = prev
        self.full_hash = full_hash
        self.frame = frame
        self.packet = packet
        self.malformed = malformed
        self.deps = deps
        self.bad_ref = bad_ref
        self.judgment: Judgment | None = None
        self.seq = -1
        self.removed = False
        self.blocker: tuple[bytes, int] | None = None
        self.need: bytes | None = None
        self.capped = False
        self.undo: Undo | None = None
        self.resolves = False

    def __repr__(self) -> str:
        return (
            f"Entry({self.sender.hex()[:8]}, {self.nonce}, judgment={self.judgment!r}, "
            f"seq={self.seq}, removed={self.removed})"
        )

    @property
    def h(self) -> bytes:
        return self.full_hash[:HASH_LEN]

    @property
    def key(self) -> tuple[bytes, int, bytes]:
        """``(sender, nonce, full hash)``: this version's identity."""
        return (self.sender, self.nonce, self.full_hash)

    @property
    def reason(self) -> Reason | None:
        return None if self.judgment is None else self.judgment.reason


class Chain:
    """A sender's logged packets (index nonce − 1) and cumulative hashes of the judged ones."""

    __slots__ = ("cumulative", "entries")

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries: list[Entry] = entries if entries is not None else []
        self.cumulative: list[bytes] = []

    @property
    def top(self) -> int:
        """The highest logged nonce (0 when nothing is logged)."""
        return len(self.entries)


class SuffixRank:
    """Senders with logged-but-unjudged packets, ranked for eviction from the unjudged log:
    furthest ahead of the HWM first, then senders with no judged history, then the newest.  A
    lazy heap: a sender is pushed again whenever its rank may have changed and stale entries are
    skipped, so finding a victim costs a few heap operations, not a scan of every sender.

    ``rank(sender)`` returns ``(unjudged packets, no judged history)``."""

    __slots__ = ("_floor", "_heap", "_rank", "_tick")

    def __init__(self, rank: Callable[[bytes], tuple[int, bool]]) -> None:
        self._rank = rank
        self._heap: list[tuple[int, bool, int, bytes]] = []
        self._tick = 0
        self._floor = 0

    def touch(self, sender: bytes) -> None:
        """``sender``'s suffix may have grown or shrunk: rank it again."""
        distance, fresh = self._rank(sender)
        if distance > 0:
            self._tick += 1
            heapq.heappush(self._heap, (-distance, not fresh, -self._tick, sender))
            if len(self._heap) > 2 * self._floor + 1024:
                self._compact()

    def victim(
        self, acceptable: Callable[[bytes], bool], worse_than: tuple[int, bool]
    ) -> bytes | None:
        """The worst-ranked sender ``acceptable`` allows, if it ranks worse than
        ``worse_than`` (distance, no history); None otherwise."""
        heap = self._heap
        skipped: list[tuple[int, bool, int, bytes]] = []
        found = None
        while heap:
            item = heapq.heappop(heap)
            neg_distance, history, _, sender = item
            distance, fresh = self._rank(sender)
            if distance <= 0 or (-neg_distance, not history) != (distance, fresh):
                continue  # stale: its current rank was pushed when it changed
            skipped.append(item)
            if (distance, fresh) <= worse_than:
                break
            if acceptable(sender):
                found = sender
                break
        for item in skipped:
            heapq.heappush(heap, item)
        return found

    def _compact(self) -> None:
        newest: dict[bytes, tuple[int, bool, int, bytes]] = {}
        for item in self._heap:
            sender = item[3]
            if sender not in newest or item[2] < newest[sender][2]:
                newest[sender] = item
        self._heap = [item for item in newest.values() if self._rank(item[3])[0] > 0]
        heapq.heapify(self._heap)
        self._floor = len(self._heap)
