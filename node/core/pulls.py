"""What the replica has asked its neighbours for: bounded, retried, freed with what needs it.

A want is a range of a sender's nonces, or one version named by its 8-byte h; it is never
enumerated.  Per sender the replica remembers one number (the top of the range already asked,
everything above the logged top up to it) and at most :data:`VERSION_ASKS` hashes.  A sender's
marks live only while some held or waiting packet needs that sender (a count of references),
so a flood leaves nothing behind once it is evicted.  An ask not answered is due again after
:data:`RETRY_FIRST` seconds, then twice as long each time up to :data:`RETRY_MAX`.
Sans-IO: the router decides where to send what is asked here.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Final

__all__ = ["RETRY_FIRST", "RETRY_MAX", "VERSION_ASKS", "Pulls", "Want"]

VERSION_ASKS: Final = 8
"""Versions asked by hash per sender at once (fork witnesses and dependencies naming another
version); more are asked as these arrive or are given up."""
RETRY_FIRST: Final = 2.0
"""Seconds before an unanswered ask is due again."""
RETRY_MAX: Final = 60.0
"""The longest wait between two asks of the same thing."""


@dataclass(frozen=True, slots=True)
class Want:
    """Packets to pull: ``sender``'s nonces ``lo..hi``, or the version named by ``h``."""

    sender: bytes
    lo: int
    hi: int
    h: bytes | None = None


class _Mark:
    """One thing asked: when it is due again and how long the next wait is."""

    __slots__ = ("due", "interval")

    def __init__(self, now: float) -> None:
        self.interval = RETRY_FIRST
        self.due = now + RETRY_FIRST


class Pulls:
    """Pull marks per sender, each kept while something refers to the sender."""

    __slots__ = ("_heap", "_marks", "_refs", "_tick", "_upto")

    def __init__(self) -> None:
        self._upto: dict[bytes, int] = {}
        self._marks: dict[bytes, dict[tuple[int, bytes | None], _Mark]] = {}
        """Per sender: the range (key ``(0, None)``) and each version ``(nonce, h)`` asked."""
        self._refs: dict[bytes, int] = {}
        self._heap: list[tuple[float, int, bytes, tuple[int, bytes | None]]] = []
        self._tick = 0

    def __len__(self) -> int:
        """Marks held: one per sender with a range asked, plus each version asked by hash."""
        return sum(len(marks) for marks in self._marks.values())

    def __bool__(self) -> bool:
        """True while anything is asked (cheap: the ingest path asks on every packet)."""
        return bool(self._marks)

    def referenced(self) -> int:
        """Senders something refers to."""
        return len(self._refs)

    def ref(self, sender: bytes) -> None:
        """Something held or waiting needs ``sender``'s packets."""
        self._refs[sender] = self._refs.get(sender, 0) + 1

    def unref(self, sender: bytes) -> None:
        """One thing that needed ``sender`` no longer does; the last one frees its marks."""
        count = self._refs.get(sender, 0) - 1
        if count > 0:
            self._refs[sender] = count
            return
        self._refs.pop(sender, None)
        self._upto.pop(sender, None)
        self._marks.pop(sender, None)

    def ask(self, sender: bytes, lo: int, hi: int, now: float) -> Want | None:
        """Ask for ``lo..hi`` of ``sender``; return the part not asked before, if any."""
        upto = self._upto.get(sender, 0)
        if hi <= upto or hi < lo:
            return None
        self._upto[sender] = hi
        self._mark(sender, (0, None), now)
        return Want(sender, max(lo, upto + 1), hi)

    def ask_version(self, sender: bytes, nonce: int, h: bytes, now: float) -> Want | None:
        """Ask for the version of ``(sender, nonce)`` named by ``h``, once."""
        marks = self._marks.get(sender)
        if marks is not None and ((nonce, h) in marks or len(marks) > VERSION_ASKS):
            return None
        self._mark(sender, (nonce, h), now)
        return Want(sender, nonce, nonce, h)

    def _mark(self, sender: bytes, key: tuple[int, bytes | None], now: float) -> None:
        marks = self._marks.get(sender)
        if marks is None:
            marks = self._marks[sender] = {}
        mark = marks.get(key)
        if mark is None:
            mark = marks[key] = _Mark(now)
            self._tick += 1
            heapq.heappush(self._heap, (mark.due, self._tick, sender, key))

    def logged(self, sender: bytes, nonce: int, h: bytes) -> None:
        """``(sender, nonce)`` was logged: it needs asking no more."""
        marks = self._marks.get(sender)
        if marks is None:
            return
        upto = self._upto.get(sender)
        if upto is not None and nonce >= upto:
            del self._upto[sender]
            marks.pop((0, None), None)
        marks.pop((nonce, h), None)
        if not marks:
            del self._marks[sender]

    def next_due(self) -> float | None:
        """When the earliest ask is due again (None when nothing is asked)."""
        heap = self._heap
        while heap:
            due, _, sender, key = heap[0]
            mark = self._marks.get(sender, {}).get(key)
            if mark is not None and mark.due == due:
                return due
            heapq.heappop(heap)  # answered, freed or moved: stale
        return None

    def due(self, now: float) -> list[tuple[bytes, int, bytes | None]]:
        """The asks due at ``now``, as ``(sender, nonce, h)`` (``h`` None: the range up to
        ``nonce``); each is due again after twice its last wait."""
        out: list[tuple[bytes, int, bytes | None]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, sender, key = heapq.heappop(heap)
            mark = self._marks.get(sender, {}).get(key)
            if mark is None or mark.due != due:
                continue
            nonce, h = key
            out.append((sender, self._upto.get(sender, 0) if h is None else nonce, h))
            mark.interval = min(2 * mark.interval, RETRY_MAX)
            mark.due = now + mark.interval
            self._tick += 1
            heapq.heappush(heap, (mark.due, self._tick, sender, key))
        if len(heap) > 64 + 4 * len(self):
            self._heap = [item for item in heap if self._live(item)]
            heapq.heapify(self._heap)
        return out

    def _live(self, item: tuple[float, int, bytes, tuple[int, bytes | None]]) -> bool:
        mark = self._marks.get(item[2], {}).get(item[3])
        return mark is not None and mark.due == item[0]
